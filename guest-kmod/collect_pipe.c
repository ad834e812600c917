// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes and FIFOs: the pages of the buffers in the ring, and the page the
 * pipe keeps cached for reuse, which still holds data already read; each
 * held by a reference of our own, so a buffer read meanwhile keeps its
 * frame until THAW.  Only a pipe's own pages are taken, those it
 * allocated for what was written to it: a buffer spliced in from a file
 * is that file's page cache, one from vmsplice() a process's memory, one
 * from a socket or tee() a page others hold too.  Those are left out,
 * counted as shared.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pipe_fs_i.h>

#include "veil_guest.h"

/*
 * A page the pipe allocated for data written to it: no file's, no
 * process's, not part of a larger allocation, and referenced by the pipe
 * alone.
 */
static bool veil_guest_pipe_own_page(struct page *page)
{
	return !PageAnon(page) && !page->mapping && !PageCompound(page) &&
	       !PageSlab(page) && page_count(page) == 1 && !page_mapped(page);
}

static void veil_guest_collect_pipe_page(struct veil_guest_collect *c, struct page *page)
{
	if (!veil_guest_pipe_own_page(page)) {
		c->shared_out++;
		return;
	}
	veil_guest_add(c, VEIL_GUEST_CAT_PIPE, page_to_pfn(page), 1);
	veil_guest_hold_page(&c->holds, page);
}

void veil_guest_collect_pipe(struct file *file, struct veil_guest_collect *c)
{
	struct pipe_inode_info *pipe = file->private_data;
	unsigned int i;

	/* Both pipe(2) ends and an opened FIFO point at the inode's pipe. */
	if (!pipe || file_inode(file)->i_pipe != pipe || !veil_guest_collect_once(c, pipe))
		return;
	pipe_lock(pipe);
	for (i = pipe->tail; i != pipe->head; i++) {
		struct pipe_buffer *buf = &pipe->bufs[i & (pipe->ring_size - 1)];

		if (buf->page)
			veil_guest_collect_pipe_page(c, buf->page);
	}
	if (pipe->tmp_page)
		veil_guest_collect_pipe_page(c, pipe->tmp_page);
	pipe_unlock(pipe);
}
