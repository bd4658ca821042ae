# SPDX-License-Identifier: GPL-2.0
#
# fencebuf top-level Makefile.
#
#   make                 build build/module/fencebuf.ko (and the sample importer,
#                        build/importer/fencebuf_importer.ko) against the pinned debug
#                        kernel (toolchain and kernel are installed/built on demand)
#   KDIR=/path make      build against your own Rust-enabled kernel build;
#                        nothing is fetched (pass LLVM=1 etc. as for that kernel)
#   make run             boot the pinned kernel in QEMU, load fencebuf, run the demo
#   make check           lints + every test in QEMU; ends with "N passed, N failed"
#   make lint            rustfmt check, import graph without a cycle, the Rust
#                        declarations of C functions checked against their
#                        prototypes, the uAPI header against its reference,
#                        the README, uapi.rs and the syzkaller descriptions, the
#                        mutants and the coverage reasons against the code, a CLIPPY=1
#                        build without warnings, and rustdoc without a broken
#                        intra-doc link (make check runs each of these)
#   make deps            print the Rust modules' import graph (fails on a cycle)
#   make stress DURATION=30m   the reliability suites (stress, lifecycle,
#                        allocation-failure injection, fuzzer) for about that long
#   make coverage        which lines of fencebuf make check's guest suites run
#                        (KCOV): build/coverage/, total printed
#   make fuzz            coverage-guided fuzzing against random fuzzing, 10 min
#                        each (FENCEBUF_FUZZ_MINUTES), lines reached (build/fuzz)
#   make mutants         break behaviours on purpose (selftests/mutants) and
#                        check that the tests catch every one
#   make deb             the fencebuf-dkms Debian package, lintian-checked
#                        (build/deb/)
#   make deb-check       install it on a Debian 13 root as a user does: DKMS
#                        builds for both stock kernels, which boot and run the
#                        stock suites on its modules; apt purge leaves nothing
#   make distro-check SUITE=sid   build and test against the kernel Debian's
#                        SUITE has now, with its toolchain, unpinned (a
#                        canary; not part of make check)
#   make bench           fencebuf against the kernel's C sw_sync, and the exporter
#                        against a direct BAR mapping, on a perf kernel (build/bench)
#   make install         install fencebuf.ko for KDIR's kernel (default: the
#                        running kernel), run depmod, and install the udev rule
#                        and the uAPI header; DESTDIR=/some/root installs there.
#                        Headers without Rust metadata (Debian's) get it
#                        rebuilt and checked first (scripts/rust-metadata.sh)
#   make uninstall       remove what make install installed
#   make rust-analyzer   write rust-project.json for editors (pinned kernel, or KDIR)
#   make uapi-doc        regenerate Documentation/userspace-api/fencebuf.rst from
#                        the uAPI header (make check fails when they differ)
#   make clean           remove build products from the tree
#
# The kernel, the toolchain's bindgen and the downloads are cached in
# $(FENCEBUF_CACHE), default ~/.cache/fencebuf; build products and guest logs
# go to ./build.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(ROOT)/build
# The toolchain make variables the pinned kernel was built with.
PINNED_VARS = $(shell bash -c '. $(ROOT)/scripts/lib.sh && kmake_vars')

.PHONY: all modules lint rustfmt-check deps ffi-check clippy rustdoc check run mutants distro-check deb deb-check coverage fuzz bench clean \
	install uninstall rust-analyzer kernel-check uapi-doc uapi-doc-check uapi-layout-check syzlang-check mutants-check unreached-check stress

# make install: DESTDIR is the root everything goes under, modules included.
DESTDIR ?=
INSTALL_MOD_PATH ?= $(DESTDIR)
INSTALL_MOD_DIR ?= extra
PREFIX ?= /usr/local
UDEV_RULES_DIR ?= /etc/udev/rules.d
# 0: build fencebuf.ko only (DKMS, make install), not the sample importer.
WITH_IMPORTER ?= 1

all: modules

ifeq ($(KDIR),)
# No kernel named: use the pinned debug kernel, building it if needed, and
# re-enter with KDIR set.
modules clippy rustdoc rust-analyzer:
	@+kdir=$$($(ROOT)/scripts/kernel/build-kernel.sh $(ROOT)/scripts/kernel/kernel-debug.config) && \
		$(MAKE) --no-print-directory KDIR=$$kdir PINNED=1 $@
# Installing is for a kernel that runs: by default, this one.
install uninstall:
	@+$(MAKE) --no-print-directory KDIR=/lib/modules/$$(uname -r)/build $@
else
KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
ifeq ($(shell $(ROOT)/scripts/rust-metadata.sh needed $(KDIR) && echo y),y)
# A distribution's headers without Rust metadata (Debian's linux-headers):
# rebuild it from the kernel's own source with the kernel's own rustc, check
# it, and build against that copy in the cache (scripts/rust-metadata.sh).
# RUSTC and BINDGEN, when given, reach the script through the environment.
modules install clippy rustdoc rust-analyzer kernel-check:
	@+kdir=$$($(ROOT)/scripts/rust-metadata.sh $(KDIR)) && \
		$(MAKE) --no-print-directory KDIR=$$kdir $@
else
# A kernel built with clang needs LLVM=1 for its modules too.
KDIR_LLVM = $(if $(shell grep -s '^CONFIG_CC_IS_CLANG=y' $(KDIR)/include/config/auto.conf),LLVM=1)
# The pinned kernels (the project's own) build fencebuf's KUnit tests in
# where they have KUnit (rust/kunit.rs); a distribution's kernel never does.
KBUILD_VARS = $(if $(PINNED),$(PINNED_VARS) FENCEBUF_KUNIT=y,$(if $(LLVM),,$(KDIR_LLVM)))

# Say why a kernel cannot build fencebuf, before kbuild says it obscurely.
# The rustc kbuild will run: RUSTC= if given (or pinned), else rustc in PATH.
CHECK_RUSTC = $(or $(patsubst RUSTC=%,%,$(filter RUSTC=%,$(KBUILD_VARS))),$(RUSTC),rustc)
# And the LLVM= kbuild will see, which names its clang.
CHECK_LLVM = $(or $(patsubst LLVM=%,%,$(filter LLVM=%,$(KBUILD_VARS))),$(LLVM))
kernel-check:
	@$(ROOT)/scripts/lint/kernel-check.sh $(KDIR) $(CHECK_RUSTC) $(CHECK_LLVM)

# Build products go to build/module (MO=), keeping the source tree clean;
# the sample importer module to build/importer.
MODULE_OUT ?= $(BUILD)/module
IMPORTER_OUT ?= $(BUILD)/importer
modules: kernel-check
	@mkdir -p $(MODULE_OUT) $(IMPORTER_OUT)
	$(MAKE) -C $(KDIR) M=$(ROOT) MO=$(MODULE_OUT) $(KBUILD_VARS) modules
ifeq ($(WITH_IMPORTER),1)
	$(MAKE) -C $(KDIR) M=$(ROOT)/samples/importer MO=$(IMPORTER_OUT) $(KBUILD_VARS) modules
endif

# modules_install runs depmod only when KDIR has a System.map, which
# distributions' header packages lack: depmod runs here in any case.
install: WITH_IMPORTER = 0
install: modules
	$(MAKE) -C $(KDIR) M=$(ROOT) MO=$(MODULE_OUT) $(KBUILD_VARS) \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)
	install -D -m 0644 $(ROOT)/udev/70-fencebuf.rules $(DESTDIR)$(UDEV_RULES_DIR)/70-fencebuf.rules
	install -D -m 0644 $(ROOT)/include/uapi/linux/fencebuf.h $(DESTDIR)$(PREFIX)/include/linux/fencebuf.h
	@if [ -z "$(DESTDIR)" ] && command -v udevadm >/dev/null; then udevadm control --reload; fi
	@echo "fencebuf: installed for $(KRELEASE); load it with: modprobe fencebuf"

# The kernel's generator writes ./rust-project.json; it misses fencebuf's
# crate root, which scripts/rust-project.py adds (see there).
rust-analyzer:
	$(MAKE) -C $(KDIR) M=$(ROOT) $(KBUILD_VARS) rust-analyzer
	python3 $(ROOT)/scripts/rust-project.py $(ROOT) $(KRELEASE)

# A from-scratch build in a separate output directory, so clippy sees every
# crate file and the normal build in the tree is left alone.
CLIPPY_OUT ?= $(BUILD)/clippy
clippy:
	@rm -rf $(CLIPPY_OUT) && mkdir -p $(CLIPPY_OUT)
	{ $(MAKE) -C $(KDIR) M=$(ROOT) MO=$(CLIPPY_OUT) $(KBUILD_VARS) CLIPPY=1 modules && \
	  $(MAKE) -C $(KDIR) M=$(ROOT)/samples/importer MO=$(CLIPPY_OUT)/importer \
		$(KBUILD_VARS) CLIPPY=1 modules; } 2>&1 | tee $(CLIPPY_OUT)/build.log
	@if grep -E '^(warning|error)(\[|:)|: warning:' $(CLIPPY_OUT)/build.log; then \
		echo "clippy: the module build has warnings (see above)"; exit 1; fi

# Both crates' rustdoc, private items included, with the flags of the build
# above; a broken intra-doc link is an error.
RUSTDOC_OUT ?= $(BUILD)/rustdoc
rustdoc: modules
	@python3 $(ROOT)/scripts/lint/rustdoc.py $(RUSTDOC_OUT) $(MODULE_OUT) $(IMPORTER_OUT)
endif

# Uninstalling needs no Rust metadata: the kernel release is in the headers.
uninstall:
	@[ -n "$(KRELEASE)" ] || { echo "fencebuf: no kernel release in $(KDIR)/include/config/kernel.release: which kernel to uninstall from?" >&2; exit 1; }
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KRELEASE)/$(INSTALL_MOD_DIR)/fencebuf.ko*
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)
	rm -f $(DESTDIR)$(UDEV_RULES_DIR)/70-fencebuf.rules $(DESTDIR)$(PREFIX)/include/linux/fencebuf.h
	@if [ -z "$(DESTDIR)" ] && command -v udevadm >/dev/null; then udevadm control --reload; fi
endif

rustfmt-check:
	@$(ROOT)/scripts/lint/rustfmt-check.sh

# kernel-doc comes with the pinned kernel's source. uapi-doc writes the
# reference; uapi-doc-check fails unless header, reference and README agree.
uapi-doc uapi-doc-check:
	@src=$$($(ROOT)/scripts/kernel/fetch-kernel.sh) && python3 $(ROOT)/scripts/lint/uapi-doc.py \
		$$src/scripts/kernel-doc $(if $(filter uapi-doc-check,$@),--check)

# rust/abstractions/uapi.rs against the header, member by member.
uapi-layout-check:
	@python3 $(ROOT)/scripts/lint/uapi-layout.py

# The fuzzer's syzkaller descriptions cover the header.
syzlang-check:
	@python3 $(ROOT)/scripts/lint/syzlang-check.py

# make mutants's patches still apply and name existing suites.
mutants-check:
	@$(ROOT)/scripts/lint/mutants-check.sh

# The reasons make coverage gives for lines no test runs still name their
# lines (scripts/report/unreached-reasons.txt).
unreached-check:
	@python3 $(ROOT)/scripts/report/coverage-report.py --check-reasons --root $(ROOT)

# Imports flow one way: driver -> abstractions -> kernel crate, no cycle.
deps:
	@python3 $(ROOT)/scripts/lint/import-graph.py $(ROOT)/rust

# The Rust declarations of C functions against their prototypes.
ffi-check:
	@src=$$($(ROOT)/scripts/kernel/fetch-kernel.sh) && python3 $(ROOT)/scripts/lint/ffi-check.py \
		$(ROOT)/rust $(ROOT)/rust/helpers/helpers.h $$src

lint: rustfmt-check deps ffi-check uapi-doc-check uapi-layout-check syzlang-check mutants-check unreached-check \
	clippy rustdoc

check:
	@$(ROOT)/scripts/test/check.sh

run:
	@$(ROOT)/qemu/run-demo.sh

DURATION ?= 30m
stress:
	@$(ROOT)/scripts/test/stress.sh $(DURATION)

mutants:
	@$(ROOT)/scripts/test/mutants.sh

distro-check:
	@$(ROOT)/scripts/test/distro-check.sh $(or $(SUITE),sid)

deb:
	@$(ROOT)/scripts/package/deb.sh

deb-check:
	@$(ROOT)/scripts/package/deb-check.sh

coverage:
	@$(ROOT)/scripts/test/coverage.sh

fuzz:
	@$(ROOT)/scripts/test/fuzz.sh

bench:
	@$(ROOT)/scripts/test/bench.sh

clean:
	rm -rf $(BUILD)
