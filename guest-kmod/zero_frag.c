// SPDX-License-Identifier: GPL-2.0
/*
 * The page fragments excluded processes leave behind.  What a thread sends
 * on TCP, corked UDP or kernel TLS is copied into its page fragment
 * (task_frag, usually 32 KiB), and once the fragment is used up the thread
 * moves on to a new page and drops its reference on the old one.  The old
 * page lives on while buffers still point into it (data not acknowledged
 * yet, or queued at a loopback peer), and then goes back to the allocator
 * with a copy of everything that was sent from it.  The page a thread has
 * at exit goes the same way.  collect_stack.c takes only the page a
 * parked thread has now.
 *
 * With zero_freed, kprobes on the two functions that refill a fragment
 * take a reference on the page an excluded thread is about to drop, and
 * one on do_exit() takes the page an excluded thread has when it exits.
 * The pages wait in an xarray by PFN (a page seen twice is held once).
 * The pages of the buffers an excluded process reads from TCP or UDP
 * wait here too (collect_socket.c), since others may still reference
 * them: other buffers, a pipe that splice put them into, a mapping that
 * TCP zerocopy receive made.
 *
 * Each collection, and a sweep every second while any waits, zeroes each
 * page of which veil's is the last reference and lets go of it.  A page
 * still in use is left to its users: the collectors of the queues its
 * buffers are in decide whether it is published.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "veil_guest.h"

/* The minimum sk_page_frag_refill() asks skb_page_frag_refill() for. */
#define VEIL_GUEST_SK_FRAG_MIN	32U

static DEFINE_XARRAY(veil_guest_frags);
/* One sweep at a time: the work item's, a collection's, the unload's. */
static DEFINE_MUTEX(veil_guest_frags_lock);

static void veil_guest_frag_sweep_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(veil_guest_frag_sweep_work, veil_guest_frag_sweep_fn);

/*
 * Keeps a reference on @page (a page fragment, or a page of a buffer an
 * excluded process read) until it is the last, then zeroes it.  Process
 * context only (the xarray's lock is taken with interrupts and bottom
 * halves on); the caller holds a reference on @page.
 */
void veil_guest_frag_keep(struct page *page)
{
	struct folio *folio = page_folio(page);
	int err;

	if (xa_load(&veil_guest_frags, folio_pfn(folio)))
		return;
	folio_get(folio);
	err = xa_insert(&veil_guest_frags, folio_pfn(folio), folio,
			GFP_ATOMIC | __GFP_NOWARN);
	if (err) {
		/* Never the last reference: the caller still has its own. */
		folio_put(folio);
		if (err == -ENOMEM)
			pr_warn_ratelimited("no memory to note a page with data of an excluded process: it is freed unzeroed\n");
		return;
	}
	/* A no-op while one is pending already. */
	schedule_delayed_work(&veil_guest_frag_sweep_work, HZ);
}

/*
 * Whether skb_page_frag_refill(@sz, @pfrag) will drop its page: it keeps
 * one that only the fragment references (and starts it over), or one with
 * @sz bytes of room left.  @pfrag is the running thread's own, or that of
 * a socket it has locked.
 */
static bool veil_guest_frag_drops(const struct page_frag *pfrag, unsigned int sz)
{
	return pfrag && pfrag->page && page_ref_count(pfrag->page) != 1 &&
	       pfrag->offset + sz > pfrag->size;
}

static void veil_guest_frag_refill(const struct page_frag *pfrag, unsigned int sz)
{
	bool privileged;

	/* Cheap tests first: this runs on every refill in the system. */
	if (!in_task() || !veil_guest_zero_freed_on() || !veil_guest_frag_drops(pfrag, sz) ||
	    !veil_guest_sel_current(&privileged))
		return;
	veil_guest_frag_keep(pfrag->page);
}

/* sk_page_frag_refill(sk, pfrag) */
static int veil_guest_sk_frag_hit(struct kprobe *kp, struct pt_regs *regs)
{
	veil_guest_frag_refill((const struct page_frag *)regs_get_kernel_argument(regs, 1),
			       VEIL_GUEST_SK_FRAG_MIN);
	return 0;
}

/* skb_page_frag_refill(sz, pfrag, gfp) */
static int veil_guest_skb_frag_hit(struct kprobe *kp, struct pt_regs *regs)
{
	veil_guest_frag_refill((const struct page_frag *)regs_get_kernel_argument(regs, 1),
			       regs_get_kernel_argument(regs, 0));
	return 0;
}

/* do_exit(code): the thread's fragment is put at the end of it. */
static int veil_guest_frag_exit_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct page *page = current->task_frag.page;
	bool privileged;

	if (!page || (current->flags & PF_KTHREAD) || !veil_guest_zero_freed_on() ||
	    !veil_guest_sel_current(&privileged))
		return 0;
	veil_guest_frag_keep(page);
	return 0;
}

static struct kprobe veil_guest_sk_frag_kp = {
	.symbol_name = "sk_page_frag_refill", .pre_handler = veil_guest_sk_frag_hit,
};

static struct kprobe veil_guest_skb_frag_kp = {
	.symbol_name = "skb_page_frag_refill", .pre_handler = veil_guest_skb_frag_hit,
};

static struct kprobe veil_guest_frag_exit_kp = {
	.symbol_name = "do_exit", .pre_handler = veil_guest_frag_exit_hit,
};

VEIL_GUEST_PROBES(veil_guest_frag_probes,
		  "what excluded processes sent stays in the page fragments they move on from or exit with",
		  &veil_guest_sk_frag_kp, &veil_guest_skb_frag_kp, &veil_guest_frag_exit_kp);

/* At the first exclusion, with the other zero_freed probes. */
void veil_guest_frag_arm(void)
{
	veil_guest_probes_arm(&veil_guest_frag_probes);
}

/* Whether @folio is a page fragment kept here. */
bool veil_guest_frag_keeps(struct folio *folio)
{
	return xa_load(&veil_guest_frags, folio_pfn(folio));
}

/*
 * Zeroes and lets go of the pages nothing but veil references now (a
 * closed socket's bookkeeping may hold one too: collect_socket.c).
 */
void veil_guest_frag_sweep(void)
{
	mutex_lock(&veil_guest_frags_lock);
	veil_guest_folios_sweep(&veil_guest_frags, false, veil_guest_sock_keeps);
	mutex_unlock(&veil_guest_frags_lock);
}

static void veil_guest_frag_sweep_fn(struct work_struct *work)
{
	bool more;

	mutex_lock(&veil_guest_frags_lock);
	more = veil_guest_folios_sweep(&veil_guest_frags, false, veil_guest_sock_keeps);
	mutex_unlock(&veil_guest_frags_lock);
	if (more)
		schedule_delayed_work(&veil_guest_frag_sweep_work, HZ);
}

/*
 * Module unload: no new page is noted, and every one is let go of; a page
 * still in use is freed later by its last user, unzeroed.
 */
void veil_guest_frag_exit(void)
{
	veil_guest_probes_disarm(&veil_guest_frag_probes);
	cancel_delayed_work_sync(&veil_guest_frag_sweep_work);
	mutex_lock(&veil_guest_frags_lock);
	veil_guest_folios_sweep(&veil_guest_frags, true, veil_guest_sock_keeps);
	mutex_unlock(&veil_guest_frags_lock);
	xa_destroy(&veil_guest_frags);
}
