// SPDX-License-Identifier: GPL-2.0
/* PCI, for rust/abstractions/pci.rs. */

#include <linux/pci.h>

#include "helpers.h"

/* The errno of a config access's PCIBIOS_* result (0 stays 0). */
__fencebuf_helper int fencebuf_pcibios_err_to_errno(int err)
{
	return pcibios_err_to_errno(err);
}
