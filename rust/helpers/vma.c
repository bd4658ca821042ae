// SPDX-License-Identifier: GPL-2.0
/*
 * VMA set-up for rust/abstractions/vma.rs: vm_flags_set() and the pgprot helpers are
 * static inline or macros.
 */

#include <linux/mm.h>

#include "helpers.h"

/*
 * Makes @vma a lazily populated PFN mapping of I/O memory served by @ops:
 * never copied on fork, never expanded by mremap, never dumped, uncached or
 * write-combined.
 */
void fencebuf_vma_set_io_pfnmap(struct vm_area_struct *vma,
				const struct vm_operations_struct *ops,
				bool write_combine)
{
	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP |
			  VM_DONTCOPY);
	vma->vm_page_prot = write_combine ?
		pgprot_writecombine(vma->vm_page_prot) :
		pgprot_noncached(vma->vm_page_prot);
	vma->vm_ops = ops;
}
