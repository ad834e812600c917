// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets: the data of every buffer queued on the socket, received and not
 * yet read, or written and not yet sent or acknowledged (TCP keeps sent
 * data in its retransmit queue until acked, and out-of-order data aside).
 * For a connected UNIX socket what it wrote sits in its peer's receive
 * queue: the buffers it sent there are taken too, and only those (the
 * peer of a datagram socket may be a server that everyone writes to, as
 * /dev/log is).  A listening socket's connections that are not accepted
 * yet (UNIX or TCP) are sockets of their own, each with what its client
 * sent already queued on it: taken as the process's received data.  A
 * UDP socket moves what a read found queued to a second queue of its own
 * (reader_queue), taken too.
 *
 * The linear part of a buffer lives in a slab object or a
 * page fragment next to other buffers, and fragments share pages too, so
 * both are taken byte by byte: the buffer's whole head (headroom
 * included, as headers and payload are moved around in it) and the
 * fragments' data.  Every byte published is held (hold.c) until THAW, so
 * that a buffer freed meanwhile (acknowledged, read by a peer) does not
 * hand its memory to someone else while the host is about to zero it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/af_unix.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "veil_guest.h"

/*
 * Holds @skb's data (hold.c), then takes the bytes held: its head and its
 * fragments' data, then those of its frag list.  @slab_head: a head from
 * the slab may be held by a clone of the buffer (not in TCP's send
 * queues: their heads carry only headers, the data is in fragments, and
 * TCP copies a cloned buffer to send it).
 */
static void veil_guest_take_skb(struct sk_buff *skb, bool slab_head,
				struct veil_guest_collect *c, int depth)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	struct sk_buff *frag;
	unsigned int i;

	if (veil_guest_hold_skb(&c->holds, skb, slab_head))
		veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_SOCKET, skb->head,
					    skb_end_offset(skb));
	for (i = 0; i < shinfo->nr_frags; i++) {
		const skb_frag_t *f = &shinfo->frags[i];
		struct page *page = skb_frag_page(f);

		if (page && skb_frag_size(f))
			veil_guest_add_page_bytes(c, VEIL_GUEST_CAT_SOCKET, page,
						  skb_frag_off(f), skb_frag_size(f));
	}
	if (depth)
		return;
	skb_walk_frags(skb, frag)
		veil_guest_take_skb(frag, slab_head, c, depth + 1);
}

/*
 * Runs and holds for about @nr buffers (a head and a fragment or two
 * each), made before a queue's lock is taken, where sleeping is allowed;
 * what more the walk needs under the lock is allocated without sleeping.
 */
static void veil_guest_socket_reserve(struct veil_guest_collect *c, size_t nr)
{
	veil_guest_extset_reserve(&c->cat[VEIL_GUEST_CAT_SOCKET], 4 * nr + 4);
	veil_guest_holds_reserve(&c->holds, 2 * nr + 2);
}

/* Appending without sleeping (true) and back to what it was before. */
static bool veil_guest_socket_nosleep(struct veil_guest_collect *c, bool nosleep)
{
	bool was = c->holds.nosleep;

	c->holds.nosleep = nosleep;
	c->cat[VEIL_GUEST_CAT_SOCKET].nosleep = nosleep;
	return was;
}

/* The buffers of q; only those @from sent, if it is not NULL. */
unsigned int veil_guest_collect_queue(struct sk_buff_head *q, const struct sock *from,
				      bool slab_head, struct veil_guest_collect *c)
{
	unsigned int taken = 0;
	struct sk_buff *skb;
	unsigned long flags;
	bool was;

	veil_guest_socket_reserve(c, skb_queue_len_lockless(q));
	was = veil_guest_socket_nosleep(c, true);
	spin_lock_irqsave(&q->lock, flags);
	skb_queue_walk(q, skb) {
		if (!from || skb->sk == from) {
			veil_guest_take_skb(skb, slab_head, c, 0);
			taken++;
		}
	}
	spin_unlock_irqrestore(&q->lock, flags);
	veil_guest_socket_nosleep(c, was);
	return taken;
}

/*
 * Buffers a pause keeps out of any queue (unix_pause.c), which nothing
 * else reaches meanwhile; for a dry run.  May sleep.
 */
void veil_guest_collect_skbs(struct sk_buff_head *list, struct veil_guest_collect *c)
{
	struct sk_buff *skb;

	skb_queue_walk(list, skb)
		veil_guest_take_skb(skb, true, c, 0);
}

/* Under the socket's lock, which sleeps: the runs may grow as usual. */
static void veil_guest_collect_rbtree(struct rb_root *root, bool slab_head,
				      struct veil_guest_collect *c)
{
	struct sk_buff *skb;

	skb_rbtree_walk(skb, root)
		veil_guest_take_skb(skb, slab_head, c, 0);
}

/*
 * PREPARE: what @sk sent to @peer, published (when some of it is
 * queued), is paused until THAW (unix_pause.c), out of reach of readers
 * outside the set; a pause that cannot be made fails the collection.
 */
static void veil_guest_unix_pause_for(struct veil_guest_collect *c, struct sock *peer,
				      struct sock *sk)
{
	int err;

	if (!c->prepare || c->holds.error)
		return;
	err = veil_guest_unix_pause(&c->holds, peer, sk);
	if (err)
		c->holds.error = err;
}

/*
 * The connections a listening socket has not accepted yet: sockets of
 * their own, each with what its client sent already queued on it.  Each
 * is referenced under the listener's queue lock, its data taken after.
 * The queue is bounded by the listen backlog, but clients can still come
 * while the array is made: the walk is tried again with more room, and
 * only a queue that keeps growing fails the collection.
 *
 * A UNIX listener keeps them as buffers on its receive queue, each
 * naming its socket; a TCP listener as requests on its accept queue.
 * Both fill @socks (room for @cap, each held) and say whether there were
 * more.
 */
static bool veil_guest_unix_unaccepted(struct sock *sk, struct sock **socks,
				       unsigned int cap, unsigned int *nr)
{
	struct sk_buff_head *q = &sk->sk_receive_queue;
	struct sk_buff *skb;
	unsigned long flags;
	bool more = false;

	spin_lock_irqsave(&q->lock, flags);
	skb_queue_walk(q, skb) {
		if (!skb->sk)
			continue;
		if (*nr == cap) {
			more = true;
			break;
		}
		sock_hold(skb->sk);
		socks[(*nr)++] = skb->sk;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return more;
}

static bool veil_guest_tcp_unaccepted(struct sock *sk, struct sock **socks,
				      unsigned int cap, unsigned int *nr)
{
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;
	struct request_sock *req;
	bool more = false;

	spin_lock_bh(&queue->rskq_lock);
	for (req = queue->rskq_accept_head; req; req = req->dl_next) {
		if (!req->sk)
			continue;
		if (*nr == cap) {
			more = true;
			break;
		}
		sock_hold(req->sk);
		socks[(*nr)++] = req->sk;
	}
	spin_unlock_bh(&queue->rskq_lock);
	return more;
}

static void veil_guest_collect_unaccepted(struct sock *sk, bool tcp,
					  struct veil_guest_collect *c)
{
	unsigned int nr, cap, i, tries;
	struct sock **socks, *child;
	bool more;

	cap = max(READ_ONCE(sk->sk_ack_backlog), READ_ONCE(sk->sk_max_ack_backlog)) + 8;
	for (tries = 0; tries < 4; tries++, cap *= 2) {
		socks = kvmalloc_array(cap, sizeof(*socks), GFP_KERNEL);
		if (!socks) {
			c->cat[VEIL_GUEST_CAT_SOCKET].error = -ENOMEM;
			return;
		}
		nr = 0;
		if (tcp)
			more = veil_guest_tcp_unaccepted(sk, socks, cap, &nr);
		else
			more = veil_guest_unix_unaccepted(sk, socks, cap, &nr);
		if (!more)
			break;
		for (i = 0; i < nr; i++)
			sock_put(socks[i]);
		kvfree(socks);
	}
	if (more) {
		c->cat[VEIL_GUEST_CAT_SOCKET].error = -EAGAIN;
		return;
	}
	for (i = 0; i < nr; i++) {
		child = socks[i];
		if (tcp) {
			/* as accept() will: the child's own lock */
			lock_sock(child);
			veil_guest_collect_queue(&child->sk_receive_queue, NULL, true, c);
			veil_guest_collect_rbtree(&tcp_sk(child)->out_of_order_queue, true, c);
			release_sock(child);
		} else {
			veil_guest_collect_queue(&child->sk_receive_queue, NULL, true, c);
		}
		sock_put(child);
	}
	kvfree(socks);
}

/* An Internet TCP socket (not MPTCP's, not a raw one). */
bool veil_guest_sock_is_tcp(const struct sock *sk)
{
	return sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM &&
	       (sk->sk_family == AF_INET || sk->sk_family == AF_INET6);
}

/* An Internet UDP or UDP-Lite socket. */
static bool veil_guest_sock_is_udp(const struct sock *sk)
{
	return (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_type == SOCK_DGRAM &&
	       (sk->sk_protocol == IPPROTO_UDP || sk->sk_protocol == IPPROTO_UDPLITE);
}

void veil_guest_collect_socket(struct file *file, struct veil_guest_collect *c)
{
	struct socket *sock = sock_from_file(file);
	struct sock *sk, *peer;
	bool tcp;

	if (!sock || !sock->sk || !veil_guest_collect_once(c, sock->sk))
		return;
	sk = sock->sk;
	tcp = veil_guest_sock_is_tcp(sk);
	lock_sock(sk);
	veil_guest_collect_queue(&sk->sk_receive_queue, NULL, true, c);
	veil_guest_collect_queue(&sk->sk_write_queue, NULL, !tcp, c);
	veil_guest_collect_queue(&sk->sk_error_queue, NULL, true, c);
	if (tcp) {
		veil_guest_collect_rbtree(&sk->tcp_rtx_queue, false, c);
		veil_guest_collect_rbtree(&tcp_sk(sk)->out_of_order_queue, true, c);
		veil_guest_collect_tls(sk, file, c);
	}
	if (veil_guest_sock_is_udp(sk))
		veil_guest_collect_queue(&udp_sk(sk)->reader_queue, NULL, true, c);
	release_sock(sk);

	if (tcp && READ_ONCE(sk->sk_state) == TCP_LISTEN)
		veil_guest_collect_unaccepted(sk, true, c);
	if (sk->sk_family != AF_UNIX)
		return;
	if (READ_ONCE(sk->sk_state) == TCP_LISTEN) {
		veil_guest_collect_unaccepted(sk, false, c);
		return;
	}
	peer = unix_peer_get(sk);
	if (peer) {
		if (veil_guest_collect_queue(&peer->sk_receive_queue, sk, true, c))
			veil_guest_unix_pause_for(c, peer, sk);
		sock_put(peer);
	}
}

/*
 * What an excluded process left in a socket it closed (or that its exit
 * closed), with no descriptor of an excluded process leading there any
 * more:
 *  - a connected UNIX socket: what it sent and its peer has not read
 *    stays in the peer's receive queue, each buffer still naming the
 *    closed socket as its sender.  A kprobe on unix_release(), in the
 *    closer's context before the socket lets go of its peer, notes the
 *    pair (both held) when some of its buffers are queued there, and
 *    holds a clone of each of them (which keeps the data allocated).
 *  - a TCP connection: the socket lives on, orphaned, until what it was
 *    sent has been sent and acknowledged (or the connection fails), in
 *    its write and retransmit queues.  A kprobe on tcp_close(), at its
 *    start, notes the socket (held) when either queue holds data; each
 *    collection takes a reference on the pages of its buffers (TCP frees
 *    its buffers whatever references them, not their pages).
 * Each collection takes what is still queued, as for an open socket.  A
 * buffer or page of which ours has become the last reference (read,
 * acknowledged) is zeroed and let go of, as a pipe's page is, so the data
 * does not go back to the allocator; a socket is forgotten once nothing
 * is left in it.  A restore takes what is left back from the peer, or
 * aborts the connection (purge.c).  At most socket_left_max sockets are
 * noted, half of them at most for unprivileged exclusions; a privileged
 * exclusion's socket beyond it fails every PREPARE while something is
 * excluded.  A work item sweeps the list every second while it is not
 * empty, so that sockets closed between checkpoints do not pile up until
 * the next collection, nor what was read from them stay unzeroed; pages
 * of a forgotten socket that others still reference (a buffer read on
 * another CPU is freed later; a thread's page fragment) are kept, once
 * each, until ours is the last reference, and published meanwhile.
 */
static unsigned int socket_left_max = 4096;
module_param(socket_left_max, uint, 0644);
MODULE_PARM_DESC(socket_left_max,
		 "Most UNIX and TCP sockets excluded processes closed with data left in them that are noted until it is read or acknowledged, half of them at most for unprivileged exclusions; a privileged exclusion's socket beyond it fails PREPARE (default 4096)");

/* The most buffers referenced of one closed UNIX socket (the rest are not zeroed). */
#define VEIL_GUEST_LEFT_SKBS	1024

struct veil_guest_sock_left {
	struct list_head node;
	struct sock *sk;	/* the closed socket (UNIX: its buffers name it) */
	struct sock *peer;	/* UNIX: where they wait; TCP: NULL */
	struct sk_buff **skbs;	/* UNIX: the buffers it left there */
	unsigned int nr_skbs;
	struct xarray folios;	/* TCP: the pages of its buffers, by pfn */
	bool privileged;
};

/* The probes add under the spinlock; the rest runs under the mutex too. */
static LIST_HEAD(veil_guest_sock_lefts);
static DEFINE_SPINLOCK(veil_guest_sock_lefts_lock);
static DEFINE_MUTEX(veil_guest_sock_lefts_mutex);
static unsigned int veil_guest_sock_lefts_nr[2];
static bool veil_guest_sock_lefts_missed;

/*
 * Pages of forgotten TCP sockets that others still referenced (a buffer
 * read on another CPU is freed later, from that CPU's deferred list; a
 * thread's page fragment): kept once each, by pfn, until ours is the last
 * reference.  Under the mutex.
 */
static DEFINE_XARRAY(veil_guest_sock_pages);

static void veil_guest_sock_left_sweep(struct work_struct *work);
static DECLARE_DELAYED_WORK(veil_guest_sock_left_sweep_work, veil_guest_sock_left_sweep);

/* How many buffers @sk sent are in @peer's receive queue. */
static unsigned int veil_guest_unix_sent(struct sock *peer, struct sock *sk)
{
	struct sk_buff_head *q = &peer->sk_receive_queue;
	unsigned int sent = 0;
	struct sk_buff *skb;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	skb_queue_walk(q, skb)
		sent += skb->sk == sk;
	spin_unlock_irqrestore(&q->lock, flags);
	return sent;
}

/* A clone of each of the @nr buffers @l->sk left at its peer; nothing sleeps. */
static void veil_guest_unix_left_hold(struct veil_guest_sock_left *l, unsigned int nr)
{
	struct sk_buff_head *q = &l->peer->sk_receive_queue;
	struct sk_buff *skb;
	unsigned long flags;

	nr = min(nr, VEIL_GUEST_LEFT_SKBS);
	l->skbs = kmalloc_array(nr, sizeof(*l->skbs), GFP_ATOMIC | __GFP_NOWARN);
	if (!l->skbs)
		return;
	spin_lock_irqsave(&q->lock, flags);
	skb_queue_walk(q, skb) {
		if (skb->sk == l->sk && l->nr_skbs < nr) {
			l->skbs[l->nr_skbs] = veil_guest_skb_hold(skb);
			if (l->skbs[l->nr_skbs])
				l->nr_skbs++;
		}
	}
	spin_unlock_irqrestore(&q->lock, flags);
}

static bool veil_guest_sock_left_room(bool privileged)
{
	unsigned int max = READ_ONCE(socket_left_max);
	unsigned int *nr = veil_guest_sock_lefts_nr;

	return nr[0] + nr[1] < max && (privileged || nr[0] < max / 2);
}

/*
 * Notes @sk (and @peer, whose reference it takes over, with the @sent
 * buffers it holds from @sk) closed by an excluded process; in a kprobe
 * handler, so nothing sleeps.
 */
static void veil_guest_sock_left_note(struct sock *sk, struct sock *peer,
				      unsigned int sent, bool privileged)
{
	struct veil_guest_sock_left *l;

	l = kzalloc(sizeof(*l), GFP_ATOMIC | __GFP_NOWARN);
	spin_lock(&veil_guest_sock_lefts_lock);
	if (!l || !veil_guest_sock_left_room(privileged)) {
		if (privileged)
			WRITE_ONCE(veil_guest_sock_lefts_missed, true);
		spin_unlock(&veil_guest_sock_lefts_lock);
		kfree(l);
		if (peer)
			sock_put(peer);
		pr_warn_ratelimited("an excluded process closed a socket with data left in it, which is not noted (socket_left_max=%u)%s\n",
				    READ_ONCE(socket_left_max),
				    privileged ? ": no checkpoint until nothing is excluded" : "");
		return;
	}
	sock_hold(sk);
	l->sk = sk;
	l->peer = peer;
	l->privileged = privileged;
	xa_init(&l->folios);
	veil_guest_sock_lefts_nr[privileged]++;
	if (peer)
		veil_guest_unix_left_hold(l, sent);
	list_add_tail(&l->node, &veil_guest_sock_lefts);
	spin_unlock(&veil_guest_sock_lefts_lock);
	/* A no-op while one is pending already. */
	schedule_delayed_work(&veil_guest_sock_left_sweep_work, HZ);
}

/*
 * Whether what the closing socket @sock left is the closer's exclusion's
 * to take: its file, being released, is still there to say whose it is
 * (veil_guest_channel_counts()).  Another user's socket, handed down or
 * passed to the excluded process, is not, even if it closes it last.
 */
static bool veil_guest_sock_left_counts(struct socket *sock, bool privileged)
{
	return privileged ||
	       (sock && sock->file &&
		veil_guest_channel_counts(sock->file, privileged, current_fsuid()));
}

/*
 * What an excluded process was sent and never read, when it closes the
 * socket: the release frees it unread, data and all, back to the
 * allocator.  It is zeroed first, in the closer's context (zero_freed=1,
 * as for the memory excluded processes free).  Nobody can
 * read it any more (the socket's last descriptor is gone), so zeroing
 * changes nothing anyone sees, whoever's socket it was.
 *  - UNIX: at unix_release(), under the receive queue's lock, with the
 *    connections a listening socket has not accepted yet.  A peer may
 *    still queue until the release marks the socket shut down; what it
 *    queues in between is freed as it is.
 *  - TCP: at __tcp_close(), which tcp_close() calls with the socket
 *    locked, so that its receive and out-of-order queues stay as they
 *    are; a listener's connections not accepted yet at
 *    inet_child_forget(), each under its own lock.  What waits in the
 *    socket's backlog then is not zeroed.
 *  - UDP: at sk_common_release(), which udp_lib_close() calls, under
 *    each queue's lock.
 */
static void veil_guest_zero_unread_queue(struct sk_buff_head *q, int subclass)
{
	struct sk_buff *skb;
	unsigned long flags;

	spin_lock_irqsave_nested(&q->lock, flags, subclass);
	skb_queue_walk(q, skb)
		veil_guest_skb_zero_unread(skb, 0);
	spin_unlock_irqrestore(&q->lock, flags);
}

static void veil_guest_unix_zero_unread(struct sock *sk)
{
	struct sk_buff_head *q = &sk->sk_receive_queue;
	struct sk_buff *skb;
	unsigned long flags;

	if (READ_ONCE(sk->sk_state) != TCP_LISTEN) {
		veil_guest_zero_unread_queue(q, 0);
		return;
	}
	/* The connections not accepted: each socket's, which it keeps. */
	spin_lock_irqsave(&q->lock, flags);
	skb_queue_walk(q, skb) {
		if (skb->sk)
			veil_guest_zero_unread_queue(&skb->sk->sk_receive_queue,
						     SINGLE_DEPTH_NESTING);
	}
	spin_unlock_irqrestore(&q->lock, flags);
}

/* sk_common_release(sk): udp_lib_close(), a UDP socket's last descriptor gone. */
static int veil_guest_udp_unread_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	bool privileged;

	if (!sk || !veil_guest_zero_freed_on() || !veil_guest_sock_is_udp(sk) ||
	    !veil_guest_sel_current(&privileged))
		return 0;
	veil_guest_zero_unread_queue(&sk->sk_receive_queue, 0);
	veil_guest_zero_unread_queue(&udp_sk(sk)->reader_queue, 0);
	return 0;
}

VEIL_GUEST_PROBE(veil_guest_udp_unread, "sk_common_release", veil_guest_udp_unread_hit,
		 "what an excluded process was sent on UDP and never read is freed unzeroed when it closes the socket");

/* A TCP socket's receive and out-of-order queues; the caller locks it. */
static void veil_guest_tcp_zero_unread(struct sock *sk)
{
	struct sk_buff *skb;

	skb_queue_walk(&sk->sk_receive_queue, skb)
		veil_guest_skb_zero_unread(skb, 0);
	skb_rbtree_walk(skb, &tcp_sk(sk)->out_of_order_queue)
		veil_guest_skb_zero_unread(skb, 0);
}

/* __tcp_close(sk, timeout): tcp_close() with the socket locked. */
static int veil_guest_tcp_unread_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	bool privileged;

	if (!sk || !veil_guest_zero_freed_on() || !veil_guest_sock_is_tcp(sk) ||
	    !veil_guest_sel_current(&privileged))
		return 0;
	veil_guest_tcp_zero_unread(sk);
	return 0;
}

/*
 * inet_child_forget(listener, req, child): a connection the listener had
 * not accepted, which the listener's close (inet_csk_listen_stop(), in
 * the closer's context) disconnects, purging what it received.  The
 * child is locked (bh_lock_sock()) and reachable by nobody else.  Also
 * called from softirq when a child is completed while its listener goes:
 * not the closer's context, left alone.
 */
static int veil_guest_tcp_forget_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *child = (struct sock *)regs_get_kernel_argument(regs, 2);
	bool privileged;

	if (!child || !in_task() || !veil_guest_zero_freed_on() ||
	    !veil_guest_sock_is_tcp(child) || !veil_guest_sel_current(&privileged))
		return 0;
	veil_guest_tcp_zero_unread(child);
	return 0;
}

static struct kprobe veil_guest_tcp_unread_kp = {
	.symbol_name = "__tcp_close", .pre_handler = veil_guest_tcp_unread_hit,
};

static struct kprobe veil_guest_tcp_forget_kp = {
	.symbol_name = "inet_child_forget", .pre_handler = veil_guest_tcp_forget_hit,
};

VEIL_GUEST_PROBES(veil_guest_tcp_unread,
		  "what an excluded process was sent on TCP and never read (or on connections it never accepted) is freed unzeroed when it closes the socket",
		  &veil_guest_tcp_unread_kp, &veil_guest_tcp_forget_kp);

/*
 * What an excluded process reads from a socket: once read, the buffer is
 * freed with the data in it.  With zero_freed it is zeroed, or its pages
 * kept until veil's is the last reference (veil_guest_skb_zero_read()),
 * in the reader's context:
 *  - TCP: skb_attempt_defer_free(skb), to which recvmsg, splice and
 *    zerocopy receive hand a buffer they took all data of, its socket
 *    let go of already (tcp_eat_recv_skb(); a buffer with a destructor
 *    other than sock_rfree is freed there directly, and not seen).
 *  - UDP: skb_consume_udp(sk, skb, len), which recvmsg calls after the
 *    copy; a peek holds a reference of its own, and is left alone.
 *  - UNIX, stream and datagram: unix_wfree(skb), every UNIX buffer's
 *    destructor (a stream's reader frees what it took all of with
 *    consume_skb(), which the whole network stack calls; the destructor
 *    is UNIX's alone).  It runs as the buffer goes, before its data:
 *    in the reader's context when a reader took it, in the closer's
 *    when a queue is purged, in the sender's when a send fails.
 *  - datagrams of other families (raw, ICMP, netlink):
 *    skb_free_datagram(sk, skb), the same as UDP (a packet socket's are
 *    clones, and left alone).
 * A reader in softirq (a BPF sockmap's) is not the process's context:
 * left alone.  Cheap tests first: this runs on every buffer read.
 */
static void veil_guest_sock_read(struct sk_buff *skb)
{
	bool privileged;

	if (!skb || !in_task() || !veil_guest_zero_freed_on() ||
	    !veil_guest_sel_current(&privileged))
		return;
	veil_guest_skb_zero_read(skb, 0);
}

/* skb_attempt_defer_free(skb) and unix_wfree(skb) */
static int veil_guest_skb_read_hit(struct kprobe *kp, struct pt_regs *regs)
{
	veil_guest_sock_read((struct sk_buff *)regs_get_kernel_argument(regs, 0));
	return 0;
}

/* skb_consume_udp(sk, skb, len) and skb_free_datagram(sk, skb) */
static int veil_guest_dgram_read_hit(struct kprobe *kp, struct pt_regs *regs)
{
	const struct sock *sk = (const struct sock *)regs_get_kernel_argument(regs, 0);

	/* UNIX buffers are seen at their destructor */
	if (!sk || sk->sk_family == AF_UNIX)
		return 0;
	veil_guest_sock_read((struct sk_buff *)regs_get_kernel_argument(regs, 1));
	return 0;
}

VEIL_GUEST_PROBE(veil_guest_tcp_read, "skb_attempt_defer_free", veil_guest_skb_read_hit,
		 "what an excluded process reads from TCP is freed unzeroed");
VEIL_GUEST_PROBE(veil_guest_udp_read, "skb_consume_udp", veil_guest_dgram_read_hit,
		 "what an excluded process reads from UDP is freed unzeroed");
VEIL_GUEST_PROBE(veil_guest_unix_read, "unix_wfree", veil_guest_skb_read_hit,
		 "what an excluded process reads from UNIX sockets is freed unzeroed");
VEIL_GUEST_PROBE(veil_guest_dgram_read, "skb_free_datagram", veil_guest_dgram_read_hit,
		 "what an excluded process reads from raw, ICMP and netlink sockets is freed unzeroed");

/* unix_release(sock): a UNIX socket's descriptor goes, in the closer's context. */
static int veil_guest_unix_release_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct socket *sock = (struct socket *)regs_get_kernel_argument(regs, 0);
	struct sock *sk = sock ? sock->sk : NULL;
	unsigned int sent;
	struct sock *peer;
	bool privileged;

	if (!sk || !veil_guest_sel_current(&privileged))
		return 0;
	if (veil_guest_zero_freed_on())
		veil_guest_unix_zero_unread(sk);
	if (!veil_guest_sock_left_counts(sock, privileged))
		return 0;
	peer = unix_peer_get(sk);
	if (!peer)
		return 0;
	sent = veil_guest_unix_sent(peer, sk);
	if (!sent) {
		sock_put(peer);
		return 0;
	}
	veil_guest_sock_left_note(sk, peer, sent, privileged);
	return 0;
}

/* Whether the TCP socket @sk holds data not sent or not acknowledged yet. */
static bool veil_guest_tcp_unsent(struct sock *sk)
{
	return !tcp_write_queue_empty(sk) || !tcp_rtx_queue_empty(sk);
}

/* tcp_close(sk, timeout): the socket's last descriptor goes, in the closer's context. */
static int veil_guest_tcp_close_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	bool privileged;

	if (!sk || !veil_guest_sock_is_tcp(sk) || !veil_guest_tcp_unsent(sk) ||
	    !veil_guest_sel_current(&privileged) ||
	    !veil_guest_sock_left_counts(sk->sk_socket, privileged))
		return 0;
	veil_guest_sock_left_note(sk, NULL, 0, privileged);
	return 0;
}

static struct kprobe veil_guest_unix_release_kp = {
	.symbol_name = "unix_release", .pre_handler = veil_guest_unix_release_hit,
};

static struct kprobe veil_guest_tcp_close_kp = {
	.symbol_name = "tcp_close", .pre_handler = veil_guest_tcp_close_hit,
};

VEIL_GUEST_PROBES(veil_guest_sock_left_probes,
		  "what an excluded process left in a UNIX or TCP socket it closed is not protected",
		  &veil_guest_unix_release_kp, &veil_guest_tcp_close_kp);

void veil_guest_sock_left_arm(void)
{
	veil_guest_probes_arm(&veil_guest_sock_left_probes);
	veil_guest_probes_arm(&veil_guest_tcp_unread);
	veil_guest_probes_arm(&veil_guest_udp_unread);
	veil_guest_probes_arm(&veil_guest_tcp_read);
	veil_guest_probes_arm(&veil_guest_udp_read);
	veil_guest_probes_arm(&veil_guest_unix_read);
	veil_guest_probes_arm(&veil_guest_dgram_read);
}

/* Zeroes and lets go of the kept pages that are veil's alone now. */
static void veil_guest_sock_pages_sweep(bool all)
{
	lockdep_assert_held(&veil_guest_sock_lefts_mutex);
	veil_guest_folios_sweep(&veil_guest_sock_pages, all, veil_guest_frag_keeps);
}

/*
 * Whether the sockets' bookkeeping holds a reference on @folio: a page
 * fragment an excluded thread left may be in a closed socket's buffers
 * too (zero_frag.c).  Not from an interrupt.
 */
bool veil_guest_sock_keeps(struct folio *folio)
{
	unsigned long pfn = folio_pfn(folio);
	struct veil_guest_sock_left *l;
	bool kept = xa_load(&veil_guest_sock_pages, pfn);

	spin_lock(&veil_guest_sock_lefts_lock);
	list_for_each_entry(l, &veil_guest_sock_lefts, node) {
		if (kept)
			break;
		kept = xa_load(&l->folios, pfn);
	}
	spin_unlock(&veil_guest_sock_lefts_lock);
	return kept;
}

/* Keeps our reference on @folio until it is the last one. */
static void veil_guest_sock_pages_keep(struct folio *folio)
{
	if (folio_ref_count(folio) == 1 ||
	    xa_load(&veil_guest_sock_pages, folio_pfn(folio)) ||
	    xa_err(xa_store(&veil_guest_sock_pages, folio_pfn(folio), folio, GFP_KERNEL)))
		veil_guest_folio_put_zeroed(folio);
}

/*
 * The buffers and pages of which ours is the last reference now: zeroed
 * and let go of.  @all (the socket is forgotten): every buffer, zeroed if
 * ours is the last; a page others still reference is kept until it is.
 */
static void veil_guest_sock_left_release(struct veil_guest_sock_left *l, bool all)
{
	struct folio *folio;
	unsigned long pfn;
	unsigned int i, kept = 0;

	for (i = 0; i < l->nr_skbs; i++) {
		struct sk_buff *skb = l->skbs[i];

		if (all || !skb_cloned(skb))
			veil_guest_skb_put_zeroed(skb);
		else
			l->skbs[kept++] = skb;
	}
	l->nr_skbs = kept;
	xa_for_each(&l->folios, pfn, folio) {
		/* One more of veil's if the fragment bookkeeping holds it too. */
		int refs = 1 + veil_guest_frag_keeps(folio);

		if (all || folio_ref_count(folio) <= refs) {
			xa_erase(&l->folios, pfn);
			if (all)
				veil_guest_sock_pages_keep(folio);
			else
				veil_guest_folio_put_zeroed_refs(folio, refs);
		}
	}
}

static void veil_guest_sock_left_del(struct veil_guest_sock_left *l)
{
	spin_lock(&veil_guest_sock_lefts_lock);
	list_del(&l->node);
	veil_guest_sock_lefts_nr[l->privileged]--;
	spin_unlock(&veil_guest_sock_lefts_lock);
	veil_guest_sock_left_release(l, true);
	kfree(l->skbs);
	xa_destroy(&l->folios);
	if (l->peer)
		sock_put(l->peer);
	sock_put(l->sk);
	kfree(l);
}

/*
 * The next socket after @prev (NULL: the first), under the mutex: the
 * probes only add at the tail, and only the mutex's holders delete.
 */
static struct veil_guest_sock_left *veil_guest_sock_left_next(struct veil_guest_sock_left *prev)
{
	struct list_head *pos = prev ? &prev->node : &veil_guest_sock_lefts;
	struct veil_guest_sock_left *l = NULL;

	lockdep_assert_held(&veil_guest_sock_lefts_mutex);
	spin_lock(&veil_guest_sock_lefts_lock);
	if (pos->next != &veil_guest_sock_lefts)
		l = list_entry(pos->next, struct veil_guest_sock_left, node);
	spin_unlock(&veil_guest_sock_lefts_lock);
	return l;
}

/* A reference on each page of @skb's fragments that is the socket's own. */
static void veil_guest_tcp_left_hold(struct veil_guest_sock_left *l, struct sk_buff *skb)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	unsigned int i;

	for (i = 0; i < shinfo->nr_frags; i++) {
		struct page *page = skb_frag_page(&shinfo->frags[i]);
		struct folio *folio;

		if (!page)
			continue;
		folio = page_folio(page);
		/* not a file's page, nor a process's (sendfile, zerocopy) */
		if (folio_test_anon(folio) || folio->mapping || folio_test_slab(folio) ||
		    folio_mapped(folio) || xa_load(&l->folios, folio_pfn(folio)))
			continue;
		folio_get(folio);
		if (xa_err(xa_store(&l->folios, folio_pfn(folio), folio, GFP_KERNEL)))
			folio_put(folio);
	}
}

/*
 * What an orphaned TCP socket still holds of its data, when @c is not
 * NULL, and a reference on its pages; false once it has none (all
 * acknowledged, or the connection is closed and purged).
 */
static bool veil_guest_tcp_left(struct veil_guest_sock_left *l, struct veil_guest_collect *c)
{
	struct sock *sk = l->sk;
	struct sk_buff *skb;
	bool left;

	lock_sock(sk);
	left = sk->sk_state != TCP_CLOSE && veil_guest_tcp_unsent(sk);
	if (left && c) {
		veil_guest_collect_queue(&sk->sk_write_queue, NULL, false, c);
		veil_guest_collect_rbtree(&sk->tcp_rtx_queue, false, c);
		/* The socket's lock keeps both queues as they are. */
		skb_queue_walk(&sk->sk_write_queue, skb)
			veil_guest_tcp_left_hold(l, skb);
		skb_rbtree_walk(skb, &sk->tcp_rtx_queue)
			veil_guest_tcp_left_hold(l, skb);
	}
	release_sock(sk);
	return left;
}

/*
 * One socket: what has been read or acknowledged since is zeroed, what is
 * still queued taken into @c (if not NULL).  False once nothing is left.
 */
static bool veil_guest_sock_left_visit(struct veil_guest_sock_left *l,
				       struct veil_guest_collect *c)
{
	bool left;

	if (!l->peer) {
		left = veil_guest_tcp_left(l, c);
	} else {
		/* While paused, the buffers are out of the queue, not read. */
		left = veil_guest_unix_paused() || veil_guest_unix_sent(l->peer, l->sk);
		if (left && c) {
			if (veil_guest_collect_queue(&l->peer->sk_receive_queue, l->sk, true, c))
				veil_guest_unix_pause_for(c, l->peer, l->sk);
		}
	}
	veil_guest_sock_left_release(l, false);
	return left;
}

/*
 * Every second while anything is noted or kept: what was read or
 * acknowledged since is zeroed, and the sockets with nothing left are
 * forgotten, so that neither waits for the next collection.
 */
static void veil_guest_sock_left_sweep(struct work_struct *work)
{
	struct veil_guest_sock_left *l, *next;
	bool more;

	mutex_lock(&veil_guest_sock_lefts_mutex);
	for (l = veil_guest_sock_left_next(NULL); l; l = next) {
		next = veil_guest_sock_left_next(l);
		if (!veil_guest_sock_left_visit(l, NULL))
			veil_guest_sock_left_del(l);
	}
	veil_guest_sock_pages_sweep(false);
	more = veil_guest_sock_left_next(NULL) || !xa_empty(&veil_guest_sock_pages);
	mutex_unlock(&veil_guest_sock_lefts_mutex);
	if (more)
		schedule_delayed_work(&veil_guest_sock_left_sweep_work, HZ);
}

/*
 * Every collection: what closed sockets still hold.  -ENOSPC when a
 * privileged exclusion's socket was not noted.
 */
int veil_guest_collect_sock_left(struct veil_guest_collect *c)
{
	struct veil_guest_sock_left *l, *next;
	struct folio *folio;
	unsigned long pfn;
	int err = 0;

	mutex_lock(&veil_guest_sock_lefts_mutex);
	if (READ_ONCE(veil_guest_sock_lefts_missed)) {
		pr_warn_ratelimited("prepare: sockets excluded processes closed were not all noted (socket_left_max): no checkpoint\n");
		err = -ENOSPC;
	}
	for (l = err ? NULL : veil_guest_sock_left_next(NULL); l; l = next) {
		next = veil_guest_sock_left_next(l);
		if (!veil_guest_sock_left_visit(l, c))
			veil_guest_sock_left_del(l);
	}
	/* Kept pages not zeroed yet still hold the data: published, held. */
	veil_guest_sock_pages_sweep(false);
	xa_for_each(&veil_guest_sock_pages, pfn, folio) {
		veil_guest_add(c, VEIL_GUEST_CAT_SOCKET, pfn, folio_nr_pages(folio));
		veil_guest_hold_page(&c->holds, folio_page(folio, 0));
	}
	mutex_unlock(&veil_guest_sock_lefts_mutex);
	return err;
}

/*
 * After a restore: what they left is taken back from the UNIX peers, and
 * the orphaned TCP connections are aborted before they send it.
 */
void veil_guest_sock_left_purge(struct veil_guest_purged *p)
{
	struct veil_guest_sock_left *l;

	mutex_lock(&veil_guest_sock_lefts_mutex);
	for (l = veil_guest_sock_left_next(NULL); l; l = veil_guest_sock_left_next(l)) {
		if (l->peer)
			veil_guest_purge_unix_from(l->peer, l->sk, p);
		else
			veil_guest_purge_tcp(l->sk, p);
	}
	mutex_unlock(&veil_guest_sock_lefts_mutex);
}

/* Nothing is excluded any more (or the module goes). */
void veil_guest_sock_left_forget(void)
{
	struct veil_guest_sock_left *l;

	cancel_delayed_work_sync(&veil_guest_sock_left_sweep_work);
	mutex_lock(&veil_guest_sock_lefts_mutex);
	while ((l = veil_guest_sock_left_next(NULL)))
		veil_guest_sock_left_del(l);
	veil_guest_sock_pages_sweep(true);
	WRITE_ONCE(veil_guest_sock_lefts_missed, false);
	mutex_unlock(&veil_guest_sock_lefts_mutex);
}

void veil_guest_sock_left_exit(void)
{
	veil_guest_probes_disarm(&veil_guest_sock_left_probes);
	veil_guest_probes_disarm(&veil_guest_tcp_unread);
	veil_guest_probes_disarm(&veil_guest_udp_unread);
	veil_guest_probes_disarm(&veil_guest_tcp_read);
	veil_guest_probes_disarm(&veil_guest_udp_read);
	veil_guest_probes_disarm(&veil_guest_unix_read);
	veil_guest_probes_disarm(&veil_guest_dgram_read);
	veil_guest_sock_left_forget();
}
