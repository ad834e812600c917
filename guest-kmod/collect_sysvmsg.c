// SPDX-License-Identifier: GPL-2.0
/*
 * System V message queues, and every message a PREPARE publishes.
 *
 * A message an excluded process sent with msgsnd() and nobody has received
 * yet lives in a kernel allocation (struct msg_msg, its text after the
 * header, longer texts continued in segments of a page).  No descriptor
 * leads to a System V queue and a message records no sender, so veil
 * notes the messages itself: a kprobe on security_msg_queue_msgsnd(),
 * which do_msgsnd() calls with the message built and the queue locked,
 * remembers each message a process sends while an exclusion made with
 * CAP_SYS_ADMIN names it.  Every collection takes the text of those still
 * queued, byte by byte as for a POSIX queue (collect_mqueue.c): they are
 * the process's data whoever receives them, as the buffers a UNIX socket
 * sent are.  A message sent before the first exclusion, or while only an
 * unprivileged exclusion named the sender, is not taken (see below).
 *
 * A queued message cannot be held: any process the queue's mode lets in
 * may receive it at any time, and free_msg() frees it at once.  A message
 * a PREPARE published that is freed before THAW or RESTORE leaves bytes in
 * the set that the allocator may have handed to something else; zeroing
 * them in a checkpoint would corrupt the restored guest.  So a second
 * kprobe, on free_msg(), watches every message a PREPARE published (the
 * POSIX ones too): when one is freed, the set is withdrawn
 * (veil_guest_control_withdraw()), which fails the PREPARE if it has not
 * been acknowledged yet and makes the host refuse SANITIZE after.  The
 * checkpoint is refused, not corrupted.  Because a receiver can do that
 * at will, only privileged exclusions have their messages taken: any user
 * could otherwise refuse every checkpoint of the VM.
 *
 * The messages are kept in a hash table under a spinlock that the free
 * probe takes before free_msg() frees anything, so a collection reads a
 * message's text and segments while it cannot go away.  At most
 * sysvmsg_max messages are remembered; a privileged sender's message
 * beyond that fails every PREPARE while something is excluded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/msg.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "veil_guest.h"

static unsigned int sysvmsg_max = 65536;
module_param(sysvmsg_max, uint, 0644);
MODULE_PARM_DESC(sysvmsg_max,
		 "Most System V messages excluded processes sent that are remembered until received; a privileged exclusion's message beyond it fails PREPARE (default 65536)");

struct veil_guest_msg {
	struct hlist_node node;
	struct msg_msg *msg;
	bool sent;		/* an excluded process sent it: every collection takes it */
	bool published;		/* a PREPARE published it, and THAW has not come yet */
};

static DEFINE_HASHTABLE(veil_guest_msgs, 10);
static DEFINE_SPINLOCK(veil_guest_msgs_lock);
static unsigned int veil_guest_msgs_nr;		/* under veil_guest_msgs_lock */
static atomic_t veil_guest_msgs_missed = ATOMIC_INIT(0);

static struct veil_guest_msg *veil_guest_msg_find(struct msg_msg *msg)
{
	struct veil_guest_msg *m;

	lockdep_assert_held(&veil_guest_msgs_lock);
	hash_for_each_possible(veil_guest_msgs, m, node, (unsigned long)msg)
		if (m->msg == msg)
			return m;
	return NULL;
}

/* The entry of @msg, made if need be; NULL when there is no room. */
static struct veil_guest_msg *veil_guest_msg_get(struct msg_msg *msg)
{
	struct veil_guest_msg *m = veil_guest_msg_find(msg);

	if (m)
		return m;
	if (veil_guest_msgs_nr >= READ_ONCE(sysvmsg_max))
		return NULL;
	m = kzalloc(sizeof(*m), GFP_NOWAIT | __GFP_NOWARN);
	if (!m)
		return NULL;
	m->msg = msg;
	hash_add(veil_guest_msgs, &m->node, (unsigned long)msg);
	WRITE_ONCE(veil_guest_msgs_nr, veil_guest_msgs_nr + 1);
	return m;
}

static void veil_guest_msg_del(struct veil_guest_msg *m)
{
	hash_del(&m->node);
	WRITE_ONCE(veil_guest_msgs_nr, veil_guest_msgs_nr - 1);
	kfree(m);
}

/* security_msg_queue_msgsnd(perm, msg, flags): a message about to be queued. */
static int veil_guest_msgsnd_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct msg_msg *msg = (struct msg_msg *)regs_get_kernel_argument(regs, 1);
	struct veil_guest_msg *m;
	bool privileged;

	if (!msg || (current->flags & PF_KTHREAD))
		return 0;
	rcu_read_lock();
	privileged = veil_guest_sel_privileged_rcu(current);
	rcu_read_unlock();
	if (!privileged)
		return 0;
	spin_lock(&veil_guest_msgs_lock);
	m = veil_guest_msg_get(msg);
	if (m)
		m->sent = true;
	spin_unlock(&veil_guest_msgs_lock);
	if (!m) {
		atomic_inc(&veil_guest_msgs_missed);
		pr_warn_ratelimited("a message an excluded process sent on a System V queue is not remembered (sysvmsg_max=%u): no checkpoint until nothing is excluded\n",
				    READ_ONCE(sysvmsg_max));
	}
	return 0;
}

/* free_msg(msg): a System V or POSIX message goes. */
static int veil_guest_msgfree_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct msg_msg *msg = (struct msg_msg *)regs_get_kernel_argument(regs, 0);
	struct veil_guest_msg *m;
	bool published = false;

	/* Entries are added under a queue's lock the freeing path took since. */
	if (!READ_ONCE(veil_guest_msgs_nr))
		return 0;
	spin_lock(&veil_guest_msgs_lock);
	m = veil_guest_msg_find(msg);
	if (m) {
		published = m->published;
		veil_guest_msg_del(m);
	}
	spin_unlock(&veil_guest_msgs_lock);
	if (published)
		veil_guest_control_withdraw("a message it published was received");
	return 0;
}

static struct kprobe veil_guest_msgsnd_kp = {
	.symbol_name = "security_msg_queue_msgsnd",
	.pre_handler = veil_guest_msgsnd_hit,
};

static struct kprobe veil_guest_msgfree_kp = {
	.symbol_name = "free_msg",
	.pre_handler = veil_guest_msgfree_hit,
};

VEIL_GUEST_PROBES(veil_guest_msgs_probes,
		  "System V messages are not protected, nor POSIX ones",
		  &veil_guest_msgfree_kp, &veil_guest_msgsnd_kp);

/* At an exclusion: from now on, messages are watched. */
void veil_guest_sysvmsg_arm(void)
{
	veil_guest_probes_arm(&veil_guest_msgs_probes);
}

/*
 * Keeps @msg, which the collection running now publishes, watched until
 * THAW.  False when it cannot be: the message must not be published.
 */
bool veil_guest_msg_watch(struct msg_msg *msg)
{
	struct veil_guest_msg *m;

	if (!READ_ONCE(veil_guest_msgs_probes.armed))
		return false;
	spin_lock(&veil_guest_msgs_lock);
	m = veil_guest_msg_get(msg);
	if (m)
		m->published = true;
	spin_unlock(&veil_guest_msgs_lock);
	return !!m;
}

/* THAW or RESTORE: nothing is published any more. */
void veil_guest_msgs_unpublish(void)
{
	struct veil_guest_msg *m;
	struct hlist_node *tmp;
	int bkt;

	spin_lock(&veil_guest_msgs_lock);
	hash_for_each_safe(veil_guest_msgs, bkt, tmp, m, node) {
		m->published = false;
		if (!m->sent)
			veil_guest_msg_del(m);
	}
	spin_unlock(&veil_guest_msgs_lock);
}

/* Nothing is excluded any more: no message of the past is either. */
void veil_guest_sysvmsg_forget(void)
{
	struct veil_guest_msg *m;
	struct hlist_node *tmp;
	int bkt;

	spin_lock(&veil_guest_msgs_lock);
	hash_for_each_safe(veil_guest_msgs, bkt, tmp, m, node) {
		m->sent = false;
		if (!m->published)
			veil_guest_msg_del(m);
	}
	spin_unlock(&veil_guest_msgs_lock);
	atomic_set(&veil_guest_msgs_missed, 0);
}

/*
 * Takes the text of every message excluded processes sent that is still
 * queued; a PREPARE's collection marks them published.  Returns 0, or
 * -ENOSPC when a privileged sender's message was not remembered.
 */
int veil_guest_collect_sysvmsg(struct veil_guest_collect *c)
{
	struct veil_guest_extset *set = &c->cat[VEIL_GUEST_CAT_KERNEL];
	struct veil_guest_msg *m;
	unsigned int nr;
	int bkt, err;

	if (atomic_read(&veil_guest_msgs_missed)) {
		pr_warn_ratelimited("prepare: messages excluded processes sent were not all remembered (sysvmsg_max): no checkpoint\n");
		return -ENOSPC;
	}
	nr = READ_ONCE(veil_guest_msgs_nr);
	if (!nr)
		return 0;
	/* A short message is one run; the rest grows without sleeping. */
	err = veil_guest_extset_reserve(set, nr + 16);
	if (err)
		return err;
	set->nosleep = true;
	spin_lock(&veil_guest_msgs_lock);
	hash_for_each(veil_guest_msgs, bkt, m, node) {
		if (!m->sent)
			continue;
		veil_guest_msg_take_text(m->msg, c);
		if (c->prepare)
			m->published = true;
	}
	spin_unlock(&veil_guest_msgs_lock);
	set->nosleep = false;
	return 0;
}

/* Module unload: the probes go first, then the entries. */
void veil_guest_sysvmsg_exit(void)
{
	struct veil_guest_msg *m;
	struct hlist_node *tmp;
	int bkt;

	veil_guest_probes_disarm(&veil_guest_msgs_probes);
	spin_lock(&veil_guest_msgs_lock);
	hash_for_each_safe(veil_guest_msgs, bkt, tmp, m, node)
		veil_guest_msg_del(m);
	spin_unlock(&veil_guest_msgs_lock);
}
