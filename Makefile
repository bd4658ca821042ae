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
#   make lint            rustfmt check and a CLIPPY=1 build without warnings
#   make mutants         break behaviours on purpose (selftests/mutants) and
#                        check that the tests catch every one
#   make bench           fencebuf against the kernel's C sw_sync, and the exporter
#                        against a direct BAR mapping, on a perf kernel (build/bench)
#   make clean           remove build products from the tree
#
# The kernel, the toolchain's bindgen and the downloads are cached in
# $(FENCEBUF_CACHE), default ~/.cache/fencebuf; build products and guest logs
# go to ./build.

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(ROOT)/build
# The toolchain make variables the pinned kernel was built with.
PINNED_VARS = $(shell bash -c '. $(ROOT)/qemu/lib.sh && kmake_vars')

.PHONY: all modules lint rustfmt-check clippy check run mutants bench clean

all: modules

ifeq ($(KDIR),)
# No kernel named: use the pinned debug kernel, building it if needed, and
# re-enter with KDIR set.
modules clippy:
	@+kdir=$$($(ROOT)/qemu/build-kernel.sh $(ROOT)/qemu/kernel-debug.config) && \
		$(MAKE) --no-print-directory KDIR=$$kdir PINNED=1 $@
else
KBUILD_VARS = $(if $(PINNED),$(PINNED_VARS))

# Build products go to build/module (MO=), keeping the source tree clean;
# the sample importer module to build/importer.
MODULE_OUT ?= $(BUILD)/module
IMPORTER_OUT ?= $(BUILD)/importer
modules:
	@mkdir -p $(MODULE_OUT) $(IMPORTER_OUT)
	$(MAKE) -C $(KDIR) M=$(ROOT) MO=$(MODULE_OUT) $(KBUILD_VARS) modules
	$(MAKE) -C $(KDIR) M=$(ROOT)/samples/importer MO=$(IMPORTER_OUT) $(KBUILD_VARS) modules

# A from-scratch build in a separate output directory, so clippy sees every
# crate file and the normal build in the tree is left alone.
clippy:
	@rm -rf $(BUILD)/clippy && mkdir -p $(BUILD)/clippy
	{ $(MAKE) -C $(KDIR) M=$(ROOT) MO=$(BUILD)/clippy $(KBUILD_VARS) CLIPPY=1 modules && \
	  $(MAKE) -C $(KDIR) M=$(ROOT)/samples/importer MO=$(BUILD)/clippy/importer \
		$(KBUILD_VARS) CLIPPY=1 modules; } 2>&1 | tee $(BUILD)/clippy/build.log
	@if grep -E '^(warning|error)(\[|:)' $(BUILD)/clippy/build.log; then \
		echo "clippy: the module build has warnings (see above)"; exit 1; fi
endif

rustfmt-check:
	@$(ROOT)/qemu/rustfmt-check.sh

lint: rustfmt-check clippy

check:
	@$(ROOT)/qemu/check.sh

run:
	@$(ROOT)/qemu/run-demo.sh

mutants:
	@$(ROOT)/qemu/mutants.sh

bench:
	@$(ROOT)/qemu/bench.sh

clean:
	rm -rf $(BUILD)
