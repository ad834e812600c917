// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets: the data of every buffer queued on the socket, received and not
 * yet read, or written and not yet sent or acknowledged (TCP keeps sent
 * data in its retransmit queue until acked, and out-of-order data aside).
 * For a connected UNIX socket what it wrote sits in its peer's receive
 * queue, so that queue is taken too.  The linear part of a buffer lives in
 * a slab object or a page fragment next to other buffers, and fragments
 * share pages too, so both are taken byte by byte: the buffer's whole head
 * (headroom included, as headers and payload are moved around in it) and
 * the fragments' data.
 */
#include <linux/net.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/af_unix.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "veil_guest.h"

static void veil_guest_collect_skb(const struct sk_buff *skb,
				   struct veil_guest_collect *c, int depth)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	const struct sk_buff *frag;
	unsigned int i;

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
		veil_guest_collect_skb(frag, c, depth + 1);
}

static void veil_guest_collect_queue(struct sk_buff_head *q,
				     struct veil_guest_collect *c)
{
	struct sk_buff *skb;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	skb_queue_walk(q, skb)
		veil_guest_collect_skb(skb, c, 0);
	spin_unlock_irqrestore(&q->lock, flags);
}

static void veil_guest_collect_rbtree(struct rb_root *root,
				      struct veil_guest_collect *c)
{
	struct sk_buff *skb;

	skb_rbtree_walk(skb, root)
		veil_guest_collect_skb(skb, c, 0);
}

void veil_guest_collect_socket(struct file *file, struct veil_guest_collect *c)
{
	struct socket *sock = sock_from_file(file);
	struct sock *sk, *peer;

	if (!sock || !sock->sk)
		return;
	sk = sock->sk;
	lock_sock(sk);
	veil_guest_collect_queue(&sk->sk_receive_queue, c);
	veil_guest_collect_queue(&sk->sk_write_queue, c);
	veil_guest_collect_queue(&sk->sk_error_queue, c);
	if (sk->sk_protocol == IPPROTO_TCP && sk->sk_type == SOCK_STREAM &&
	    (sk->sk_family == AF_INET || sk->sk_family == AF_INET6)) {
		veil_guest_collect_rbtree(&sk->tcp_rtx_queue, c);
		veil_guest_collect_rbtree(&tcp_sk(sk)->out_of_order_queue, c);
	}
	release_sock(sk);

	if (sk->sk_family == AF_UNIX) {
		peer = unix_peer_get(sk);
		if (peer) {
			veil_guest_collect_queue(&peer->sk_receive_queue, c);
			sock_put(peer);
		}
	}
}
