// SPDX-License-Identifier: GPL-2.0
/*
 * After a restore from a sanitized checkpoint, before the excluded
 * processes are killed: what they queued for others holds zeros now, and
 * must not reach anyone.  A TCP connection is aborted (RST, both queues
 * purged) instead of closed, which would send the zeroed unsent and
 * unacknowledged data with valid checksums; the buffers of their pipes
 * and FIFOs are dropped, so a reader finds the pipe empty rather than
 * zeros; and from a connected UNIX socket's peer the buffers this socket
 * sent are taken back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/net.h>
#include <linux/pipe_fs_i.h>
#include <linux/skbuff.h>
#include <net/af_unix.h>
#include <net/sock.h>

#include "veil_guest.h"

/* Drops every buffer of @pipe, whose lock the caller holds; counts it. */
void veil_guest_pipe_empty(struct pipe_inode_info *pipe, struct veil_guest_purged *p)
{
	unsigned int mask = pipe->ring_size - 1;

	if (pipe->tail != pipe->head)
		p->pipes++;
	while (pipe->tail != pipe->head) {
		pipe_buf_release(pipe, &pipe->bufs[pipe->tail & mask]);
		pipe->tail++;
	}
	wake_up_interruptible_all(&pipe->wr_wait);
}

static void veil_guest_purge_pipe(struct file *file, struct veil_guest_purged *p)
{
	struct pipe_inode_info *pipe = file->private_data;

	if (!pipe || file_inode(file)->i_pipe != pipe)
		return;
	pipe_lock(pipe);
	veil_guest_pipe_empty(pipe, p);
	pipe_unlock(pipe);
}

/* The buffers @sk sent that wait in @peer's receive queue. */
void veil_guest_purge_unix_from(struct sock *peer, struct sock *sk,
				struct veil_guest_purged *p)
{
	struct sk_buff_head gone;

	__skb_queue_head_init(&gone);
	mutex_lock(&unix_sk(peer)->iolock);
	veil_guest_unix_take(peer, sk, &gone);
	mutex_unlock(&unix_sk(peer)->iolock);
	p->unix_bufs += skb_queue_len(&gone);
	__skb_queue_purge(&gone);
}

static void veil_guest_purge_unix_peer(struct sock *sk, struct veil_guest_purged *p)
{
	struct sock *peer = unix_peer_get(sk);

	if (peer) {
		veil_guest_purge_unix_from(peer, sk, p);
		sock_put(peer);
	}
}

/*
 * tcp_abort(): RST for a connection, queues purged, listen stopped; an
 * orphaned socket (its process closed it) is destroyed as well.
 */
void veil_guest_purge_tcp(struct sock *sk, struct veil_guest_purged *p)
{
	if (sk->sk_prot->diag_destroy && !sk->sk_prot->diag_destroy(sk, ECONNABORTED))
		p->tcp++;
}

static void veil_guest_purge_socket(struct file *file, struct veil_guest_purged *p)
{
	struct socket *sock = sock_from_file(file);
	struct sock *sk;

	if (!sock || !sock->sk)
		return;
	sk = sock->sk;
	if (veil_guest_sock_is_tcp(sk))
		veil_guest_purge_tcp(sk, p);
	else if (sk->sk_family == AF_UNIX)
		veil_guest_purge_unix_peer(sk, p);
}

struct veil_guest_purge_ctx {
	struct veil_guest_purged *p;
	bool privileged;
	kuid_t fsuid;
};

static void veil_guest_purge_file(struct file *file, void *arg)
{
	struct veil_guest_purge_ctx *ctx = arg;
	umode_t mode = file_inode(file)->i_mode;

	/* Another user's pipe or socket: not collected, not purged either. */
	if (!veil_guest_channel_counts(file, ctx->privileged, ctx->fsuid))
		return;
	if (S_ISFIFO(mode))
		veil_guest_purge_pipe(file, ctx->p);
	else if (S_ISSOCK(mode))
		veil_guest_purge_socket(file, ctx->p);
}

/*
 * Purges what the frozen process @tsk queued for others, by the rule of
 * a @privileged exclusion or of its user's; counts into @p.
 */
void veil_guest_purge_task(struct task_struct *tsk, bool privileged, struct veil_guest_purged *p)
{
	struct veil_guest_purge_ctx ctx = { .p = p, .privileged = privileged };
	struct veil_guest_file_visitor v = { .fn = veil_guest_purge_file, .arg = &ctx };
	struct task_struct *live = veil_guest_live_thread(tsk);

	if (!live)
		return;
	rcu_read_lock();
	ctx.fsuid = __task_cred(live)->fsuid;
	rcu_read_unlock();
	veil_guest_visit_files(live, &v);
	put_task_struct(live);
}
