// SPDX-License-Identifier: GPL-2.0
/*
 * VMA set-up for rust/abstractions/vma.rs: vm_flags_set() and the pgprot
 * helpers are static inline or macros.
 */

#include <linux/mm.h>

#include "helpers.h"

/*
 * What the kernel crate's VmaNew cannot set: makes @vma a PFN mapping served
 * by @ops, uncached or write-combined.
 */
__fencebuf_helper
void fencebuf_vma_set_pfnmap(struct vm_area_struct *vma,
			     const struct vm_operations_struct *ops,
			     bool write_combine)
{
	vm_flags_set(vma, VM_PFNMAP);
	vma->vm_page_prot = write_combine ?
		pgprot_writecombine(vma->vm_page_prot) :
		pgprot_noncached(vma->vm_page_prot);
	vma->vm_ops = ops;
}
