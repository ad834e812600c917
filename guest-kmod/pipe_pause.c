// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes paused for a checkpoint.
 *
 * The pages of a pipe an excluded process has (or left data in) are zero
 * in the checkpoint.  A guest restored from it runs from its first
 * instruction, and a reader outside the set could read those zeros before
 * the poller notices the restore and empties the pipe.  So at PREPARE the
 * buffers of such a pipe are taken out of its ring and kept here, and the
 * pipe is made to look empty to its readers and full to its writers
 * (max_usage 0): until THAW nobody reads from it or writes to it, in the
 * running VM as in one restored from the checkpoint.  A pipe whose
 * writers have all gone counts one more meanwhile, so that its reader
 * waits instead of taking the empty ring for the end.
 *
 *   - THAW (and a failed PREPARE, the thaw timeout, module unload): the
 *     buffers go back in front of the ring, in their order, and the pipe
 *     its size: the running VM loses nothing.
 *   - RESTORE: the buffers (zeros now) are dropped before anything else,
 *     and the pipe gets its size back, empty.
 *
 * A paused pipe is found again by its inode (held) under the inode's lock,
 * which the pipe's last close takes to free it; its mutex is only tried
 * there.  A pipe that was freed meanwhile (every end closed) has nobody
 * to read the buffers: they are released as the pipe would have.  One
 * whose size was changed meanwhile (F_SETPIPE_SZ) gets the buffers back if
 * they fit, before what was written since; but a named FIFO so changed
 * cannot be told from a new pipe of the same FIFO, and loses them.  A
 * pipe whose mutex stays busy is tried again at every poll.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pipe_fs_i.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "veil_guest.h"

struct veil_guest_pipe_pause {
	struct veil_guest_pipe_pause *next;
	struct inode *inode;
	struct pipe_inode_info *pipe;	/* compared only, under inode->i_lock */
	unsigned int max_usage;		/* the pipe's, before the pause */
	unsigned int nr;
	bool writer;			/* one writer added */
	bool drop;			/* restored: the buffers hold zeros */
	unsigned long *published;	/* which of bufs PREPARE published */
	struct pipe_buffer bufs[];	/* then the bitmap */
};

/* Pauses that could not be undone at once; under veil_guest_ctl_lock. */
static struct veil_guest_pipe_pause *veil_guest_pipes_busy;

/*
 * A pipe(2) pipe: its inode never gets another pipe once this one is
 * freed, and every file of it has its maker's credentials.
 */
bool veil_guest_is_anon_pipe(const struct inode *inode)
{
	return inode->i_sb->s_magic == PIPEFS_MAGIC;
}

/*
 * Whether @pipe, @pp's inode's pipe now, is the pipe @pp paused: a pause
 * leaves max_usage 0, which only F_SETPIPE_SZ changes.  A named FIFO
 * whose every end was closed meanwhile gets a new pipe when it is opened
 * again, at the freed one's address as likely as not, and a new pipe has
 * max_usage too: so a named FIFO whose max_usage changed is taken for a
 * new one.  (The writer a pause adds does not keep a pipe: the last file
 * of it frees it, whatever its counts of readers and writers.)
 */
static bool veil_guest_pipe_is_ours(const struct veil_guest_pipe_pause *pp,
				    const struct pipe_inode_info *pipe)
{
	return !pipe->max_usage || veil_guest_is_anon_pipe(pp->inode);
}

/*
 * Pauses @pipe, whose mutex the caller holds and which the caller keeps
 * from being freed (@inode's lock, or a file of it), and keeps its buffers
 * with @h.  Watch-queue pipes (kernel notifications) and empty ones are
 * left alone.  @published: which of the buffers, from the ring's tail on,
 * the collection published (NULL: none), which a dry run takes again
 * while they are away.  @gfp: GFP_KERNEL, or GFP_ATOMIC under a spinlock.
 */
int veil_guest_pipe_pause(struct veil_guest_holds *h, struct inode *inode,
			  struct pipe_inode_info *pipe, const unsigned long *published, gfp_t gfp)
{
	unsigned int mask = pipe->ring_size - 1, n = pipe->head - pipe->tail, i;
	struct veil_guest_pipe_pause *pp;
	size_t size;

#ifdef CONFIG_WATCH_QUEUE
	if (pipe->watch_queue)
		return 0;
#endif
	if (!n || !pipe->max_usage)
		return 0;
	size = size_add(struct_size(pp, bufs, n), BITS_TO_LONGS(n) * sizeof(long));
	pp = kmalloc(size, gfp | __GFP_NOWARN);
	if (!pp)
		return -ENOMEM;
	pp->published = (unsigned long *)&pp->bufs[n];
	if (published)
		bitmap_copy(pp->published, published, n);
	else
		bitmap_zero(pp->published, n);
	for (i = 0; i < n; i++) {
		struct pipe_buffer *buf = &pipe->bufs[(pipe->tail + i) & mask];

		pp->bufs[i] = *buf;
		/* free_pipe_info() releases every slot that has ops. */
		buf->ops = NULL;
	}
	pipe->tail = pipe->head;
	pp->max_usage = pipe->max_usage;
	/*
	 * Empty for readers, full for writers (pipe_full(h, t, 0) is true);
	 * and a writer more, so that a reader waits rather than take the
	 * empty ring of a pipe whose writer left for its end.
	 */
	pipe->max_usage = 0;
	pp->writer = !pipe->writers;
	pipe->writers += pp->writer;
	pp->nr = n;
	pp->drop = false;
	ihold(inode);
	pp->inode = inode;
	pp->pipe = pipe;
	pp->next = h->paused;
	h->paused = pp;
	return 0;
}

/*
 * Pauses the pipe of @inode, if it still has one, which is looked up and
 * its mutex tried under the inode's lock (nothing else keeps it from being
 * freed).  -EBUSY if the mutex stays busy for about a second.
 */
int veil_guest_pipe_pause_inode(struct veil_guest_holds *h, struct inode *inode)
{
	struct pipe_inode_info *pipe;
	int tries, err;

	for (tries = 0; ; tries++) {
		spin_lock(&inode->i_lock);
		pipe = inode->i_pipe;
		if (!pipe) {
			spin_unlock(&inode->i_lock);
			return 0;
		}
		if (mutex_trylock(&pipe->mutex))
			break;
		spin_unlock(&inode->i_lock);
		if (tries == 150) {
			pr_warn("prepare: a pipe holding data an excluded process left stays locked\n");
			return -EBUSY;
		}
		usleep_range(5000, 10000);
	}
	err = veil_guest_pipe_pause(h, inode, pipe, NULL, GFP_ATOMIC);
	mutex_unlock(&pipe->mutex);
	spin_unlock(&inode->i_lock);
	return err;
}

/* The buffers of a pipe that is gone, released as its last close would. */
static void veil_guest_pipe_pause_release(struct veil_guest_pipe_pause *pp)
{
	static struct pipe_inode_info stand_in;
	unsigned int i;

	/* Only anon_pipe_buf_release() looks at the pipe: its tmp_page. */
	for (i = 0; i < pp->nr; i++)
		pipe_buf_release(&stand_in, &pp->bufs[i]);
	if (stand_in.tmp_page) {
		veil_guest_folio_put_zeroed(page_folio(stand_in.tmp_page));
		stand_in.tmp_page = NULL;
	}
	pp->nr = 0;
}

/*
 * Undoes @pp on @pipe, whose mutex is held: the buffers back in front of
 * the ring (or dropped, after a restore), the size back unless it was
 * changed meanwhile.  Returns false if the buffers no longer fit (the
 * pipe was made smaller); they are dropped then.
 */
static bool veil_guest_pipe_unpause(struct veil_guest_pipe_pause *pp,
				    struct pipe_inode_info *pipe)
{
	unsigned int mask = pipe->ring_size - 1, i;
	bool fits = pipe_occupancy(pipe->head, pipe->tail) + pp->nr <= pipe->ring_size;

	if (!pipe->max_usage)
		pipe->max_usage = pp->max_usage;
	pipe->writers -= pp->writer;
	if (pp->drop || !fits) {
		for (i = 0; i < pp->nr; i++)
			pipe_buf_release(pipe, &pp->bufs[i]);
	} else {
		for (i = pp->nr; i-- > 0; ) {
			pipe->tail--;
			pipe->bufs[pipe->tail & mask] = pp->bufs[i];
		}
	}
	pp->nr = 0;
	wake_up_interruptible_all(&pipe->rd_wait);
	wake_up_interruptible_all(&pipe->wr_wait);
	kill_fasync(&pipe->fasync_readers, SIGIO, POLL_IN);
	kill_fasync(&pipe->fasync_writers, SIGIO, POLL_OUT);
	return pp->drop || fits;
}

/* Undoes @pp; false if the pipe's mutex was busy. */
static bool veil_guest_pipe_unpause_try(struct veil_guest_pipe_pause *pp)
{
	struct inode *inode = pp->inode;
	struct pipe_inode_info *pipe;
	bool fits = true;

	spin_lock(&inode->i_lock);
	pipe = inode->i_pipe;
	if (pipe != pp->pipe) {
		spin_unlock(&inode->i_lock);
		veil_guest_pipe_pause_release(pp);
		return true;
	}
	if (!mutex_trylock(&pipe->mutex)) {
		spin_unlock(&inode->i_lock);
		return false;
	}
	if (!veil_guest_pipe_is_ours(pp, pipe)) {
		mutex_unlock(&pipe->mutex);
		spin_unlock(&inode->i_lock);
		veil_guest_pipe_pause_release(pp);
		if (!pp->drop)
			pr_warn("a FIFO paused for a checkpoint was reopened or resized meanwhile: %s\n",
				"what an excluded process had in it is lost");
		return true;
	}
	fits = veil_guest_pipe_unpause(pp, pipe);
	mutex_unlock(&pipe->mutex);
	spin_unlock(&inode->i_lock);
	if (!fits)
		pr_warn("a pipe paused for a checkpoint was made smaller meanwhile: %s\n",
			"what an excluded process had in it is lost");
	return true;
}

static void veil_guest_pipe_pause_free(struct veil_guest_pipe_pause *pp)
{
	iput(pp->inode);
	kfree(pp);
}

/* Undoes each pause of @list, for up to about a second each. */
static void veil_guest_pipes_unpause_list(struct veil_guest_pipe_pause *list,
					  unsigned int tries)
{
	struct veil_guest_pipe_pause *pp, *next;
	unsigned int t;

	for (pp = list; pp; pp = next) {
		next = pp->next;
		for (t = 0; !veil_guest_pipe_unpause_try(pp); t++) {
			if (t == tries) {
				pp->next = veil_guest_pipes_busy;
				veil_guest_pipes_busy = pp;
				pr_warn_ratelimited("a pipe paused for a checkpoint stays locked: tried again at every poll\n");
				break;
			}
			usleep_range(5000, 10000);
		}
		if (!pp->nr)
			veil_guest_pipe_pause_free(pp);
	}
}

/* THAW: @h's pipes get their buffers back. */
void veil_guest_pipes_resume(struct veil_guest_holds *h)
{
	struct veil_guest_pipe_pause *list = h->paused;

	h->paused = NULL;
	veil_guest_pipes_unpause_list(list, 150);
}

/*
 * RESTORE: @h's pipes lose their buffers, which hold zeros now (those
 * still waiting from an earlier pause too); counted into @p.
 */
void veil_guest_pipes_drop(struct veil_guest_holds *h, struct veil_guest_purged *p)
{
	struct veil_guest_pipe_pause *list = h->paused, *pp;

	h->paused = NULL;
	for (pp = list; pp; pp = pp->next) {
		pp->drop = true;
		p->pipes++;
	}
	for (pp = veil_guest_pipes_busy; pp; pp = pp->next)
		pp->drop = true;
	veil_guest_pipes_unpause_list(list, 150);
}

/*
 * A dry run during a checkpoint: the pages PREPARE published of the pipes
 * @h paused, and of those still waiting to go back, which their rings do
 * not show meanwhile; not those a restore made zeros of.  Under
 * veil_guest_ctl_lock, which every change of a pause is made under.
 */
void veil_guest_pipes_paused_collect(struct veil_guest_holds *h, struct veil_guest_collect *c)
{
	struct veil_guest_pipe_pause *pp;

	for (pp = h->paused; pp; pp = pp->next)
		if (!pp->drop)
			veil_guest_collect_paused_bufs(c, pp->bufs, pp->published, pp->nr);
	for (pp = veil_guest_pipes_busy; pp; pp = pp->next)
		if (!pp->drop)
			veil_guest_collect_paused_bufs(c, pp->bufs, pp->published, pp->nr);
}

/* Every poll: pauses whose pipe was locked before. */
void veil_guest_pipes_retry(void)
{
	struct veil_guest_pipe_pause *list = veil_guest_pipes_busy;

	veil_guest_pipes_busy = NULL;
	veil_guest_pipes_unpause_list(list, 0);
}

/* Module unload: no pipe stays paused. */
void veil_guest_pipes_exit(void)
{
	while (veil_guest_pipes_busy) {
		veil_guest_pipes_retry();
		if (veil_guest_pipes_busy)
			msleep(20);
	}
}
