// SPDX-License-Identifier: GPL-2.0
/*
 * UNIX peer queues paused for a checkpoint.
 *
 * What an excluded process sent on a connected UNIX socket waits in its
 * peer's receive queue, and is zero in the checkpoint.  As for pipes
 * (pipe_pause.c), a reader outside the set could take those zeros in a
 * restored guest before the poller sees the restore.  So at PREPARE the
 * buffers the excluded socket sent are taken out of the peer's queue and
 * kept with the holds; THAW puts them back at the head of the queue, in
 * their order, and a restore drops them first thing.
 *
 * The peer's reader then finds nothing of them: it waits, or gets EAGAIN.
 * A peer whose sender closed its end (what an excluded process left) has
 * RCV_SHUTDOWN set, and perhaps ECONNRESET pending: its reader would take
 * the empty queue for the end and lose the data, so both are put aside
 * with the buffers and back with them.
 *
 * Buffers that pass descriptors (SCM_RIGHTS) are paused too.  The garbage
 * collector of in-flight sockets finds what is garbage by the edges each
 * such buffer adds when it is queued (kept until it is freed), and frees
 * a dead cycle by purging its sockets' queues: a paused buffer is not
 * there, so it is not freed, and the descriptors it holds keep their
 * files, hence what they reach, alive until it goes back (its peer then
 * freed meanwhile: it is dropped, as a restore drops it, which ends it as
 * any purge does).
 *
 * So is out-of-band data (MSG_OOB): the peer's pointer to its out-of-band
 * buffer is cleared while that buffer is away (the reader finds no urgent
 * data: EINVAL for MSG_OOB, no POLLPRI, not at the mark), and set again
 * when it goes back, with SIGURG sent again, unless urgent data sent
 * meanwhile superseded it (it is then in-band data, as the kernel treats
 * an older urgent byte).  A restore drops it with the others.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/af_unix.h>
#include <net/sock.h>

#include "veil_guest.h"

struct veil_guest_unix_pause {
	struct veil_guest_unix_pause *next;
	struct sock *peer;		/* held: the queue */
	struct sock *sk;		/* held: the sender */
	struct sk_buff_head skbs;
	struct sk_buff *oob;		/* the peer's out-of-band one, in skbs */
	int err;			/* the peer's pending error, put aside */
	bool shut;			/* RCV_SHUTDOWN put aside */
};

/* Queues paused now: the sweep of closed sockets keeps their notes. */
static atomic_t veil_guest_unix_paused_nr = ATOMIC_INIT(0);

bool veil_guest_unix_paused(void)
{
	return atomic_read(&veil_guest_unix_paused_nr);
}

/*
 * Moves the buffers @sk sent from @peer's receive queue to @into, in their
 * order.  When one of them is the peer's out-of-band buffer, the peer has
 * none any more, and that one is returned.  The caller holds the peer's
 * reader lock, so that no reader is in the middle of one of them (nor
 * reading the out-of-band one).  Also the purge after a restore (purge.c).
 */
struct sk_buff *veil_guest_unix_take(struct sock *peer, struct sock *sk,
				     struct sk_buff_head *into)
{
	struct sk_buff_head *q = &peer->sk_receive_queue;
	struct sk_buff *skb, *tmp, *oob = NULL;

	lockdep_assert_held(&unix_sk(peer)->iolock);
	spin_lock(&q->lock);
	skb_queue_walk_safe(q, skb, tmp) {
		if (skb->sk != sk)
			continue;
#if IS_ENABLED(CONFIG_AF_UNIX_OOB)
		if (skb == unix_sk(peer)->oob_skb) {
			WRITE_ONCE(unix_sk(peer)->oob_skb, NULL);
			oob = skb;
		}
#endif
		__skb_unlink(skb, q);
		__skb_queue_tail(into, skb);
	}
	spin_unlock(&q->lock);
	return oob;
}

/*
 * Pauses what @sk sent to @peer (both referenced by the caller) and keeps
 * it with @h.  Sleeps, on the peer's reader lock.
 */
int veil_guest_unix_pause(struct veil_guest_holds *h, struct sock *peer, struct sock *sk)
{
	struct veil_guest_unix_pause *pp;

	pp = kzalloc(sizeof(*pp), GFP_KERNEL);
	if (!pp)
		return -ENOMEM;
	__skb_queue_head_init(&pp->skbs);
	mutex_lock(&unix_sk(peer)->iolock);
	unix_state_lock(peer);
	pp->oob = veil_guest_unix_take(peer, sk, &pp->skbs);
	if (!skb_queue_empty(&pp->skbs) && peer->sk_type != SOCK_DGRAM &&
	    (peer->sk_shutdown & RCV_SHUTDOWN)) {
		pp->shut = true;
		WRITE_ONCE(peer->sk_shutdown, peer->sk_shutdown & ~RCV_SHUTDOWN);
		pp->err = READ_ONCE(peer->sk_err);
		WRITE_ONCE(peer->sk_err, 0);
	}
	unix_state_unlock(peer);
	mutex_unlock(&unix_sk(peer)->iolock);
	if (skb_queue_empty(&pp->skbs)) {
		kfree(pp);
		return 0;
	}
	sock_hold(peer);
	sock_hold(sk);
	pp->peer = peer;
	pp->sk = sk;
	pp->next = h->unix_paused;
	h->unix_paused = pp;
	atomic_inc(&veil_guest_unix_paused_nr);
	return 0;
}

/*
 * Undoes @pp: the buffers back at the head of the queue (dropped if @drop:
 * a restore, or the peer is closed), what was put aside back; counts the
 * dropped ones into @p if not NULL.
 */
static void veil_guest_unix_unpause(struct veil_guest_unix_pause *pp, bool drop,
				    struct veil_guest_purged *p)
{
	struct sock *peer = pp->peer;
	struct sk_buff_head *q = &peer->sk_receive_queue;

	mutex_lock(&unix_sk(peer)->iolock);
	unix_state_lock(peer);
	if (!drop && !sock_flag(peer, SOCK_DEAD)) {
		spin_lock(&q->lock);
		skb_queue_splice_init(&pp->skbs, q);
#if IS_ENABLED(CONFIG_AF_UNIX_OOB)
		if (pp->oob && !unix_sk(peer)->oob_skb)
			WRITE_ONCE(unix_sk(peer)->oob_skb, pp->oob);
		else
			pp->oob = NULL;
#endif
		spin_unlock(&q->lock);
		if (pp->oob)
			sk_send_sigurg(peer);
	}
	if (pp->shut) {
		WRITE_ONCE(peer->sk_shutdown, peer->sk_shutdown | RCV_SHUTDOWN);
		if (!READ_ONCE(peer->sk_err) && pp->err)
			WRITE_ONCE(peer->sk_err, pp->err);
	}
	unix_state_unlock(peer);
	mutex_unlock(&unix_sk(peer)->iolock);
	if (p)
		p->unix_bufs += skb_queue_len(&pp->skbs);
	__skb_queue_purge(&pp->skbs);
	peer->sk_data_ready(peer);
	if (pp->shut)
		peer->sk_state_change(peer);
	sock_put(pp->sk);
	sock_put(peer);
	atomic_dec(&veil_guest_unix_paused_nr);
}

/*
 * A dry run during a checkpoint: the buffers @h paused (all of them
 * published), which their peers' queues do not show meanwhile.  Under
 * veil_guest_ctl_lock, which every change of a pause is made under.
 */
void veil_guest_unix_paused_collect(struct veil_guest_holds *h, struct veil_guest_collect *c)
{
	struct veil_guest_unix_pause *pp;

	for (pp = h->unix_paused; pp; pp = pp->next)
		veil_guest_collect_skbs(&pp->skbs, c);
}

static void veil_guest_unix_unpause_all(struct veil_guest_holds *h, bool drop,
					struct veil_guest_purged *p)
{
	struct veil_guest_unix_pause *pp, *next;

	for (pp = h->unix_paused; pp; pp = next) {
		next = pp->next;
		veil_guest_unix_unpause(pp, drop, p);
		kfree(pp);
	}
	h->unix_paused = NULL;
}

/* THAW: @h's peers get their buffers back. */
void veil_guest_unix_resume(struct veil_guest_holds *h)
{
	veil_guest_unix_unpause_all(h, false, NULL);
}

/* RESTORE: @h's paused buffers, zeros now, are dropped; counted into @p. */
void veil_guest_unix_drop(struct veil_guest_holds *h, struct veil_guest_purged *p)
{
	veil_guest_unix_unpause_all(h, true, p);
}
