// SPDX-License-Identifier: GPL-2.0
/*
 * The control page and the thread that polls it.  The host writes
 * requests (PREPARE, THAW) and the state into the page; every period_ms
 * the thread acts on a new request: PREPARE freezes the excluded tasks,
 * writes back their files, collects their frames, publishes them (when a
 * host registered the page) and acknowledges; THAW thaws and acknowledges.
 * The tasks are thawed by themselves after thaw_timeout_ms, so a guest is
 * never left frozen when the host goes away.  What a published set names
 * is held from PREPARE until THAW (or the restore, or unload).  Finding
 * state == SANITIZED means this guest was resumed from a sanitized
 * checkpoint: the excluded tasks, still frozen since PREPARE, are killed
 * before they can run on zeroed memory, after what they queued for others
 * is purged, but for libveil subscribers, which are told and thawed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/reboot.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <linux/kvm_para.h>
#include <asm/kvm_para.h>

#include "veil_guest.h"

static unsigned int period_ms = 10;
module_param(period_ms, uint, 0644);
MODULE_PARM_DESC(period_ms, "How often the control page is polled, in ms (default 10)");

static unsigned int thaw_timeout_ms = 30000;
module_param(thaw_timeout_ms, uint, 0644);
MODULE_PARM_DESC(thaw_timeout_ms,
		 "Thaw excluded tasks by ourselves this long after PREPARE (default 30000)");

static unsigned int freeze_wait_ms = 1000;
module_param(freeze_wait_ms, uint, 0644);
MODULE_PARM_DESC(freeze_wait_ms,
		 "How long PREPARE waits for excluded threads to park (default 1000)");

static unsigned int writeback_ms = 5000;
module_param(writeback_ms, uint, 0644);
MODULE_PARM_DESC(writeback_ms,
		 "How long PREPARE waits for excluded processes' files to be written back (default 5000)");

static bool register_host = true;
module_param(register_host, bool, 0444);
MODULE_PARM_DESC(register_host, "Register the control page with a KVM host (default yes)");

/* Everything below is under veil_guest_ctl_lock, but for the page itself. */
static DEFINE_MUTEX(veil_guest_ctl_lock);
static struct veil_control *veil_guest_ctl;
static struct task_struct *veil_guest_poller;
static bool veil_guest_registered;
static u32 veil_guest_host_abi;		/* the version REGISTER was accepted with */
static u64 veil_guest_last_seq;
static u64 veil_guest_generation;
static u64 veil_guest_published;
static u64 veil_guest_prepares, veil_guest_thaws, veil_guest_restores;
static u32 veil_guest_auto_thaws, veil_guest_last_error;
static unsigned long veil_guest_frozen_since;	/* jiffies, while freezing */
static bool veil_guest_restore_done;
/* Set once the restore was handled; read without the lock (netguard.c). */
static bool veil_guest_restore_over;
/* The extent pages of the last PUBLISH, kept until the next one. */
static struct page **veil_guest_chain;
static unsigned int veil_guest_chain_len;
static size_t veil_guest_chain_nr;	/* extents in it */
/* What the last PUBLISH names, held until THAW or RESTORE (hold.c). */
static struct veil_guest_holds veil_guest_held;
/*
 * The processes the last PUBLISH collected, as the selection named them
 * then: their data is zeros in its checkpoint, so a restore purges and
 * kills them whatever the selection says by then (one included again
 * meanwhile, too).  Until THAW or RESTORE.
 */
struct veil_guest_prepared {
	struct pid *tgid;
	bool privileged;	/* as its exclusion was */
};

static struct veil_guest_prepared *veil_guest_prepared;
static int veil_guest_nr_prepared;
/*
 * Something the last PUBLISH names went before THAW (a message received):
 * the set is withdrawn.  Under veil_guest_withdraw_lock, taken in atomic
 * context, with the control page's guest_generation it zeroes.
 */
static DEFINE_SPINLOCK(veil_guest_withdraw_lock);
static bool veil_guest_withdrawn;

static long veil_guest_hypercall(unsigned long op, unsigned long a1,
				 unsigned long a2, unsigned long a3)
{
	return kvm_hypercall4(VEIL_HC_NR, op, a1, a2, a3);
}

static void veil_guest_free_chain(void)
{
	unsigned int i;

	for (i = 0; i < veil_guest_chain_len; i++)
		__free_page(veil_guest_chain[i]);
	kfree(veil_guest_chain);
	veil_guest_chain = NULL;
	veil_guest_chain_len = 0;
	veil_guest_chain_nr = 0;
}

/* Drops the @nr processes of @p (and @p itself). */
static void veil_guest_prepared_free(struct veil_guest_prepared *p, int nr)
{
	int i;

	for (i = 0; i < nr; i++)
		put_pid(p[i].tgid);
	kvfree(p);
}

static void veil_guest_prepared_forget(void)
{
	lockdep_assert_held(&veil_guest_ctl_lock);
	veil_guest_prepared_free(veil_guest_prepared, veil_guest_nr_prepared);
	veil_guest_prepared = NULL;
	veil_guest_nr_prepared = 0;
}

/* The @nr processes of @tasks as a PREPARE collects them; NULL: no memory. */
static struct veil_guest_prepared *veil_guest_prepared_make(struct task_struct **tasks, int nr)
{
	struct veil_guest_prepared *p;
	int i;

	p = kvmalloc_array(max(nr, 1), sizeof(*p), GFP_KERNEL);
	if (!p)
		return NULL;
	for (i = 0; i < nr; i++) {
		p[i].tgid = get_pid(task_tgid(tasks[i]));
		p[i].privileged = veil_guest_sel_privileged(tasks[i]);
	}
	return p;
}

/*
 * Restore: appends to the @nr processes of *@tasks those the last PUBLISH
 * collected that are not among them (and still exist); returns the new
 * count, or -ENOMEM with every reference of *@tasks dropped.
 */
static int veil_guest_prepared_add(struct task_struct ***tasks, int nr)
{
	struct task_struct **all, *t;
	int i, n = nr;

	lockdep_assert_held(&veil_guest_ctl_lock);
	if (!veil_guest_nr_prepared)
		return nr;
	all = veil_guest_tasks_grow(*tasks, nr, veil_guest_nr_prepared);
	*tasks = all;
	if (!all)
		return -ENOMEM;
	rcu_read_lock();
	for (i = 0; i < veil_guest_nr_prepared; i++) {
		t = pid_task(veil_guest_prepared[i].tgid, PIDTYPE_TGID);
		if (t)
			veil_guest_tasks_add_once(all, &n, t);
	}
	rcu_read_unlock();
	return n;
}

/* Whether @tsk's exclusion was privileged at the last PUBLISH, or is now. */
static bool veil_guest_purge_privileged(struct task_struct *tsk)
{
	int i;

	for (i = 0; i < veil_guest_nr_prepared; i++)
		if (veil_guest_prepared[i].tgid == task_tgid(tsk) &&
		    veil_guest_prepared[i].privileged)
			return true;
	return veil_guest_sel_privileged(tsk);
}

/*
 * References on @key among the holds of the last PUBLISH, which stay until
 * THAW: a PREPARE that follows another without a THAW must not take them
 * for someone else's.  Under veil_guest_ctl_lock, as PREPARE runs.
 */
unsigned int veil_guest_held_key_refs(const struct key *key)
{
	unsigned int n = 0;
	size_t i;

	lockdep_assert_held(&veil_guest_ctl_lock);
	for (i = 0; i < veil_guest_held.nr_key; i++)
		if (veil_guest_held.key[i] == key)
			n++;
	return n;
}

/*
 * Indexes, for @c, the references the holds of the last PUBLISH keep on
 * each frame: a collection that runs while they are kept (a PREPARE that
 * follows another without a THAW, a dry run during a checkpoint) must not
 * take them for someone else's where it judges a page by its reference
 * count (a pipe's own page).  0, or -ENOMEM: then nothing can be judged.
 */
static int veil_guest_index_held_locked(struct veil_guest_collect *c)
{
	struct xarray *xa;
	unsigned long pfn;
	size_t i;
	void *old;
	int err = 0;

	lockdep_assert_held(&veil_guest_ctl_lock);
	if (!veil_guest_held.nr)
		return 0;
	xa = kmalloc(sizeof(*xa), GFP_KERNEL);
	if (!xa)
		return -ENOMEM;
	xa_init(xa);
	c->held = xa;
	for (i = 0; i < veil_guest_held.nr && !err; i++) {
		pfn = folio_pfn(veil_guest_held.folio[i]);
		old = xa_load(xa, pfn);
		err = xa_err(xa_store(xa, pfn, xa_mk_value((old ? xa_to_value(old) : 0) + 1),
				      GFP_KERNEL));
		if (!(i & 1023))
			cond_resched();
	}
	return err;
}

int veil_guest_control_index_held(struct veil_guest_collect *c)
{
	int err;

	mutex_lock(&veil_guest_ctl_lock);
	err = veil_guest_index_held_locked(c);
	mutex_unlock(&veil_guest_ctl_lock);
	return err;
}

/* References on @file among the same holds (a POSIX message queue's). */
unsigned int veil_guest_held_file_refs(const struct file *file)
{
	unsigned int n = 0;
	size_t i;

	lockdep_assert_held(&veil_guest_ctl_lock);
	for (i = 0; i < veil_guest_held.nr_file; i++)
		if (veil_guest_held.file[i] == file)
			n++;
	return n;
}

/*
 * Something the set published names was freed before THAW or RESTORE:
 * its frames may hold something else by now, and zeroing them in a
 * checkpoint would corrupt the restored guest.  A PREPARE not acknowledged
 * yet fails (veil_guest_ack()); after the acknowledgment the generation in
 * the control page no longer names the set, and the host refuses SANITIZE.
 * Any context; the vCPU that runs this is not stopped for a checkpoint.
 */
void veil_guest_control_withdraw(const char *what)
{
	struct veil_control *ctl;
	bool first;

	spin_lock(&veil_guest_withdraw_lock);
	first = !veil_guest_withdrawn;
	veil_guest_withdrawn = true;
	ctl = READ_ONCE(veil_guest_ctl);
	if (ctl)
		WRITE_ONCE(ctl->guest_generation, 0);
	spin_unlock(&veil_guest_withdraw_lock);
	if (first)
		pr_warn_ratelimited("the set of the last PREPARE is withdrawn (%s): no checkpoint can be taken of it\n",
				    what);
}

static void veil_guest_withdraw_clear(void)
{
	spin_lock(&veil_guest_withdraw_lock);
	veil_guest_withdrawn = false;
	spin_unlock(&veil_guest_withdraw_lock);
}

static void veil_guest_release_held(void)
{
	lockdep_assert_held(&veil_guest_ctl_lock);
	veil_guest_holds_release(&veil_guest_held);
}

/*
 * A host that speaks ABI 1 takes whole frames only: the partial runs are
 * left out (and so is that data from its checkpoints).  Returns the number
 * of runs to publish, the partial ones dropped from c->all.
 */
static size_t veil_guest_fit_abi(struct veil_guest_collect *c)
{
	size_t i, out = 0;

	if (!veil_guest_registered || veil_guest_host_abi >= 2)
		return c->all.nr;
	for (i = 0; i < c->all.nr; i++) {
		if (veil_guest_run_partial(&c->all.runs[i]))
			continue;
		c->all.runs[out++] = c->all.runs[i];
	}
	if (out != c->all.nr)
		pr_warn_once("the host speaks ABI %u: data inside kernel objects (socket and TTY buffers, registers) stays in its checkpoints\n",
			     veil_guest_host_abi);
	c->all.nr = out;
	c->nr_pages = veil_guest_extset_pages(&c->all);
	return out;
}

/* Writes the extents into a chain of extent pages and sends PUBLISH. */
static int veil_guest_publish(struct veil_guest_collect *c)
{
	unsigned int n, i, j;
	struct page **chain;
	size_t k = 0;
	long ret;

	n = DIV_ROUND_UP(veil_guest_fit_abi(c), VEIL_EXTENTS_PER_PAGE);

	chain = kcalloc(max(n, 1U), sizeof(*chain), GFP_KERNEL);
	if (!chain)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		chain[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!chain[i])
			goto nomem;
	}
	for (i = 0; i < n; i++) {
		struct veil_extent_page *ep = page_address(chain[i]);

		for (j = 0; j < VEIL_EXTENTS_PER_PAGE && k < c->all.nr; j++, k++) {
			ep->ext[j].gfn = cpu_to_le64(c->all.runs[k].pfn);
			ep->ext[j].npages = cpu_to_le64(c->all.runs[k].npages);
		}
		ep->count = cpu_to_le32(j);
		ep->next = cpu_to_le64(i + 1 < n ? page_to_phys(chain[i + 1]) : 0);
	}
	veil_guest_generation++;
	if (veil_guest_registered) {
		ret = veil_guest_hypercall(VEIL_HC_PUBLISH,
					   n ? page_to_phys(chain[0]) : 0,
					   c->all.nr, veil_guest_generation);
		if (ret) {
			pr_err_ratelimited("PUBLISH of %zu extents refused: %ld\n",
					   c->all.nr, ret);
			veil_guest_generation--;
			for (i = 0; i < n; i++)
				__free_page(chain[i]);
			kfree(chain);
			return -EIO;
		}
	}
	veil_guest_free_chain();
	veil_guest_chain = chain;
	veil_guest_chain_len = n;
	veil_guest_chain_nr = c->all.nr;
	veil_guest_published = c->nr_pages;
	return 0;
nomem:
	while (i--)
		__free_page(chain[i]);
	kfree(chain);
	return -ENOMEM;
}

/*
 * The files of the frozen tasks are written back, so that what they wrote
 * is on disk when the checkpoint holds zeros in its place, and the
 * collection can take their clean pages out of the page cache (a page
 * still dirty then fails it).
 */
static void veil_guest_prepare_writeback(struct task_struct **tasks, int nr)
{
	struct veil_guest_files files = {};
	unsigned int late;
	int i;

	for (i = 0; i < nr; i++)
		veil_guest_files_gather_task(tasks[i], &files);
	veil_guest_clients_gather_files(&files);
	veil_guest_recall_gather(&files);	/* a shortfall fails the collection */
	late = veil_guest_files_writeback(&files, READ_ONCE(writeback_ms));
	if (late || files.missed)
		pr_warn_ratelimited("prepare: %u excluded files not written back within writeback_ms%s\n",
				    late, files.missed ? " (some not gathered: no memory)" : "");
	veil_guest_files_put(&files);
}

/*
 * Appends to the @nr processes of *@tasks the owners of dontdump areas
 * (with dontdump=1) and the processes running in one of their address
 * spaces; returns the new count, or a negative errno with every reference
 * of *@tasks dropped.
 */
static int veil_guest_add_frozen_too(struct task_struct ***tasks, int nr)
{
	int n = veil_guest_dontdump_add_owners(tasks, nr, false), m;

	if (n < 0) {
		veil_guest_put_tasks(*tasks, nr);
		return n;
	}
	m = veil_guest_add_mm_sharers(tasks, n);
	if (m < 0)
		veil_guest_put_tasks(*tasks, n);
	return m;
}

/*
 * The processes a checkpoint freezes: the selection, the owners of libveil
 * clients that protect something and, with dontdump=1, of such areas, and
 * every process running in one of their address spaces.  Returns the
 * number of the latter in *nr_frozen (referenced, in *frozen), the
 * selection's in *nr (in *tasks); or a negative errno.
 */
static int veil_guest_prepare_sets(struct task_struct ***tasks, int *nr,
				   struct task_struct ***frozen, int *nr_frozen)
{
	int n, f;

	n = veil_guest_sel_tasks(NULL, tasks);
	if (n < 0)
		return n;
	f = veil_guest_client_add_owners(*tasks, n, frozen);
	if (f >= 0)
		f = veil_guest_add_frozen_too(frozen, f);
	if (f < 0) {
		veil_guest_put_tasks(*tasks, n);
		return f;
	}
	*nr = n;
	*nr_frozen = f;
	return 0;
}

/* Whether every process of @now is among the @nr of @had. */
static bool veil_guest_tasks_within(struct task_struct **now, int nr_now,
				    struct task_struct **had, int nr)
{
	int i, j;

	for (i = 0; i < nr_now; i++) {
		for (j = 0; j < nr && had[j] != now[i]; j++)
			;
		if (j == nr)
			return false;
	}
	return true;
}

/*
 * Freezes until the set stands still: a process that forked before its
 * threads parked (a descendant, with --children) or entered the set
 * meanwhile is frozen in the next round.  Returns 0 with the final
 * selection in *tasks and *nr, or a negative errno (-EBUSY: something would
 * not park) with nothing to put.
 */
static int veil_guest_prepare_freeze(struct task_struct ***tasks, int *nr)
{
	struct task_struct **sel, **frozen, **sel2, **frozen2;
	int n, f, n2, f2, round, err;

	err = veil_guest_prepare_sets(&sel, &n, &frozen, &f);
	if (err)
		return err;
	veil_guest_frozen_since = jiffies;
	for (round = 0; ; round++) {
		err = veil_guest_freeze(frozen, f, freeze_wait_ms);
		if (err)
			break;
		err = veil_guest_prepare_sets(&sel2, &n2, &frozen2, &f2);
		if (err)
			break;
		if (veil_guest_tasks_within(frozen2, f2, frozen, f)) {
			veil_guest_put_tasks(frozen, f);
			veil_guest_put_tasks(frozen2, f2);
			veil_guest_put_tasks(sel, n);
			*tasks = sel2;
			*nr = n2;
			return 0;
		}
		veil_guest_put_tasks(sel, n);
		veil_guest_put_tasks(frozen, f);
		sel = sel2;
		n = n2;
		frozen = frozen2;
		f = f2;
		if (round == 16) {
			pr_warn("prepare: the excluded processes kept growing while they froze\n");
			err = -EBUSY;
			break;
		}
	}
	veil_guest_put_tasks(sel, n);
	veil_guest_put_tasks(frozen, f);
	return err;
}

static int veil_guest_prepare(u64 seq)
{
	struct veil_guest_prepared *prepared;
	struct task_struct **tasks;
	struct veil_guest_collect *c;
	int nr, err;

	veil_guest_clients_event(VEIL_GUEST_EV_BEGIN, seq);
	/* What an earlier PREPARE published and lost is not this one's. */
	veil_guest_withdraw_clear();
	err = veil_guest_prepare_freeze(&tasks, &nr);
	if (err) {
		veil_guest_prepares++;
		return err;
	}
	veil_guest_prepare_writeback(tasks, nr);
	/* An earlier PREPARE's pauses: the buffers back, to be collected again. */
	veil_guest_pipes_resume(&veil_guest_held);
	veil_guest_unix_resume(&veil_guest_held);
	prepared = veil_guest_prepared_make(tasks, nr);
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c || !prepared) {
		veil_guest_prepared_free(prepared, prepared ? nr : 0);
		kfree(c);
		err = -ENOMEM;
		goto out;
	}
	veil_guest_collect_start(c, false, true);
	err = veil_guest_index_held_locked(c);
	if (!err)
		err = veil_guest_collect_all(tasks, nr, c);
	if (!err)
		err = veil_guest_publish(c);
	if (!err) {
		/* The new set is held; the one before it no longer needs to be. */
		veil_guest_release_held();
		veil_guest_held = c->holds;
		veil_guest_holds_init(&c->holds);
		veil_guest_prepared_forget();
		veil_guest_prepared = prepared;
		veil_guest_nr_prepared = nr;
	} else {
		veil_guest_prepared_free(prepared, nr);
	}
	veil_guest_collect_free(c);
	kfree(c);
out:
	veil_guest_put_tasks(tasks, nr);
	veil_guest_prepares++;
	return err;
}

/* seq: the THAW request that asked for it, or 0. */
static void veil_guest_do_thaw(const char *why, u64 seq)
{
	veil_guest_release_held();
	veil_guest_prepared_forget();
	veil_guest_msgs_unpublish();
	veil_guest_withdraw_clear();
	if (!veil_guest_is_freezing())
		return;
	veil_guest_thaw();
	veil_guest_thaws++;
	veil_guest_clients_event(VEIL_GUEST_EV_END, seq);
	pr_info("thawed excluded tasks (%s)\n", why);
}

static void veil_guest_ack(u64 seq, int err)
{
	struct veil_control *ctl = veil_guest_ctl;

	spin_lock(&veil_guest_withdraw_lock);
	if (!err && veil_guest_withdrawn)
		err = -ESTALE;
	WRITE_ONCE(ctl->guest_generation,
		   cpu_to_le64(veil_guest_withdrawn ? 0 : veil_guest_generation));
	spin_unlock(&veil_guest_withdraw_lock);
	veil_guest_last_error = -err;
	WRITE_ONCE(ctl->guest_pages, cpu_to_le64(veil_guest_published));
	WRITE_ONCE(ctl->guest_frozen, cpu_to_le32(veil_guest_frozen()));
	WRITE_ONCE(ctl->guest_error, cpu_to_le32(-err));
	smp_wmb();	/* the results before the acknowledgment */
	WRITE_ONCE(ctl->ack_seq, cpu_to_le64(seq));
	if (veil_guest_registered && veil_guest_hypercall(VEIL_HC_ACK, seq, 0, 0))
		pr_err_ratelimited("ACK %llu refused by the host\n", seq);
}

static void veil_guest_register(void);

/*
 * The host this image resumed on has never seen this guest (or, after an
 * in-place restore, saw it in a later life): mark the page running again,
 * before any host knows it, and register again.  The request sequence is
 * left alone: a new host's first request differs from the last one seen,
 * and sequence numbers a waiter already saw acknowledged are not reused.
 */
static void veil_guest_reregister(void)
{
	lockdep_assert_held(&veil_guest_ctl_lock);
	WRITE_ONCE(veil_guest_ctl->state, cpu_to_le32(VEIL_STATE_RUNNING));
	veil_guest_registered = false;
	veil_guest_register();
}

/*
 * Every frozen process resumed on zeroed memory: those that subscribed to
 * libveil events are told, the others are killed before they run, after
 * what they queued for others is purged (purge.c).  The page cache the
 * checkpoint holds zeros of was taken out of the page cache at PREPARE:
 * the frames are only held, and now let go of.
 */
static void veil_guest_restore(void)
{
	struct veil_guest_purged purged = {};
	struct task_struct **sel, **tasks;
	unsigned int nr_ttys = 0;
	struct veil_guest_ttys *ttys;
	unsigned long flags = 0;
	size_t held;
	int nr, nr_sel, i, killed = 0, dd_killed = 0, notified = 0;

	/* Paused since PREPARE: their buffers, zeros now, go before anyone reads. */
	veil_guest_pipes_drop(&veil_guest_held, &purged);
	veil_guest_unix_drop(&veil_guest_held, &purged);
	ttys = kzalloc(sizeof(*ttys), GFP_KERNEL);
	nr = veil_guest_sel_tasks(NULL, &sel);
	if (nr >= 0)
		nr = veil_guest_prepared_add(&sel, nr);
	if (nr >= 0) {
		i = nr;
		nr = veil_guest_client_add_owners(sel, i, &tasks);
		veil_guest_put_tasks(sel, i);
	}
	/*
	 * Owners of dontdump areas come last: only killed (or told); so do
	 * the processes this checkpoint froze that nothing names now.
	 */
	nr_sel = nr;
	if (nr >= 0)
		nr = veil_guest_add_frozen_too(&tasks, nr);
	if (nr >= 0)
		nr = veil_guest_frozen_add(&tasks, nr);
	if (nr < 0) {
		/* Still frozen: what has zeros in the checkpoint dies unrun. */
		pr_err("restore: cannot list excluded tasks: %d; killing every process the checkpoint froze\n",
		       nr);
		veil_guest_frozen_kill();
		kfree(ttys);
		return;
	}
	for (i = 0; i < nr; i++) {
		struct veil_guest_file_visitor vt = { .fn = veil_guest_tty_gather, .arg = ttys };

		if (veil_guest_client_aware(tasks[i])) {
			notified++;
			continue;
		}
		if (i < nr_sel) {
			veil_guest_purge_task(tasks[i], veil_guest_purge_privileged(tasks[i]),
					      &purged);
			if (ttys) {
				veil_guest_visit_files(tasks[i], &vt);
				veil_guest_tty_gather_ctty(tasks[i], ttys);
			}
		}
		/* The whole process: its main thread may have exited already. */
		kill_pid(task_tgid(tasks[i]), SIGKILL, 1);
		killed++;
		dd_killed += i >= nr_sel;
	}
	veil_guest_put_tasks(tasks, nr);
	veil_guest_pipe_left_purge(&purged);
	veil_guest_sock_left_purge(&purged);
	if (killed)
		flags |= VEIL_RESTORED_KILLED;
	if (veil_guest_clients_event(VEIL_GUEST_EV_RESTORED, 0))
		flags |= VEIL_RESTORED_NOTIFIED;
	pr_info("restore: killed %d excluded processes resumed from a sanitized checkpoint (%d frozen with them: dontdump areas, a shared address space), notified %d\n",
		killed, dd_killed, notified);
	pr_info("restore: aborted %u TCP connections, emptied %u pipes, took back %u buffers from UNIX peers, held back %u TCP segments sent before\n",
		purged.tcp, purged.pipes, purged.unix_bufs, veil_guest_netguard_take());
	held = veil_guest_held.nr;
	veil_guest_do_thaw("restore", 0);
	if (ttys) {
		nr_ttys = veil_guest_tty_flush(ttys);
		kfree(ttys);
	}
	if (nr_ttys)
		flags |= VEIL_RESTORED_TTY;
	if (held)
		flags |= VEIL_RESTORED_PAGECACHE;
	pr_info("restore: flushed %u TTYs of excluded processes, let go of %zu frames held since PREPARE\n",
		nr_ttys, held);
	veil_guest_restores++;
	veil_guest_reregister();
	if (veil_guest_registered &&
	    veil_guest_hypercall(VEIL_HC_RESTORED, flags, killed, notified))
		pr_err_ratelimited("RESTORED refused by the host\n");
}

static void veil_guest_poll_once(void)
{
	struct veil_control *ctl = veil_guest_ctl;
	u64 seq, seq2;
	u32 op, state;
	int err;

	mutex_lock(&veil_guest_ctl_lock);
	veil_guest_pipes_retry();
	state = le32_to_cpu(READ_ONCE(ctl->state));
	if (state == VEIL_STATE_SANITIZED && !veil_guest_restore_done) {
		veil_guest_restore_done = true;
		veil_guest_restore();
		/* Whatever came of it: the network is not held back for good. */
		WRITE_ONCE(veil_guest_restore_over, true);
	} else if (state == VEIL_STATE_RUNNING) {
		veil_guest_restore_done = false;
		WRITE_ONCE(veil_guest_restore_over, false);
	}

	/* A request is op then seq; a seq unchanged around op is consistent. */
	seq = le64_to_cpu(READ_ONCE(ctl->req_seq));
	smp_rmb();	/* seq before op */
	op = le32_to_cpu(READ_ONCE(ctl->req_op));
	smp_rmb();	/* op before seq again */
	seq2 = le64_to_cpu(READ_ONCE(ctl->req_seq));
	if (seq == seq2 && seq != veil_guest_last_seq) {
		veil_guest_last_seq = seq;
		switch (op) {
		case VEIL_REQ_PREPARE:
			err = veil_guest_prepare(seq);
			veil_guest_ack(seq, err);
			break;
		case VEIL_REQ_THAW:
			veil_guest_do_thaw("THAW request", seq);
			veil_guest_ack(seq, 0);
			break;
		default:
			pr_err_ratelimited("unknown request %u (seq %llu) ignored\n", op, seq);
			veil_guest_ack(seq, -EINVAL);
		}
	}

	if (veil_guest_is_freezing() &&
	    time_after(jiffies, veil_guest_frozen_since +
				msecs_to_jiffies(thaw_timeout_ms))) {
		veil_guest_auto_thaws++;
		veil_guest_do_thaw("no THAW within thaw_timeout_ms", 0);
		WRITE_ONCE(ctl->guest_frozen, 0);
	}
	mutex_unlock(&veil_guest_ctl_lock);
}

static int veil_guest_poll(void *unused)
{
	while (!kthread_should_stop()) {
		veil_guest_poll_once();
		schedule_timeout_interruptible(msecs_to_jiffies(max(period_ms, 1U)));
	}
	return 0;
}

/*
 * True in a guest resumed from a sanitized checkpoint until the poller has
 * handled the restore: the state reads SANITIZED from the image's first
 * instruction, before any thread of this module runs.  Lock-free, for the
 * network hook (netguard.c), which asks for every packet.
 */
bool veil_guest_restore_pending(void)
{
	return le32_to_cpu(READ_ONCE(veil_guest_ctl->state)) == VEIL_STATE_SANITIZED &&
	       !READ_ONCE(veil_guest_restore_over);
}

void veil_guest_control_status(struct veil_guest_status *st)
{
	struct veil_control *ctl = veil_guest_ctl;

	mutex_lock(&veil_guest_ctl_lock);
	if (veil_guest_registered)
		st->flags |= VEIL_GUEST_ST_REGISTERED;
	st->state = le32_to_cpu(READ_ONCE(ctl->state));
	st->frozen = veil_guest_frozen();
	if (READ_ONCE(veil_guest_withdrawn))
		st->flags |= VEIL_GUEST_ST_WITHDRAWN;
	st->generation = veil_guest_generation;
	st->published_pages = veil_guest_published;
	st->prepares = veil_guest_prepares;
	st->thaws = veil_guest_thaws;
	st->req_seq = le64_to_cpu(READ_ONCE(ctl->req_seq));
	st->ack_seq = le64_to_cpu(READ_ONCE(ctl->ack_seq));
	st->last_error = veil_guest_last_error;
	st->auto_thaws = veil_guest_auto_thaws;
	st->restores = veil_guest_restores;
	mutex_unlock(&veil_guest_ctl_lock);
}

/*
 * Test hook: the set of the last PUBLISH, read back from the extent pages
 * the host was given.
 */
int veil_guest_control_published(struct veil_guest_extents *req,
				 struct veil_extent __user *uext)
{
	struct veil_extent ext;
	size_t i, k = 0;
	int err = 0;

	mutex_lock(&veil_guest_ctl_lock);
	req->total = veil_guest_chain_nr;
	req->nr_pages = veil_guest_published;
	req->shared_pages = 0;
	req->kernel_pages = 0;
	memset(req->pages, 0, sizeof(req->pages));
	req->nr_extents = min_t(u64, req->nr_extents, veil_guest_chain_nr);
	for (i = 0; i < veil_guest_chain_len && k < req->nr_extents && !err; i++) {
		struct veil_extent_page *ep = page_address(veil_guest_chain[i]);
		u32 j, n = le32_to_cpu(ep->count);

		for (j = 0; j < n && k < req->nr_extents; j++, k++) {
			ext.gfn = (__force __le64)le64_to_cpu(ep->ext[j].gfn);
			ext.npages = (__force __le64)le64_to_cpu(ep->ext[j].npages);
			if (copy_to_user(&uext[k], &ext, sizeof(ext))) {
				err = -EFAULT;
				break;
			}
		}
	}
	mutex_unlock(&veil_guest_ctl_lock);
	return err;
}

/*
 * A dry run (test hook): what the checkpoint under way paused is out of
 * its pipes and peer queues, where the collection does not find it, and
 * still the set's; so it is taken from the pauses.
 */
void veil_guest_control_collect_paused(struct veil_guest_collect *c)
{
	mutex_lock(&veil_guest_ctl_lock);
	veil_guest_pipes_paused_collect(&veil_guest_held, c);
	veil_guest_unix_paused_collect(&veil_guest_held, c);
	mutex_unlock(&veil_guest_ctl_lock);
}

int veil_guest_control_host_write(struct veil_guest_host_write *hw)
{
	struct veil_control *ctl = veil_guest_ctl;
	u64 seq;

	if (hw->flags & ~(VEIL_GUEST_HW_STATE | VEIL_GUEST_HW_REQ) || !hw->flags)
		return -EINVAL;
	if ((hw->flags & VEIL_GUEST_HW_STATE) && hw->state != VEIL_STATE_RUNNING &&
	    hw->state != VEIL_STATE_SANITIZED)
		return -EINVAL;
	if ((hw->flags & VEIL_GUEST_HW_REQ) && hw->req_op != VEIL_REQ_PREPARE &&
	    hw->req_op != VEIL_REQ_THAW)
		return -EINVAL;
	mutex_lock(&veil_guest_ctl_lock);
	if (hw->flags & VEIL_GUEST_HW_STATE) {
		WRITE_ONCE(ctl->state, cpu_to_le32(hw->state));
		pr_info("test hook: control state set to %u\n", hw->state);
	}
	seq = le64_to_cpu(READ_ONCE(ctl->req_seq));
	if (hw->flags & VEIL_GUEST_HW_REQ) {
		WRITE_ONCE(ctl->req_op, cpu_to_le32(hw->req_op));
		smp_wmb();	/* op before the seq that publishes it */
		WRITE_ONCE(ctl->req_seq, cpu_to_le64(++seq));
	}
	hw->req_seq = seq;
	mutex_unlock(&veil_guest_ctl_lock);
	return 0;
}

/*
 * REGISTER with this module's ABI version, then with the older one: a
 * host refuses versions newer than its own with -KVM_EINVAL.
 */
static void veil_guest_register(void)
{
	u32 abi = VEIL_ABI_VERSION;
	long ret;

	if (!register_host || !kvm_para_available()) {
		pr_info("no KVM host: control page not registered\n");
		return;
	}
	for (;;) {
		WRITE_ONCE(veil_guest_ctl->abi_version, cpu_to_le32(abi));
		ret = veil_guest_hypercall(VEIL_HC_REGISTER,
					   virt_to_phys(veil_guest_ctl), abi, 0);
		if (ret != -KVM_EINVAL || abi == 1)
			break;
		abi--;
	}
	if (ret) {
		WRITE_ONCE(veil_guest_ctl->abi_version, cpu_to_le32(VEIL_ABI_VERSION));
		pr_info("host does not run veil (REGISTER: %ld)\n", ret);
		return;
	}
	veil_guest_host_abi = abi;
	veil_guest_registered = true;
	pr_info("control page registered with the host, ABI %u\n", abi);
}

/*
 * Tells the host to forget the control page, so that it never writes into
 * the frame once this module or this kernel no longer owns it.  Returns
 * whether the host still knows the page (the call failed).
 */
static bool veil_guest_unregister(void)
{
	long ret;

	if (!veil_guest_registered)
		return false;
	ret = veil_guest_hypercall(VEIL_HC_UNREGISTER, virt_to_phys(veil_guest_ctl),
				   0, 0);
	if (ret && ret != -KVM_ENOSYS) {
		pr_warn("UNREGISTER refused by the host: %ld\n", ret);
		return true;
	}
	veil_guest_registered = false;
	return false;
}

/*
 * Reboot, halt, power-off and kexec: the next kernel owns the frame of the
 * control page.  Runs in the task that reboots; the poller may hold the
 * lock in a PREPARE, so the page is not touched, only unregistered.
 */
static int veil_guest_reboot(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	if (veil_guest_registered && !veil_guest_unregister())
		pr_info("control page unregistered for the reboot\n");
	return NOTIFY_DONE;
}

static struct notifier_block veil_guest_reboot_nb = {
	.notifier_call = veil_guest_reboot,
};

int veil_guest_control_start(void)
{
	veil_guest_ctl = (struct veil_control *)get_zeroed_page(GFP_KERNEL);
	if (!veil_guest_ctl)
		return -ENOMEM;
	veil_guest_holds_init(&veil_guest_held);
	veil_guest_ctl->magic = cpu_to_le32(VEIL_CONTROL_MAGIC);
	veil_guest_ctl->abi_version = cpu_to_le32(VEIL_ABI_VERSION);
	veil_guest_register();
	veil_guest_poller = kthread_run(veil_guest_poll, NULL, "veil-guest");
	if (IS_ERR(veil_guest_poller)) {
		int err = PTR_ERR(veil_guest_poller);

		if (!veil_guest_unregister())
			free_page((unsigned long)veil_guest_ctl);
		return err;
	}
	register_reboot_notifier(&veil_guest_reboot_nb);
	return 0;
}

/*
 * Module unload: stop polling, thaw everything, unregister.  A host that
 * refused UNREGISTER keeps the GPA of the control page, so the page is
 * then left allocated (one page) rather than handed back to the allocator
 * while the host may write it.
 */
void veil_guest_control_stop(void)
{
	unregister_reboot_notifier(&veil_guest_reboot_nb);
	kthread_stop(veil_guest_poller);
	mutex_lock(&veil_guest_ctl_lock);
	veil_guest_do_thaw("module unload", 0);
	if (veil_guest_unregister())
		pr_warn("control page left allocated: the host still knows it\n");
	else
		free_page((unsigned long)veil_guest_ctl);
	mutex_unlock(&veil_guest_ctl_lock);
	veil_guest_freeze_drain();
	mutex_lock(&veil_guest_ctl_lock);
	veil_guest_release_held();
	veil_guest_prepared_forget();
	veil_guest_pipes_exit();
	mutex_unlock(&veil_guest_ctl_lock);
	veil_guest_free_chain();
}
