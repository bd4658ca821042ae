# SPDX-License-Identifier: GPL-2.0
# Included by fencebuf's Kbuild files: the Rust cfgs of the target kernel's
# release. The kernel crate changes with every release; the code that
# follows it (rust/abstractions/compat.rs) is gated on
# `fencebuf_kernel_at_least = "X.Y"`, set here for every supported release
# up to the target's: a 7.3 kernel gets "7.2" and "7.3". A new release is
# added to this list (Documentation/fencebuf/kernels.rst).
fencebuf-releases := 7.2 7.3

# X.Y as X * 1000 + Y, for test-ge.
fencebuf-release-code = $(shell echo $$(( $(word 1,$(subst ., ,$1)) * 1000 + $(word 2,$(subst ., ,$1)) )))
fencebuf-kernel-code := $(call fencebuf-release-code,$(VERSION).$(PATCHLEVEL))

rustflags-y += $(foreach r,$(fencebuf-releases),$(if $(call test-ge,$(fencebuf-kernel-code),$(call fencebuf-release-code,$(r))),--cfg 'fencebuf_kernel_at_least="$(r)"'))
