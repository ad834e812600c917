// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX message queues: a message an excluded process sent with mq_send()
 * and nobody has received yet lives in a kernel allocation (struct
 * msg_msg, its text after the header, longer texts continued in
 * segments of a page) that no walk of its address space finds.  The text
 * of every message queued is taken byte by byte; the headers, which link
 * the queue's list, are left as they are so that a restored guest's
 * kernel still walks a sound queue.
 *
 * The queue is the process's own only if nothing outside the set can
 * receive from it: the file the process has open is in its descriptor
 * table alone (not inherited by or passed to another process, not
 * dup()ed), no other file is open on the queue, and for an exclusion an
 * unprivileged user made, the queue belongs to the process's user and
 * has no name left (mq_unlink()ed after it was opened).  A
 * queue others have open is theirs too: a restored guest's receiver
 * would read zeros.  Messages carry no sender: those others sent into
 * the process's own queue are its to receive, and are taken too.
 *
 * A queued message is freed only when it is received or when its queue
 * goes away.  The queue is held by a reference on the file until THAW or
 * RESTORE (hold.c); nothing else has it open and the process is frozen,
 * so only a process that opens the queue by name after the collection
 * could receive, and free, a message meanwhile.  A PREPARE's messages are
 * watched until THAW (collect_sysvmsg.c): such a receive withdraws the
 * set, and the checkpoint is refused.
 *
 * The messages hang in struct mqueue_inode_info, private to
 * ipc/mqueue.c, on lists of struct posix_msg_tree_node, in a tree by
 * priority: where the lock, the inode and the tree lie in it, and the
 * list in a node, come from the kernel's BTF (btf.c).  Without them
 * nothing is taken, and the module says so at load.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/msg.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>

#include "veil_guest.h"

/* The superblock magic of the mqueue file system (ipc/mqueue.c). */
#define VEIL_GUEST_MQUEUE_MAGIC	0x19800202

/* A message's continuation (ipc/msgutil.c): a link, then text. */
struct veil_guest_msgseg {
	struct veil_guest_msgseg *next;
};

#define VEIL_GUEST_MSG_TEXT	(PAGE_SIZE - sizeof(struct msg_msg))
#define VEIL_GUEST_SEG_TEXT	(PAGE_SIZE - sizeof(struct veil_guest_msgseg))

enum { VEIL_GUEST_MQ_LOCK, VEIL_GUEST_MQ_INODE, VEIL_GUEST_MQ_TREE };
enum { VEIL_GUEST_MQ_RB, VEIL_GUEST_MQ_LIST };

static struct veil_guest_btf_member veil_guest_mq_info_members[] = {
	[VEIL_GUEST_MQ_LOCK] = { .name = "lock" },
	[VEIL_GUEST_MQ_INODE] = { .name = "vfs_inode" },
	[VEIL_GUEST_MQ_TREE] = { .name = "msg_tree" },
};

static struct veil_guest_btf_member veil_guest_mq_node_members[] = {
	[VEIL_GUEST_MQ_RB] = { .name = "rb_node" },
	[VEIL_GUEST_MQ_LIST] = { .name = "msg_list" },
};

struct veil_guest_btf_struct veil_guest_mq_info_btf = {
	.name = "mqueue_inode_info",
	.m = veil_guest_mq_info_members,
	.nr = ARRAY_SIZE(veil_guest_mq_info_members),
};

struct veil_guest_btf_struct veil_guest_mq_node_btf = {
	.name = "posix_msg_tree_node",
	.m = veil_guest_mq_node_members,
	.nr = ARRAY_SIZE(veil_guest_mq_node_members),
};

/* Offsets in bytes, set once at load. */
static struct {
	bool known;
	u32 lock, inode, tree;	/* in struct mqueue_inode_info */
	u32 rb, list;		/* in struct posix_msg_tree_node */
} veil_guest_mq;

static bool veil_guest_apart(u32 a, size_t alen, u32 b, size_t blen)
{
	return a + alen <= b || b + blen <= a;
}

/* Each member found whole inside its struct, none overlapping another. */
static bool veil_guest_mq_layout_ok(void)
{
	const struct veil_guest_btf_member *im = veil_guest_mq_info_members;
	const struct veil_guest_btf_member *nm = veil_guest_mq_node_members;
	const struct veil_guest_btf_struct *info = &veil_guest_mq_info_btf;
	const struct veil_guest_btf_struct *node = &veil_guest_mq_node_btf;
	u32 lock = im[VEIL_GUEST_MQ_LOCK].off, inode = im[VEIL_GUEST_MQ_INODE].off;
	u32 tree = im[VEIL_GUEST_MQ_TREE].off;

	return veil_guest_btf_fits(info, &im[VEIL_GUEST_MQ_LOCK], sizeof(spinlock_t)) &&
	       veil_guest_btf_fits(info, &im[VEIL_GUEST_MQ_INODE], sizeof(struct inode)) &&
	       veil_guest_btf_fits(info, &im[VEIL_GUEST_MQ_TREE], sizeof(struct rb_root)) &&
	       veil_guest_apart(lock, sizeof(spinlock_t), inode, sizeof(struct inode)) &&
	       veil_guest_apart(tree, sizeof(struct rb_root), inode, sizeof(struct inode)) &&
	       veil_guest_apart(tree, sizeof(struct rb_root), lock, sizeof(spinlock_t)) &&
	       veil_guest_btf_fits(node, &nm[VEIL_GUEST_MQ_RB], sizeof(struct rb_node)) &&
	       veil_guest_btf_fits(node, &nm[VEIL_GUEST_MQ_LIST], sizeof(struct list_head)) &&
	       veil_guest_apart(nm[VEIL_GUEST_MQ_RB].off, sizeof(struct rb_node),
				nm[VEIL_GUEST_MQ_LIST].off, sizeof(struct list_head));
}

/* Takes the offsets veil_guest_btf_find() found (@err: what it returned). */
void veil_guest_mqueue_init(int err)
{
	if (!IS_ENABLED(CONFIG_POSIX_MQUEUE))
		return;
	if (!err && !veil_guest_mq_layout_ok())
		err = -ENOENT;
	if (err) {
		pr_warn("POSIX message queue layout unknown (BTF: %d): messages excluded processes queued stay in checkpoints\n",
			err);
		return;
	}
	veil_guest_mq.lock = veil_guest_mq_info_members[VEIL_GUEST_MQ_LOCK].off;
	veil_guest_mq.inode = veil_guest_mq_info_members[VEIL_GUEST_MQ_INODE].off;
	veil_guest_mq.tree = veil_guest_mq_info_members[VEIL_GUEST_MQ_TREE].off;
	veil_guest_mq.rb = veil_guest_mq_node_members[VEIL_GUEST_MQ_RB].off;
	veil_guest_mq.list = veil_guest_mq_node_members[VEIL_GUEST_MQ_LIST].off;
	veil_guest_mq.known = true;
}

/* A queue (not the file system's directory) open in @file. */
bool veil_guest_is_mqueue(struct file *file)
{
	struct inode *inode = file_inode(file);

	return inode->i_sb->s_magic == VEIL_GUEST_MQUEUE_MAGIC && S_ISREG(inode->i_mode);
}

/*
 * Whether only the collected process can receive from the queue open in
 * @file: its descriptor is the only one of the file, and the queue's
 * dentry is referenced by that file and, while the queue has a name, by
 * the name.
 */
static bool veil_guest_mqueue_own(struct file *file, struct veil_guest_collect *c)
{
	struct inode *inode = file_inode(file);
	unsigned int named = inode->i_nlink ? 1 : 0;
	bool mine;

	if (!veil_guest_file_only_here(file, c) ||
	    d_count(file->f_path.dentry) != named + 1)
		return false;
	if (c->privileged)
		return true;
	/*
	 * Unprivileged: only a queue without a name.  Any process of the
	 * user could open a named one and receive a message after the
	 * collection, and so withdraw the set: any user could refuse every
	 * checkpoint of the VM.
	 */
	if (named || !c->task)
		return false;
	rcu_read_lock();
	mine = uid_eq(inode->i_uid, __task_cred(c->task)->fsuid);
	rcu_read_unlock();
	return mine;
}

/*
 * The text of @msg, in its header's allocation and its segments; a POSIX
 * and a System V message are built alike (ipc/msgutil.c).
 */
void veil_guest_msg_take_text(struct msg_msg *msg, struct veil_guest_collect *c)
{
	struct veil_guest_msgseg *seg;
	size_t left = msg->m_ts, len;

	len = min_t(size_t, left, VEIL_GUEST_MSG_TEXT);
	veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_KERNEL, msg + 1, len);
	left -= len;
	for (seg = (struct veil_guest_msgseg *)msg->next; seg && left; seg = seg->next) {
		len = min_t(size_t, left, VEIL_GUEST_SEG_TEXT);
		veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_KERNEL, seg + 1, len);
		left -= len;
	}
}

/* Every message of the queue @info, under its lock. */
static void veil_guest_mqueue_walk(void *info, struct veil_guest_collect *c)
{
	struct rb_root *tree = info + veil_guest_mq.tree;
	struct list_head *list;
	struct msg_msg *msg;
	struct rb_node *rb;

	for (rb = rb_first(tree); rb; rb = rb_next(rb)) {
		list = (void *)rb - veil_guest_mq.rb + veil_guest_mq.list;
		list_for_each_entry(msg, list, m_list) {
			/* A PREPARE publishes only what it can watch until THAW. */
			if (c->prepare && !veil_guest_msg_watch(msg)) {
				pr_warn_ratelimited("prepare: a message on a POSIX queue of an excluded process cannot be watched; it stays in the checkpoint\n");
				continue;
			}
			veil_guest_msg_take_text(msg, c);
		}
	}
}

void veil_guest_collect_mqueue(struct file *file, struct veil_guest_collect *c)
{
	void *info = (void *)file_inode(file) - veil_guest_mq.inode;
	spinlock_t *lock = info + veil_guest_mq.lock;

	if (!veil_guest_mq.known || !veil_guest_collect_once(c, file_inode(file)))
		return;
	if (!veil_guest_mqueue_own(file, c))
		return;
	if (!veil_guest_hold_file(&c->holds, file))
		return;
	c->cat[VEIL_GUEST_CAT_KERNEL].nosleep = true;
	spin_lock(lock);
	veil_guest_mqueue_walk(info, c);
	spin_unlock(lock);
	c->cat[VEIL_GUEST_CAT_KERNEL].nosleep = false;
}
