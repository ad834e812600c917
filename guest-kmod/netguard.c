// SPDX-License-Identifier: GPL-2.0
/*
 * The window between a restore and its handling.  A guest resumed from a
 * sanitized checkpoint runs from its first instruction; the poller only
 * notices the restore at its next period, and purge.c aborts the excluded
 * processes' TCP connections only then.  Meanwhile the kernel sends on
 * their behalf, in softirq and timers, without them running: a
 * retransmission, or unsent data once the peer opens its window.  Those
 * bytes are zeros now, with valid checksums.
 *
 * So a netfilter hook at LOCAL_OUT, in every network namespace, drops each
 * TCP segment that carries data while the restore is pending.  A segment
 * without data (an ACK, or purge.c's RST) passes.  A process that is not
 * excluded only has its segment sent again later: TCP keeps data it could
 * not send.  Outside that window the hook costs one read of the control
 * page per packet.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>

#include "veil_guest.h"

static atomic_t veil_guest_held_back = ATOMIC_INIT(0);

/*
 * Whether @skb is a TCP segment with data; @thoff is where TCP starts.  A
 * header that cannot be read counts as data: in the window, drop it.
 */
static bool veil_guest_tcp_has_data(const struct sk_buff *skb, unsigned int thoff)
{
	struct tcphdr _th;
	const struct tcphdr *th;

	th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
	if (!th)
		return true;
	return skb->len > thoff + th->doff * 4;
}

static unsigned int veil_guest_nf_out(void *priv, struct sk_buff *skb,
				      const struct nf_hook_state *state)
{
	unsigned int thoff;

	if (likely(!veil_guest_restore_pending()))
		return NF_ACCEPT;
	if (state->pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_TCP)
			return NF_ACCEPT;
		thoff = skb_network_offset(skb) + iph->ihl * 4;
	} else {
#if IS_ENABLED(CONFIG_IPV6)
		thoff = 0;
		if (ipv6_find_hdr(skb, &thoff, IPPROTO_TCP, NULL, NULL) != IPPROTO_TCP)
			return NF_ACCEPT;
#else
		return NF_ACCEPT;
#endif
	}
	if (!veil_guest_tcp_has_data(skb, thoff))
		return NF_ACCEPT;
	atomic_inc(&veil_guest_held_back);
	return NF_DROP;
}

static const struct nf_hook_ops veil_guest_nf_ops[] = {
	{
		.hook = veil_guest_nf_out,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP_PRI_FIRST,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook = veil_guest_nf_out,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_OUT,
		.priority = NF_IP6_PRI_FIRST,
	},
#endif
};

static int __net_init veil_guest_net_init(struct net *net)
{
	return nf_register_net_hooks(net, veil_guest_nf_ops, ARRAY_SIZE(veil_guest_nf_ops));
}

static void __net_exit veil_guest_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, veil_guest_nf_ops, ARRAY_SIZE(veil_guest_nf_ops));
}

static struct pernet_operations veil_guest_net_ops = {
	.init = veil_guest_net_init,
	.exit = veil_guest_net_exit,
};

/* The segments dropped since the last call (the restore reports them). */
unsigned int veil_guest_netguard_take(void)
{
	return atomic_xchg(&veil_guest_held_back, 0);
}

int veil_guest_netguard_start(void)
{
	return register_pernet_subsys(&veil_guest_net_ops);
}

void veil_guest_netguard_stop(void)
{
	unregister_pernet_subsys(&veil_guest_net_ops);
}
