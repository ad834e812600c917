// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes and FIFOs: the pages of every buffer in the ring, and the page the
 * pipe keeps cached for reuse, which still holds data already read.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pipe_fs_i.h>

#include "veil_guest.h"

void veil_guest_collect_pipe(struct file *file, struct veil_guest_collect *c)
{
	struct pipe_inode_info *pipe = file->private_data;
	unsigned int i;

	/* Both pipe(2) ends and an opened FIFO point at the inode's pipe. */
	if (!pipe || file_inode(file)->i_pipe != pipe)
		return;
	pipe_lock(pipe);
	for (i = pipe->tail; i != pipe->head; i++) {
		struct pipe_buffer *buf = &pipe->bufs[i & (pipe->ring_size - 1)];

		if (buf->page)
			veil_guest_add(c, VEIL_GUEST_CAT_PIPE, page_to_pfn(buf->page), 1);
	}
	if (pipe->tmp_page)
		veil_guest_add(c, VEIL_GUEST_CAT_PIPE, page_to_pfn(pipe->tmp_page), 1);
	pipe_unlock(pipe);
}
