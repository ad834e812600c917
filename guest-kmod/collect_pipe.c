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
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pipe_fs_i.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "veil_guest.h"

/*
 * A page the pipe allocated for data written to it: no file's, no
 * process's, not part of a larger allocation, and referenced by the pipe
 * alone, but for @known references of veil's (the holds of a checkpoint
 * under way, which published it).
 */
static bool veil_guest_pipe_own_page(struct page *page, unsigned int known)
{
	return !PageAnon(page) && !page->mapping && !PageCompound(page) &&
	       !PageSlab(page) && !page_mapped(page) && page_count(page) == 1 + known;
}

static bool veil_guest_pipe_left_has(struct page *page);

/* Returns whether @page is published, here or as one left in the pipe. */
static bool veil_guest_collect_pipe_page(struct veil_guest_collect *c, struct page *page)
{
	/* Left by an excluded writer: veil_guest_collect_pipe_left() takes it. */
	if (veil_guest_pipe_left_has(page))
		return true;
	if (!veil_guest_pipe_own_page(page, veil_guest_collect_held_refs(c, page))) {
		c->shared_out++;
		return false;
	}
	veil_guest_add(c, VEIL_GUEST_CAT_PIPE, page_to_pfn(page), 1);
	veil_guest_hold_page(&c->holds, page);
	return true;
}

/*
 * PREPARE: a pipe whose pages are published is paused until THAW
 * (pipe_pause.c), so that no reader outside the set can read them as
 * zeros in a guest restored from the checkpoint.  A pause that cannot be
 * made fails the collection.
 */
static void veil_guest_pipe_pause_for(struct veil_guest_collect *c, struct inode *inode,
				      struct pipe_inode_info *pipe, const unsigned long *published)
{
	int err;

	if (!c->prepare || c->holds.error)
		return;
	err = veil_guest_pipe_pause(&c->holds, inode, pipe, published, GFP_KERNEL);
	if (err)
		c->holds.error = err;
}

/*
 * A dry run during a checkpoint: of the buffers a pause keeps out of their
 * pipe (pipe_pause.c), the pages PREPARE published (the bits of
 * @published), as the collection takes them in a pipe; those an excluded
 * writer left are veil_guest_collect_pipe_left()'s, paused or not.
 */
void veil_guest_collect_paused_bufs(struct veil_guest_collect *c, const struct pipe_buffer *bufs,
				    const unsigned long *published, unsigned int nr)
{
	unsigned int i;

	for_each_set_bit(i, published, nr) {
		struct page *page = bufs[i].page;

		if (!page || veil_guest_pipe_left_has(page))
			continue;
		veil_guest_add(c, VEIL_GUEST_CAT_PIPE, page_to_pfn(page), 1);
		veil_guest_hold_page(&c->holds, page);
	}
}

void veil_guest_collect_pipe(struct file *file, struct veil_guest_collect *c)
{
	struct pipe_inode_info *pipe = file->private_data;
	unsigned long *bits = NULL;
	bool published = false;
	unsigned int i;

	/* Both pipe(2) ends and an opened FIFO point at the inode's pipe. */
	if (!pipe || file_inode(file)->i_pipe != pipe || !veil_guest_collect_once(c, pipe))
		return;
	/* Perhaps had before the exclusion: watched for its close from now on. */
	veil_guest_recall_file(file, c->privileged);
	pipe_lock(pipe);
	/*
	 * PREPARE: which buffers are published, for a dry run while the pause
	 * keeps them (without it, a dry run only misses them).
	 */
	if (c->prepare)
		bits = bitmap_zalloc(pipe->head - pipe->tail, GFP_KERNEL | __GFP_NOWARN);
	for (i = pipe->tail; i != pipe->head; i++) {
		struct pipe_buffer *buf = &pipe->bufs[i & (pipe->ring_size - 1)];

		if (buf->page && veil_guest_collect_pipe_page(c, buf->page)) {
			published = true;
			if (bits)
				__set_bit(i - pipe->tail, bits);
		}
	}
	if (pipe->tmp_page)
		veil_guest_collect_pipe_page(c, pipe->tmp_page);
	if (published)
		veil_guest_pipe_pause_for(c, file_inode(file), pipe, bits);
	pipe_unlock(pipe);
	bitmap_free(bits);
}

/*
 * What an excluded process left in a pipe: the buffers still unread when
 * it closed its write end (or exited), which wait for a reader outside the
 * set.  recall.c marks every pipe and FIFO an excluded process has, and
 * calls veil_guest_pipe_left() from the close, in the closer's context,
 * while its file still holds the pipe.  Each of the pipe's own pages then
 * gets a reference of ours (with one on the pipe's inode, for the purge
 * after a restore):
 *
 *   - while the pipe (or a pipe it was tee'd to) still has it, every
 *     collection publishes it;
 *   - once it is read, the pipe lets go of it and ours is the only
 *     reference: the next collection zeroes it and frees it, so its bytes
 *     never reach the free lists.
 *
 * At most pipe_left_max pages are held, half of them at most for
 * exclusions unprivileged users made; a privileged exclusion's page that
 * could not be held fails every PREPARE while something is excluded.
 */
static unsigned int pipe_left_max = 16384;
module_param(pipe_left_max, uint, 0644);
MODULE_PARM_DESC(pipe_left_max,
		 "Most pipe pages excluded processes left unread when they closed the pipe that are held until read, half of them at most for unprivileged exclusions; a privileged exclusion's page beyond it fails PREPARE (default 16384)");

struct veil_guest_left {
	struct page *page;
	struct inode *inode;
	bool privileged;
};

/* By frame number; under veil_guest_lefts_lock, in process context only. */
static DEFINE_XARRAY(veil_guest_lefts);
static DEFINE_MUTEX(veil_guest_lefts_lock);
static unsigned int veil_guest_lefts_nr[2];
static bool veil_guest_lefts_missed;

static bool veil_guest_pipe_left_has(struct page *page)
{
	return xa_load(&veil_guest_lefts, page_to_pfn(page));
}

static void veil_guest_left_drop(unsigned long pfn, struct veil_guest_left *l)
{
	xa_erase(&veil_guest_lefts, pfn);
	veil_guest_lefts_nr[l->privileged]--;
	/* Ours alone: read and let go of by the pipe, the data still in it. */
	veil_guest_folio_put_zeroed(page_folio(l->page));
	iput(l->inode);
	kfree(l);
}

/* Pages read since: zeroed and let go of. */
static void veil_guest_lefts_sweep(void)
{
	struct veil_guest_left *l;
	unsigned long pfn;

	lockdep_assert_held(&veil_guest_lefts_lock);
	xa_for_each(&veil_guest_lefts, pfn, l)
		if (page_count(l->page) == 1)
			veil_guest_left_drop(pfn, l);
}

static bool veil_guest_lefts_room(bool privileged)
{
	unsigned int max = READ_ONCE(pipe_left_max);
	unsigned int all = veil_guest_lefts_nr[0] + veil_guest_lefts_nr[1];

	return all < max && (privileged || veil_guest_lefts_nr[0] < max / 2);
}

static void veil_guest_left_hold(struct inode *inode, struct page *page, bool privileged)
{
	unsigned long pfn = page_to_pfn(page);
	struct veil_guest_left *l;

	if (xa_load(&veil_guest_lefts, pfn))
		return;
	if (!veil_guest_pipe_own_page(page, 0))
		return;		/* spliced in: somebody else's page */
	if (!veil_guest_lefts_room(privileged))
		veil_guest_lefts_sweep();
	l = veil_guest_lefts_room(privileged) ? kmalloc(sizeof(*l), GFP_KERNEL) : NULL;
	if (!l || xa_err(xa_store(&veil_guest_lefts, pfn, l, GFP_KERNEL))) {
		kfree(l);
		if (privileged)
			veil_guest_lefts_missed = true;
		pr_warn_ratelimited("an excluded process left unread pipe data that cannot be held (pipe_left_max=%u)%s\n",
				    READ_ONCE(pipe_left_max),
				    privileged ? ": no checkpoint until nothing is excluded" : "");
		return;
	}
	get_page(page);
	l->page = page;
	l->inode = igrab(inode);
	l->privileged = privileged;
	veil_guest_lefts_nr[privileged]++;
}

/*
 * An excluded process closes its write end of the pipe or FIFO @inode
 * (in its own context, its file still holding the pipe).
 */
void veil_guest_pipe_left(struct inode *inode, bool privileged)
{
	struct pipe_inode_info *pipe = inode->i_pipe;
	unsigned int i;

	if (!pipe)
		return;
	mutex_lock(&veil_guest_lefts_lock);
	pipe_lock(pipe);
	for (i = pipe->tail; i != pipe->head; i++) {
		struct pipe_buffer *buf = &pipe->bufs[i & (pipe->ring_size - 1)];

		if (buf->page)
			veil_guest_left_hold(inode, buf->page, privileged);
	}
	pipe_unlock(pipe);
	mutex_unlock(&veil_guest_lefts_lock);
}

/*
 * Every collection: the pages left in pipes and still there are
 * published (and held until THAW, like the others), those read since are
 * zeroed and let go of.  -ENOSPC when a privileged exclusion's page could
 * not be held.
 */
int veil_guest_collect_pipe_left(struct veil_guest_collect *c)
{
	struct veil_guest_left *l;
	unsigned long pfn;
	int err = 0;

	mutex_lock(&veil_guest_lefts_lock);
	if (veil_guest_lefts_missed) {
		pr_warn_ratelimited("prepare: pipe data excluded processes left was not all held (pipe_left_max): no checkpoint\n");
		err = -ENOSPC;
	} else {
		veil_guest_lefts_sweep();
		xa_for_each(&veil_guest_lefts, pfn, l) {
			veil_guest_add(c, VEIL_GUEST_CAT_PIPE, pfn, 1);
			veil_guest_hold_page(&c->holds, l->page);
		}
		/* Their pipes paused until THAW, each once, as the others. */
		xa_for_each(&veil_guest_lefts, pfn, l) {
			if (err || !c->prepare || !l->inode)
				continue;
			if (veil_guest_collect_once(c, l->inode))
				err = veil_guest_pipe_pause_inode(&c->holds, l->inode);
		}
	}
	mutex_unlock(&veil_guest_lefts_lock);
	return err;
}

/*
 * Nothing is excluded any more (or the module goes): pages read since are
 * zeroed, the others left to their pipes.
 */
void veil_guest_pipe_left_forget(void)
{
	struct veil_guest_left *l;
	unsigned long pfn;

	mutex_lock(&veil_guest_lefts_lock);
	xa_for_each(&veil_guest_lefts, pfn, l)
		veil_guest_left_drop(pfn, l);
	veil_guest_lefts_missed = false;
	mutex_unlock(&veil_guest_lefts_lock);
}

static bool veil_guest_pipe_has_left(struct pipe_inode_info *pipe)
{
	unsigned int i;

	for (i = pipe->tail; i != pipe->head; i++) {
		struct pipe_buffer *buf = &pipe->bufs[i & (pipe->ring_size - 1)];

		if (buf->page && xa_load(&veil_guest_lefts, page_to_pfn(buf->page)))
			return true;
	}
	return false;
}

/*
 * Empties @inode's pipe if it holds a page an excluded process left, and
 * returns true; false if its lock was busy.  The pipe is looked up and
 * locked under the inode's lock, which its last close needs to free it.
 */
static bool veil_guest_left_purge_inode(struct inode *inode, struct veil_guest_purged *p)
{
	struct pipe_inode_info *pipe;
	bool done = true;

	spin_lock(&inode->i_lock);
	pipe = inode->i_pipe;
	if (pipe && !mutex_trylock(&pipe->mutex)) {
		done = false;
	} else if (pipe) {
		if (veil_guest_pipe_has_left(pipe))
			veil_guest_pipe_empty(pipe, p);
		mutex_unlock(&pipe->mutex);
	}
	spin_unlock(&inode->i_lock);
	return done;
}

/*
 * After a restore: the pages left in pipes hold zeros now.  Their pipes
 * are emptied, as an excluded process's own are (purge.c), so that a
 * reader finds them empty rather than zeros.  A pipe whose lock stays busy
 * is only logged.
 */
void veil_guest_pipe_left_purge(struct veil_guest_purged *p)
{
	struct veil_guest_left *l;
	unsigned long pfn;
	int tries;

	mutex_lock(&veil_guest_lefts_lock);
	xa_for_each(&veil_guest_lefts, pfn, l) {
		if (!l->inode)
			continue;
		for (tries = 0; !veil_guest_left_purge_inode(l->inode, p); tries++) {
			if (tries == 100) {
				pr_warn("restore: a pipe holding data an excluded process left stays busy: a reader may read zeros\n");
				break;
			}
			usleep_range(10000, 20000);
		}
	}
	mutex_unlock(&veil_guest_lefts_lock);
}
