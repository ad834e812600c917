/* SPDX-License-Identifier: GPL-2.0 */
/*
 * veil_guest internals: the selection, the extent sets the collectors fill,
 * and the collectors themselves (one file each).
 */
#ifndef _VEIL_GUEST_H
#define _VEIL_GUEST_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/veil.h>

struct task_struct;
struct mm_struct;
struct file;
struct sock;
struct pid;

/*
 * A growable array of {pfn, npages} runs; npages may encode a byte range
 * of the one frame pfn instead (VEIL_EXTENT_PART, as published).
 * Collectors append in any order; veil_guest_extset_finish() sorts and
 * merges them.  A guest PFN is its GFN: the guest runs under KVM with an
 * identity physical address space.
 */
struct veil_guest_run {
	u64 pfn;
	u64 npages;
};

static inline bool veil_guest_run_partial(const struct veil_guest_run *r)
{
	return r->npages & VEIL_EXTENT_PARTIAL;
}

/*
 * Whether the caller must not sleep: inside an RCU reader, under a
 * spinlock or with interrupts off.  The extent sets and holds use it to
 * catch, loudly, a caller that appends in such a context without having
 * said so (nosleep): a sleeping allocation there is a bug that only a
 * debug kernel would otherwise report.
 */
static inline bool veil_guest_atomic_context(void)
{
	return rcu_preempt_depth() || irqs_disabled() ||
	       (IS_ENABLED(CONFIG_PREEMPT_COUNT) && !preemptible());
}

struct veil_guest_extset {
	struct veil_guest_run *runs;
	size_t nr;
	size_t cap;
	int error;		/* first allocation failure, sticky */
	bool nosleep;		/* appended to in atomic context: grow without sleeping */
};

struct veil_guest_shared;
struct msg_msg;
struct sk_buff;
struct sk_buff_head;
struct folio;
struct xarray;
struct key;
struct inode;

/*
 * References on what a published set names (hold.c): a folio reference
 * each, and a clone of each socket buffer, from collection until THAW or
 * RESTORE, so that nothing can migrate, merge, reclaim or reuse a frame
 * in between.  The array grows like an extent set: nosleep under RCU.
 */
struct veil_guest_pipe_pause;
struct veil_guest_unix_pause;

struct veil_guest_holds {
	struct folio **folio;
	size_t nr, cap;
	void **skb;		/* struct sk_buff: their slab heads are published */
	size_t nr_skb, cap_skb;
	void **key;		/* struct key: their payloads are published */
	size_t nr_key, cap_key;
	void **file;		/* struct file: its queue's messages are published */
	size_t nr_file, cap_file;
	struct veil_guest_pipe_pause *paused;	/* pipes paused until THAW */
	struct veil_guest_unix_pause *unix_paused;	/* UNIX peer queues, too */
	int error;		/* sticky: a reference that could not be kept */
	bool nosleep;
};

void veil_guest_holds_init(struct veil_guest_holds *h);
int veil_guest_holds_reserve(struct veil_guest_holds *h, size_t more);
void veil_guest_hold_folio(struct veil_guest_holds *h, struct folio *folio);
void veil_guest_holds_add(struct veil_guest_holds *h, struct folio *folio);
void veil_guest_hold_page(struct veil_guest_holds *h, struct page *page);
bool veil_guest_hold_skb(struct veil_guest_holds *h, struct sk_buff *skb,
			 bool slab_head_ok);
bool veil_guest_hold_key(struct veil_guest_holds *h, struct key *key);
bool veil_guest_hold_file(struct veil_guest_holds *h, struct file *file);
size_t veil_guest_holds_release(struct veil_guest_holds *h);
bool veil_guest_folio_put_zeroed(struct folio *folio);
bool veil_guest_folio_put_zeroed_refs(struct folio *folio, int refs);
bool veil_guest_folios_sweep(struct xarray *xa, bool all,
			     bool (*kept_too)(struct folio *folio));
struct sk_buff *veil_guest_skb_hold(struct sk_buff *skb);
bool veil_guest_skb_put_zeroed(struct sk_buff *skb);
void veil_guest_skb_zero_unread(struct sk_buff *skb, int depth);
void veil_guest_skb_zero_read(struct sk_buff *skb, int depth);
void veil_guest_zero_page_bytes(struct page *page, unsigned int off, unsigned int len);
void veil_guest_holds_drop(struct veil_guest_holds *h);

/*
 * Page cache of excluded files: gathered by the collectors, taken by the
 * file pass, written back at PREPARE (pagecache.c).  Each by a reference on
 * its inode: a file an excluded process closed has no struct file left.
 */
struct veil_guest_files {
	struct inode **f;
	unsigned int nr, cap;
	unsigned int missed;	/* not gathered: no memory */
};

/* The categories of the uapi's pages[] arrays, and VEIL_GUEST_CAT_KERNEL. */
#define VEIL_GUEST_NR_CAT_ALL	(VEIL_GUEST_CAT_KERNEL + 1)

/* One extent set per category, merged into all by veil_guest_collect_finish(). */
struct veil_guest_collect {
	struct veil_guest_extset cat[VEIL_GUEST_NR_CAT_ALL];
	struct veil_guest_extset all;
	u64 pages[VEIL_GUEST_NR_CAT_ALL];
	u64 nr_pages;
	bool count_only;	/* for veil list: swapped-out pages stay out */
	bool prepare;		/* PREPARE: published page cache leaves the cache */
	/* what the set names, held until released */
	struct veil_guest_holds holds;
	/*
	 * References the last PUBLISH's holds keep on frames, by PFN, while
	 * they are kept (control.c): NULL when there are none.
	 */
	struct xarray *held;
	/* mappings of what others may map too (collect_shared.c) */
	struct veil_guest_shared *shared;
	int shared_error;
	u64 shared_out;		/* frames left out: mapped outside the set */
	/* regular files whose page cache the file pass takes */
	struct veil_guest_files files;
	/* pipes and sockets collected already (several descriptors, tasks) */
	const void **seen;
	unsigned int nr_seen, cap_seen;
	unsigned int file_busy;	/* page cache folios that could not be evicted */
	/*
	 * The process being collected: may its exclusion take any file?
	 * privilege: -1 to ask the selection, else the answer.
	 */
	int privilege;
	bool privileged;
	struct task_struct *task;
	bool files_shared;	/* its descriptor table has users outside it */
	void (*release)(struct veil_guest_collect *c);	/* drops the above */
};

void veil_guest_extset_add(struct veil_guest_extset *set, u64 pfn, u64 npages);
void veil_guest_extset_add_bytes(struct veil_guest_extset *set, u64 pfn,
				 unsigned int off, unsigned int len);
int veil_guest_extset_reserve(struct veil_guest_extset *set, size_t more);
int veil_guest_extset_finish(struct veil_guest_extset *set);
void veil_guest_extset_free(struct veil_guest_extset *set);
u64 veil_guest_extset_pages(const struct veil_guest_extset *set);

void veil_guest_collect_init(struct veil_guest_collect *c);
int veil_guest_collect_finish(struct veil_guest_collect *c);
void veil_guest_collect_free(struct veil_guest_collect *c);
void veil_guest_collect_nosleep(struct veil_guest_collect *c, bool nosleep);
bool veil_guest_collect_once(struct veil_guest_collect *c, const void *obj);
/* collect.c: collect_init() for the kernel's collections, with holds. */
void veil_guest_collect_start(struct veil_guest_collect *c, bool count_only,
			      bool prepare);
unsigned int veil_guest_collect_held_refs(const struct veil_guest_collect *c, struct page *page);

static inline void veil_guest_add(struct veil_guest_collect *c, int cat,
				  u64 pfn, u64 npages)
{
	veil_guest_extset_add(&c->cat[cat], pfn, npages);
}

/*
 * Kernel objects holding an excluded process's data: the bytes
 * [addr, addr + len) of the direct map or vmalloc, as partial runs where
 * they share a frame with something else; the bytes [off, off + len) from
 * page (a compound page's head with off past its first frame is fine).
 */
void veil_guest_add_kernel_bytes(struct veil_guest_collect *c, int cat,
				 const void *addr, size_t len);
void veil_guest_add_page_bytes(struct veil_guest_collect *c, int cat,
			       struct page *page, size_t off, size_t len);
/*
 * Whole frames under [addr, addr + len), only with kernel_objects=1: for
 * objects whose live part a restored guest needs (a kernel stack) or whose
 * data offsets are not known (n_tty's, without BTF).
 */
bool veil_guest_kernel_objects(void);
void veil_guest_add_kernel_range(struct veil_guest_collect *c, int cat,
				 const void *addr, size_t len);

/* Selection (select.c).  Entries live on a list under veil_guest_sel_lock. */
struct veil_guest_sel {
	struct list_head node;
	u32 kind;		/* VEIL_GUEST_SEL_* */
	u32 flags;
	struct pid *pid;	/* SEL_PID: the thread group leader's struct pid */
	struct cgroup *cgrp;	/* SEL_CGROUP: referenced */
	char comm[TASK_COMM_LEN];	/* SEL_COMM */
	char path[VEIL_GUEST_NAME_MAX];	/* SEL_CGROUP, as given */
	bool privileged;	/* made with CAP_SYS_ADMIN */
	struct rcu_head rcu;
};

int veil_guest_sel_exclude(const struct veil_guest_select *req);
int veil_guest_sel_include(const struct veil_guest_select *req);
int veil_guest_sel_list(struct veil_guest_list *req);
u64 veil_guest_sel_count(void);
void veil_guest_sel_clear(void);
/*
 * Takes a reference on every process the selection (or one entry of it,
 * when sel is not NULL) names now; returns the number, or a negative errno.
 * Release with veil_guest_put_tasks().
 */
int veil_guest_sel_tasks(struct veil_guest_sel *sel, struct task_struct ***tasks);
void veil_guest_put_tasks(struct task_struct **tasks, int nr);
struct task_struct **veil_guest_tasks_grow(struct task_struct **tasks, int nr, int more);
void veil_guest_tasks_add_once(struct task_struct **all, int *n, struct task_struct *t);
bool veil_guest_sel_privileged(struct task_struct *p);
bool veil_guest_sel_privileged_rcu(struct task_struct *tsk);
bool veil_guest_sel_current(bool *privileged);
bool veil_guest_sel_excludes_rcu(struct task_struct *tsk);
int veil_guest_add_mm_sharers(struct task_struct ***tasks, int nr);
struct task_struct *veil_guest_live_thread(struct task_struct *p);
bool veil_guest_group_alive(struct task_struct *p);

/* Collect every frame of every selected process (collect.c). */
int veil_guest_collect_selected(struct veil_guest_collect *c);
int veil_guest_dontdump_add_owners(struct task_struct ***tasks, int nr, bool with_init);
int veil_guest_collect_all(struct task_struct **tasks, int nr,
			   struct veil_guest_collect *c);
int veil_guest_collect_task(struct task_struct *tsk, struct veil_guest_collect *c);

/* A read-only page-table walk (collect_anon.c). */
struct veil_guest_walker {
	void (*pte)(struct veil_guest_walker *w, unsigned long pfn);
	void (*leaf)(struct veil_guest_walker *w, unsigned long pfn,
		     unsigned long npages);
	/* Optional: the address of every PTE that holds a swap entry. */
	void (*swapped)(struct veil_guest_walker *w, unsigned long addr);
	/* Optional: a page under migration at [addr, addr + size). */
	void (*unstable)(struct veil_guest_walker *w, unsigned long addr,
			 unsigned long size);
	/*
	 * Optional, for a walker that may sleep: called before up to @nr
	 * entries are handed to pte() or leaf(), which must not sleep (a PTE
	 * table is read under RCU), to make room for them.
	 */
	void (*reserve)(struct veil_guest_walker *w, unsigned long nr);
	bool may_sleep;
	/* While pte() or leaf() runs: the entry, and the address it maps. */
	pte_t *ptep;
	pmd_t *pmdp;
	pud_t *pudp;
	unsigned long addr;
};

void veil_guest_walk_range(struct mm_struct *mm, unsigned long addr,
			   unsigned long end, struct veil_guest_walker *w);
bool veil_guest_walk_maps(const struct veil_guest_walker *w, unsigned long pfn);
struct folio *veil_guest_walk_get_folio(const struct veil_guest_walker *w,
					unsigned long pfn);

/* collect_shared.c */
int veil_guest_shared_begin(struct veil_guest_collect *c, struct mm_struct *mm,
			    bool whole, bool *count);
void veil_guest_shared_reserve(struct veil_guest_collect *c, size_t nr);
void veil_guest_shared_nosleep(struct veil_guest_collect *c, bool nosleep);
void veil_guest_shared_note(struct veil_guest_collect *c, struct folio *folio);
int veil_guest_shared_resolve(struct veil_guest_collect *c);
unsigned int veil_guest_shared_maps(struct veil_guest_collect *c, struct folio *folio);
void veil_guest_shared_release(struct veil_guest_collect *c);

/*
 * A shared file mapping counts only where the process may write the file:
 * one mapped read-only (a library, another user's file) is everyone's.
 */
static inline bool veil_guest_shared_writable(struct vm_area_struct *vma)
{
	return vma->vm_file && (vma->vm_flags & VM_SHARED) &&
	       (vma->vm_flags & VM_MAYWRITE);
}

/* Zeroing what excluded processes free (zero_freed.c). */
int veil_guest_zero_init(void);
void veil_guest_zero_track(struct mm_struct *mm);
void veil_guest_zero_arm(void);
void veil_guest_zero_untrack_all(void);
bool veil_guest_zero_freed_on(void);
void veil_guest_frag_arm(void);
void veil_guest_frag_keep(struct page *page);
void veil_guest_frag_sweep(void);
void veil_guest_frag_exit(void);
bool veil_guest_frag_keeps(struct folio *folio);
bool veil_guest_sock_keeps(struct folio *folio);

/* Collectors. */
int veil_guest_collect_anon(struct mm_struct *mm, struct veil_guest_collect *c,
			    bool dontdump_only);
int veil_guest_collect_anon_range(struct mm_struct *mm, struct veil_guest_collect *c,
				  unsigned long start, unsigned long end);
int veil_guest_collect_files(struct task_struct *tsk, struct veil_guest_collect *c);
void veil_guest_collect_file_pages(struct veil_guest_collect *c, struct file *file);
int veil_guest_collect_file_pass(struct veil_guest_collect *c);
bool veil_guest_memory_only(struct inode *inode);
bool veil_guest_file_counts(struct file *file, bool privileged, kuid_t fsuid);
bool veil_guest_file_only_here(struct file *file, struct veil_guest_collect *c);
void veil_guest_collect_pipe(struct file *file, struct veil_guest_collect *c);
struct pipe_buffer;
void veil_guest_collect_paused_bufs(struct veil_guest_collect *c, const struct pipe_buffer *bufs,
				    const unsigned long *published, unsigned int nr);
void veil_guest_collect_socket(struct file *file, struct veil_guest_collect *c);
unsigned int veil_guest_collect_queue(struct sk_buff_head *q, const struct sock *from,
				      bool slab_head, struct veil_guest_collect *c);
void veil_guest_collect_skbs(struct sk_buff_head *list, struct veil_guest_collect *c);
void veil_guest_collect_tls(struct sock *sk, struct file *file, struct veil_guest_collect *c);
void veil_guest_tls_arm(void);
int veil_guest_tls_init(void);
void veil_guest_tls_exit(void);
void veil_guest_collect_tty(struct file *file, struct veil_guest_collect *c);
struct veil_guest_file_visitor {
	void (*fn)(struct file *file, void *arg);
	void *arg;
};

int veil_guest_visit_files(struct task_struct *tsk,
			   const struct veil_guest_file_visitor *v);

struct tty_struct;
struct veil_guest_ttys {
	struct tty_struct *tty[32];
	unsigned int nr;
};

void veil_guest_tty_gather(struct file *file, void *arg);
void veil_guest_tty_gather_ctty(struct task_struct *tsk, struct veil_guest_ttys *t);
void veil_guest_collect_ctty(struct task_struct *tsk, struct veil_guest_collect *c);
/* collect_keys.c: the key payloads of their own keyrings, under RCU */
void veil_guest_collect_keys(struct task_struct *t, struct veil_guest_collect *c);
/* control.c: references the last PUBLISH's holds keep on @key */
unsigned int veil_guest_held_key_refs(const struct key *key);
unsigned int veil_guest_held_file_refs(const struct file *file);
unsigned int veil_guest_tty_flush(struct veil_guest_ttys *t);
/*
 * A struct private to one kernel file, and the members of it a collector
 * reads, found in the running kernel's BTF at load (btf.c).
 */
struct veil_guest_btf_member {
	const char *name;
	u32 off;		/* bytes from the start of the struct */
	bool found;
};

struct veil_guest_btf_struct {
	const char *name;
	struct veil_guest_btf_member *m;
	unsigned int nr;
	u32 size;
	bool found;
};

int veil_guest_btf_find(struct veil_guest_btf_struct *const *want, unsigned int nr);
bool veil_guest_btf_fits(const struct veil_guest_btf_struct *s,
			 const struct veil_guest_btf_member *m, size_t len);
/* Offsets of n_tty's read and echo buffers (ntty_btf.c). */
extern struct veil_guest_btf_struct veil_guest_ntty_btf;
void veil_guest_ntty_init(int err);
bool veil_guest_ntty_offsets(u32 *read_buf, u32 *echo_buf);
/* POSIX message queues (collect_mqueue.c). */
extern struct veil_guest_btf_struct veil_guest_mq_info_btf, veil_guest_mq_node_btf;
void veil_guest_mqueue_init(int err);
bool veil_guest_is_mqueue(struct file *file);
void veil_guest_collect_mqueue(struct file *file, struct veil_guest_collect *c);
void veil_guest_msg_take_text(struct msg_msg *msg, struct veil_guest_collect *c);
/*
 * Messages excluded processes sent on System V queues, and every message
 * a PREPARE published, watched until freed (collect_sysvmsg.c).
 */
void veil_guest_sysvmsg_arm(void);
void veil_guest_sysvmsg_forget(void);
void veil_guest_sysvmsg_exit(void);
int veil_guest_collect_sysvmsg(struct veil_guest_collect *c);
bool veil_guest_msg_watch(struct msg_msg *msg);
void veil_guest_msgs_unpublish(void);
/* control.c: something a PREPARE published is gone before THAW */
void veil_guest_control_withdraw(const char *what);
/* Excluded files written back at PREPARE (pagecache.c). */
void veil_guest_files_add_inode(struct veil_guest_files *fs, struct inode *inode);
void veil_guest_files_add(struct veil_guest_files *fs, struct file *file);
void veil_guest_files_gather(struct file *file, void *arg);
void veil_guest_files_gather_task(struct task_struct *tsk, struct veil_guest_files *fs);
unsigned int veil_guest_files_writeback(struct veil_guest_files *fs, unsigned int ms);
void veil_guest_files_put(struct veil_guest_files *fs);

/* Kprobes registered at the first exclusion, once (probe.c). */
struct kprobe;
struct veil_guest_probes {
	struct kprobe **kps;
	unsigned int nr;
	const char *lost;	/* what stays unprotected without them */
	bool module;		/* in a module that may come later and go */
	bool armed, failed;	/* under probe.c's lock; armed read without */
};

#define VEIL_GUEST_PROBES_IN(name, in_module, what, ...)		\
	static struct kprobe *name##_kps[] = { __VA_ARGS__ };		\
	static struct veil_guest_probes name = {			\
		.kps = name##_kps, .nr = ARRAY_SIZE(name##_kps),	\
		.lost = what, .module = in_module,			\
	}

#define VEIL_GUEST_PROBES(name, what, ...)				\
	VEIL_GUEST_PROBES_IN(name, false, what, __VA_ARGS__)

/* A set of one: the kprobe on @symbol that calls @handler first. */
#define VEIL_GUEST_PROBE(name, symbol, handler, what)			\
	static struct kprobe name##_kp = {				\
		.symbol_name = symbol, .pre_handler = handler,		\
	};								\
	VEIL_GUEST_PROBES(name, what, &name##_kp)

void veil_guest_probes_arm(struct veil_guest_probes *p);
void veil_guest_probes_disarm(struct veil_guest_probes *p);

/*
 * The files excluded processes opened, remembered after they closed them
 * (recall.c).
 */
int veil_guest_recall_init(void);
void veil_guest_recall_exit(void);
void veil_guest_recall_arm(void);
void veil_guest_recall_forget(void);
int veil_guest_recall_gather(struct veil_guest_files *fs);
void veil_guest_recall_file(struct file *file, bool privileged);
void veil_guest_recall_task(struct task_struct *tsk, bool privileged);

/* After a restore, before the kill (purge.c). */
struct veil_guest_purged {
	unsigned int tcp;	/* connections aborted */
	unsigned int pipes;	/* pipes and FIFOs emptied */
	unsigned int unix_bufs;	/* buffers taken back from UNIX peers */
};

void veil_guest_purge_task(struct task_struct *tsk, bool privileged, struct veil_guest_purged *p);
bool veil_guest_channel_counts(struct file *file, bool privileged, kuid_t fsuid);
bool veil_guest_is_anon_pipe(const struct inode *inode);

struct pipe_inode_info;
void veil_guest_pipe_empty(struct pipe_inode_info *pipe, struct veil_guest_purged *p);

/* Pipes paused from PREPARE to THAW (pipe_pause.c). */
int veil_guest_pipe_pause(struct veil_guest_holds *h, struct inode *inode,
			  struct pipe_inode_info *pipe, const unsigned long *published, gfp_t gfp);
int veil_guest_pipe_pause_inode(struct veil_guest_holds *h, struct inode *inode);
void veil_guest_pipes_resume(struct veil_guest_holds *h);
void veil_guest_pipes_drop(struct veil_guest_holds *h, struct veil_guest_purged *p);
void veil_guest_pipes_retry(void);
void veil_guest_pipes_paused_collect(struct veil_guest_holds *h, struct veil_guest_collect *c);
void veil_guest_pipes_exit(void);
/* ... and what excluded sockets sent to UNIX peers (unix_pause.c). */
int veil_guest_unix_pause(struct veil_guest_holds *h, struct sock *peer, struct sock *sk);
void veil_guest_unix_resume(struct veil_guest_holds *h);
void veil_guest_unix_drop(struct veil_guest_holds *h, struct veil_guest_purged *p);
bool veil_guest_unix_paused(void);
void veil_guest_unix_paused_collect(struct veil_guest_holds *h, struct veil_guest_collect *c);
struct sk_buff_head;
struct sk_buff *veil_guest_unix_take(struct sock *peer, struct sock *sk,
				     struct sk_buff_head *into);

/* What excluded processes left unread in pipes they closed (collect_pipe.c). */
void veil_guest_pipe_left(struct inode *inode, bool privileged);
int veil_guest_collect_pipe_left(struct veil_guest_collect *c);
void veil_guest_pipe_left_forget(void);
void veil_guest_pipe_left_purge(struct veil_guest_purged *p);
/* ... and in the peers of UNIX sockets they closed (collect_socket.c). */
void veil_guest_sock_left_arm(void);
int veil_guest_collect_sock_left(struct veil_guest_collect *c);
void veil_guest_sock_left_forget(void);
void veil_guest_sock_left_purge(struct veil_guest_purged *p);
void veil_guest_sock_left_exit(void);
void veil_guest_purge_unix_from(struct sock *peer, struct sock *sk,
				struct veil_guest_purged *p);
void veil_guest_purge_tcp(struct sock *sk, struct veil_guest_purged *p);
bool veil_guest_sock_is_tcp(const struct sock *sk);

/* TCP data held back until a restore is handled (netguard.c). */
int veil_guest_netguard_start(void);
void veil_guest_netguard_stop(void);
unsigned int veil_guest_netguard_take(void);
bool veil_guest_restore_pending(void);

void veil_guest_collect_stack(struct task_struct *tsk, struct veil_guest_collect *c);
void veil_guest_collect_regs(struct task_struct *tsk, struct veil_guest_collect *c);
bool veil_guest_folio_kernel_own(struct folio *folio);
struct page *veil_guest_get_task_frag(struct task_struct *tsk);
void veil_guest_collect_task_frags(struct page **pages, int nr, struct veil_guest_collect *c);

/* Freezing (freeze.c). */
int veil_guest_freeze(struct task_struct **tasks, int nr, unsigned int timeout_ms);
void veil_guest_thaw(void);
unsigned int veil_guest_frozen(void);
int veil_guest_frozen_add(struct task_struct ***tasks, int nr);
void veil_guest_frozen_kill(void);
bool veil_guest_is_freezing(void);
void veil_guest_freeze_drain(void);

/* The control page and its polling thread (control.c). */
struct veil_guest_status;
int veil_guest_control_start(void);
void veil_guest_control_stop(void);
void veil_guest_control_status(struct veil_guest_status *st);
int veil_guest_control_host_write(struct veil_guest_host_write *hw);
int veil_guest_control_published(struct veil_guest_extents *req,
				 struct veil_extent __user *uext);
void veil_guest_control_collect_paused(struct veil_guest_collect *c);
int veil_guest_control_index_held(struct veil_guest_collect *c);

/* Copies a size-prefixed ioctl argument in (veil_guest_main.c). */
int veil_guest_arg_in(void *arg, size_t len, const void __user *uarg);

/* The application interface behind libveil (protect.c). */
struct veil_guest_client;
struct poll_table_struct;
struct veil_guest_client *veil_guest_client_new(void);
void veil_guest_client_release(struct veil_guest_client *cl);
long veil_guest_client_ioctl(struct veil_guest_client *cl, unsigned int cmd,
			     void __user *uarg);
ssize_t veil_guest_client_read(struct veil_guest_client *cl, char __user *buf,
			       size_t count, bool nonblock);
__poll_t veil_guest_client_poll(struct veil_guest_client *cl, struct file *file,
				struct poll_table_struct *wait);
unsigned int veil_guest_clients_event(u32 type, u64 seq);
int veil_guest_collect_clients(struct veil_guest_collect *c);
int veil_guest_client_add_owners(struct task_struct **have, int nr,
				 struct task_struct ***out);
bool veil_guest_client_aware(struct task_struct *leader);
void veil_guest_clients_gather_files(struct veil_guest_files *fs);

/* Test hooks (scan.c). */
int veil_guest_scan(struct veil_guest_scan *req);

#endif /* _VEIL_GUEST_H */
