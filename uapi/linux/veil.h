/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * veil: guest <-> host ABI for keeping excluded guest frames out of KVM
 * checkpoints, and the ioctls of /dev/veil (host) and /dev/veil-guest.
 *
 * Everything a guest writes into its memory for the host is little-endian
 * and read by the host as untrusted input.
 */
#ifndef _UAPI_LINUX_VEIL_H
#define _UAPI_LINUX_VEIL_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/const.h>
#ifdef __KERNEL__
#include <linux/build_bug.h>
#else
#include <assert.h>
#endif

/*
 * The one vendor hypercall veil uses, far outside KVM's own KVM_HC_*
 * numbers: ASCII "VEIL".  It fits in 32 bits, so a guest outside long
 * mode reaches it too.
 */
#define VEIL_HC_NR		0x5645494cU

/*
 * Version of the guest <-> host ABI described in this file.  Version 2
 * adds partial extent records (below).  A host accepts every version from
 * 1 up to its own; a guest whose REGISTER is refused may try a lower one.
 */
#define VEIL_ABI_VERSION	2

/*
 * Hypercall sub-operations.  RAX = VEIL_HC_NR, RBX = sub-operation,
 * RCX, RDX, RSI = arguments.  The result comes back in RAX: 0, or a
 * negative KVM error (-KVM_EPERM from CPL != 0, -KVM_EINVAL for bad
 * arguments, -KVM_EFAULT for a GPA outside guest memory, -KVM_E2BIG over
 * the host's cap, -KVM_ENOSYS when the host does not run veil).
 *
 * REGISTER  RCX = GPA of the 4 KiB-aligned control page,
 *           RDX = ABI version the guest speaks.
 * PUBLISH   RCX = GPA of the first extent page (ignored when RDX is 0),
 *           RDX = number of extents, RSI = generation (strictly greater
 *           than the last accepted one).  Replaces the whole set.
 * ACK       RCX = request sequence number being acknowledged.  The guest
 *           writes guest_generation and guest_error into the control page
 *           first: the host reads them with the ACK.  A guest withdraws an
 *           acknowledged set (something it names was freed) by writing 0
 *           to guest_generation; the host reads it again at SANITIZE.
 * RESTORED  RCX = VEIL_RESTORED_* flags saying what the guest did after
 *           finding state == VEIL_STATE_SANITIZED, RDX = tasks killed,
 *           RSI = tasks notified.
 * UNREGISTER RCX = GPA of the registered control page.  The host forgets
 *           the page and the set; sent when the guest module unloads and
 *           before the guest reboots or kexecs, so that the host never
 *           writes into a page the next kernel owns.
 */
#define VEIL_HC_REGISTER	1
#define VEIL_HC_PUBLISH		2
#define VEIL_HC_ACK		3
#define VEIL_HC_RESTORED	4
#define VEIL_HC_UNREGISTER	5

#define VEIL_RESTORED_KILLED	_BITUL(0)	/* transparent tasks killed */
#define VEIL_RESTORED_NOTIFIED	_BITUL(1)	/* libveil tasks notified */
#define VEIL_RESTORED_TTY	_BITUL(2)	/* excluded TTYs flushed */
#define VEIL_RESTORED_PAGECACHE	_BITUL(3)	/* excluded page cache dropped */

/*
 * Control page: one guest page, registered with REGISTER.  The guest fills
 * magic and abi_version before registering; after that the host alone
 * writes the req_* and state fields (with kvm_write_guest), the guest
 * alone writes ack_seq and the guest_* fields.  Because the page lives in
 * guest memory a checkpoint carries state == VEIL_STATE_SANITIZED.  A guest
 * resumed from such a checkpoint runs on a host that does not know it: it
 * handles the restore, sets state back to RUNNING, registers again and
 * then reports RESTORED.
 */
#define VEIL_CONTROL_MAGIC	0x4c494556U	/* "VEIL" little-endian */

#define VEIL_REQ_NONE		0
#define VEIL_REQ_PREPARE	1	/* freeze, collect, publish, ack */
#define VEIL_REQ_THAW		2	/* thaw, ack */

#define VEIL_STATE_RUNNING	0
#define VEIL_STATE_SANITIZED	1

struct veil_control {
	__le32 magic;
	__le32 abi_version;
	/* host -> guest */
	__le64 req_seq;		/* bumped for every request */
	__le32 req_op;		/* VEIL_REQ_* */
	__le32 state;		/* VEIL_STATE_* */
	__le64 host_sanitized;	/* checkpoints this guest was sanitized for */
	/* guest -> host */
	__le64 ack_seq;		/* last request sequence acted upon */
	__le64 guest_generation; /* generation of the last PUBLISH; 0: withdrawn */
	__le64 guest_pages;	/* frames of the last PUBLISH (as veil_info) */
	__le32 guest_frozen;	/* excluded tasks currently frozen */
	__le32 guest_error;	/* last PREPARE failure (positive errno) or 0 */
	__u8 reserved[4032];
};

/*
 * Extent pages: a chain of 4 KiB-aligned guest pages, each a header and
 * up to VEIL_EXTENTS_PER_PAGE records.  Records are sorted by the guest
 * physical address they start at, non-empty and non-overlapping across the
 * whole chain; next is the GPA of the following page or 0 on the last.
 * The chain holds exactly the number of extents PUBLISH announced.
 *
 * A record covers npages whole frames from gfn.  From ABI 2 on, a record
 * whose npages has VEIL_EXTENT_PARTIAL set covers only the bytes
 * [off, off + len) of the one frame gfn, with off = VEIL_EXTENT_OFF(npages)
 * below 4096 and 1 <= len = VEIL_EXTENT_LEN(npages) <= 4096 - off: data of
 * an excluded process inside a kernel object that shares its frame with
 * live kernel state (a socket buffer, a TTY buffer, saved registers).  The
 * host stashes and zeroes those bytes only, so the rest of the frame stays
 * usable in a guest restored from the checkpoint.
 */
struct veil_extent {
	__le64 gfn;
	__le64 npages;
};

#define VEIL_EXTENT_PARTIAL	_BITULL(63)
#define VEIL_EXTENT_PART(off, len) \
	(VEIL_EXTENT_PARTIAL | ((__u64)(off) << 32) | (__u64)(__u32)(len))
#define VEIL_EXTENT_OFF(npages)	((__u32)((npages) >> 32) & 0x7fffffffU)
#define VEIL_EXTENT_LEN(npages)	((__u32)(npages))

struct veil_extent_page {
	__le64 next;
	__le32 count;		/* records in this page */
	__le32 reserved;	/* zero */
	struct veil_extent ext[255];
};

#define VEIL_EXTENTS_PER_PAGE	255

/*
 * /dev/veil (host, root only).  One open descriptor manages at most one VM:
 * VEIL_IOC_ATTACH names it with a descriptor of the VM's file (from QEMU,
 * through pidfd_getfd).  Closing the descriptor in any state restores the
 * VM's frames and thaws its guest.  Every argument struct starts with its
 * size, which the caller sets to sizeof(struct); the kernel refuses sizes it
 * does not know with -EINVAL.
 */
#define VEIL_IOC_MAGIC		'V'

struct veil_attach {
	__u32 size;
	__s32 vm_fd;		/* descriptor of a KVM VM file */
};

/* veil_info.flags */
#define VEIL_INFO_REGISTERED	_BITUL(0)	/* the guest sent REGISTER */
#define VEIL_INFO_ACKED		_BITUL(1)	/* the last PREPARE was acked */

/* veil_info.state: the host's view of the VM */
#define VEIL_HOST_RUNNING	0
#define VEIL_HOST_PREPARING	1	/* PREPARE sent, not yet acked */
#define VEIL_HOST_PREPARED	2	/* acked: guest frozen, set published */
#define VEIL_HOST_SANITIZED	3	/* frames zeroed, contents stashed */

struct veil_info {
	__u32 size;
	__u32 flags;		/* VEIL_INFO_* */
	__u32 state;		/* VEIL_HOST_* */
	__u32 guest_abi;	/* version the guest registered with, or 0 */
	__u64 generation;	/* of the current exclusion set */
	__u64 nr_extents;
	__u64 nr_pages;		/* frames in the set, 1 per partial record */
	__u64 req_seq;		/* last request sent to the guest */
	__u64 ack_seq;		/* last request the guest acknowledged */
	/* counters since ATTACH (or since the VM's first hypercall) */
	__u64 hypercalls;
	__u64 rejected;		/* hypercalls refused with an error */
	__u64 publishes;
	__u64 sanitizes;
	__u64 restores;
	__u64 runs_held;	/* KVM_RUN calls held while sanitized */
	__u64 restored_flags;	/* VEIL_RESTORED_* of the last RESTORED */
};

/*
 * GET_EXTENTS: copies up to nr_extents records of the current set,
 * starting at index start, into the array at extents (user pointer to
 * struct veil_extent[]), and sets nr_extents to the number copied and
 * total to the size of the set; generation says which set it was.
 */
struct veil_get_extents {
	__u32 size;
	__u32 pad;
	__u64 start;
	__u64 nr_extents;
	__u64 total;
	__u64 generation;
	__u64 extents;
};

/*
 * PREPARE: ask the guest to freeze, collect and publish; wait for its ack.
 * Succeeds only when the guest acknowledged without an error and with the
 * generation of a set it published for this very request; only then may
 * SANITIZE follow.  A guest that reports an error fails it with EREMOTEIO
 * (guest_error: the guest's positive errno); an acknowledgment naming a
 * set the host does not hold fails it with EPROTO.  Either way the guest
 * is thawed and nothing can be sanitized.  The 24-byte form without
 * guest_error (ABI 1 callers) is still accepted.
 */
struct veil_prepare {
	__u32 size;
	__u32 timeout_ms;	/* 0: the module's default */
	__u64 generation;	/* out: generation published */
	__u64 nr_pages;		/* out: pages in the published set */
	__u32 guest_error;	/* out: the guest's errno on EREMOTEIO, else 0 */
	__u32 pad;
};

#define VEIL_PREPARE_SIZE_V1	24

/*
 * SANITIZE and RESTORE report what they moved.  SANITIZE needs the
 * successful PREPARE above (EINVAL without one, ESTALE when the guest
 * published again since, EBUSY while a vCPU runs, ENODEV when the guest
 * unregistered or its control page no longer holds veil's magic) and is
 * all-or-nothing: every frame is pinned before the first is zeroed, and
 * nothing interrupts it after that.  RESTORE cannot fail once SANITIZE
 * succeeded: the frames stay pinned until it has put them back.
 */
struct veil_sanitize {
	__u32 size;
	__u32 pad;
	__u64 nr_pages;		/* out */
};

#define VEIL_IOC_ATTACH		_IOW(VEIL_IOC_MAGIC, 0x01, struct veil_attach)
#define VEIL_IOC_INFO		_IOR(VEIL_IOC_MAGIC, 0x02, struct veil_info)
#define VEIL_IOC_GET_EXTENTS	_IOWR(VEIL_IOC_MAGIC, 0x03, struct veil_get_extents)
#define VEIL_IOC_PREPARE	_IOWR(VEIL_IOC_MAGIC, 0x04, struct veil_prepare)
#define VEIL_IOC_PREPARE_V1	_IOC(_IOC_READ | _IOC_WRITE, VEIL_IOC_MAGIC, 0x04, \
				     VEIL_PREPARE_SIZE_V1)
#define VEIL_IOC_SANITIZE	_IOWR(VEIL_IOC_MAGIC, 0x05, struct veil_sanitize)
#define VEIL_IOC_RESTORE	_IOWR(VEIL_IOC_MAGIC, 0x06, struct veil_sanitize)
#define VEIL_IOC_THAW		_IO(VEIL_IOC_MAGIC, 0x07)

/* /dev/veil-guest ioctls use numbers from 0x40 up (defined below). */

static_assert(sizeof(struct veil_control) == 4096, "veil_control size");
static_assert(sizeof(struct veil_extent) == 16, "veil_extent size");
static_assert(sizeof(struct veil_extent_page) == 4096, "veil_extent_page size");
static_assert(sizeof(struct veil_attach) == 8, "veil_attach size");
static_assert(sizeof(struct veil_info) == 112, "veil_info size");
static_assert(sizeof(struct veil_get_extents) == 48, "veil_get_extents size");
static_assert(sizeof(struct veil_prepare) == 32, "veil_prepare size");
static_assert(sizeof(struct veil_sanitize) == 16, "veil_sanitize size");

/*
 * /dev/veil-guest (inside the guest).  Selection needs CAP_SYS_ADMIN, or,
 * for an unprivileged caller, the same user as every task selected.  Every
 * argument struct starts with its size, set to sizeof(struct); unknown
 * sizes, kinds or flags are refused with -EINVAL.
 */

/* veil_guest_select.kind */
#define VEIL_GUEST_SEL_PID	1	/* a process (thread group) by PID */
#define VEIL_GUEST_SEL_COMM	2	/* every process whose comm matches */
#define VEIL_GUEST_SEL_CGROUP	3	/* every process in a cgroup v2 subtree (path) */
/*
 * INCLUDE only, with CAP_SYS_ADMIN: every entry of a process that has
 * exited (pid 0, no flags, name empty).  -ENOENT if there is none.
 */
#define VEIL_GUEST_SEL_EXITED	4

/* veil_guest_select.flags */
#define VEIL_GUEST_SEL_CHILDREN	_BITUL(0)	/* PID: descendants too, later ones included */

#define VEIL_GUEST_NAME_MAX	256

struct veil_guest_select {
	__u32 size;
	__u32 kind;		/* VEIL_GUEST_SEL_* */
	__u32 flags;		/* VEIL_GUEST_SEL_CHILDREN */
	__s32 pid;		/* SEL_PID, in the caller's PID namespace */
	char name[VEIL_GUEST_NAME_MAX];	/* SEL_COMM or SEL_CGROUP, NUL-terminated */
};

/* Categories of collected pages, index into the pages[] arrays below. */
#define VEIL_GUEST_CAT_ANON	0	/* anonymous memory and mapped pages */
#define VEIL_GUEST_CAT_FILE	1	/* page cache of open/shared-mapped files */
#define VEIL_GUEST_CAT_PIPE	2	/* pipe and FIFO buffers */
#define VEIL_GUEST_CAT_SOCKET	3	/* socket queues */
#define VEIL_GUEST_CAT_TTY	4	/* TTY buffers */
#define VEIL_GUEST_CAT_STACK	5	/* kernel stacks */
#define VEIL_GUEST_CAT_FPU	6	/* saved FPU/register state */
#define VEIL_GUEST_CAT_FREED	7	/* memory freed while excluded */
#define VEIL_GUEST_NR_CAT	8
/*
 * Secrets the kernel keeps for them by design (the payloads of the keys
 * in their own keyrings, the text of messages queued on their POSIX
 * message queues): counted in kernel_pages, after the pages[]
 * arrays that the first versions of the structures below fixed at eight.
 */
#define VEIL_GUEST_CAT_KERNEL	8

struct veil_guest_entry {
	__u32 kind;		/* VEIL_GUEST_SEL_* */
	__u32 flags;
	__s32 pid;		/* 0 when the process has exited */
	__u32 nr_tasks;		/* processes this entry selects now */
	char name[VEIL_GUEST_NAME_MAX];	/* comm (SEL_COMM) or current comm */
	__u64 pages[VEIL_GUEST_NR_CAT];	/* frames per category */
	/*
	 * Frames of these processes left out of the set because processes
	 * outside it map them too ("shared, not protected"): copy-on-write
	 * pages of a parent, KSM pages, shared mappings, page cache others
	 * map.  Only in entries of VEIL_GUEST_ENTRY_SIZE_V2 or more bytes.
	 */
	__u64 shared_pages;
	/* VEIL_GUEST_CAT_KERNEL; in entries of VEIL_GUEST_ENTRY_SIZE bytes */
	__u64 kernel_pages;
};

#define VEIL_GUEST_ENTRY_SIZE_V1	336
#define VEIL_GUEST_ENTRY_SIZE_V2	344
#define VEIL_GUEST_ENTRY_SIZE		352

/*
 * LIST: copies up to nr_entries entries of the selection into entries
 * (user pointer to an array of entries of entry_size bytes each); sets
 * nr_entries to the number copied and total to the size of the
 * selection.  entry_size is VEIL_GUEST_ENTRY_SIZE, VEIL_GUEST_ENTRY_SIZE_V2
 * (no kernel_pages), or 0 for the first version's entries of
 * VEIL_GUEST_ENTRY_SIZE_V1 bytes (no shared_pages either).
 */
struct veil_guest_list {
	__u32 size;
	__u32 entry_size;
	__u64 nr_entries;
	__u64 total;
	__u64 entries;
};

/* veil_guest_status.flags */
#define VEIL_GUEST_ST_REGISTERED	_BITUL(0)	/* a host accepted REGISTER */
#define VEIL_GUEST_ST_TEST_HOOKS	_BITUL(1)	/* dry-run/test ioctls enabled */
/*
 * Something the last PREPARE published was freed before THAW (a queued
 * message received): the set is withdrawn, and no checkpoint of it can be
 * taken (the host refuses SANITIZE with ESTALE).
 */
#define VEIL_GUEST_ST_WITHDRAWN		_BITUL(2)

struct veil_guest_status {
	__u32 size;
	__u32 flags;		/* VEIL_GUEST_ST_* */
	__u32 state;		/* control page VEIL_STATE_* */
	__u32 frozen;		/* excluded tasks frozen now */
	__u64 nr_entries;	/* selection entries */
	__u64 generation;	/* of the last publish */
	__u64 published_pages;
	__u64 prepares;
	__u64 thaws;
	__u64 req_seq;		/* last request the host made */
	__u64 ack_seq;		/* last request acknowledged */
	__u32 last_error;	/* of the last PREPARE (positive errno) or 0 */
	__u32 auto_thaws;	/* thaws after thaw_timeout_ms with no THAW */
	__u64 restores;		/* restores from a sanitized checkpoint handled */
};

/*
 * EXTENTS (test hook): collect now, without freezing or publishing, and
 * copy up to nr_extents records (struct veil_extent[], native-endian in
 * this ioctl) to extents; total is the size of the set, pages[] the
 * frames per category before merging across categories.  With
 * VEIL_GUEST_EXT_PUBLISHED, the set of the last PUBLISH instead, as the
 * host was given it (pages[], shared_pages and kernel_pages are then 0).
 */
#define VEIL_GUEST_EXT_PUBLISHED	_BITUL(0)

struct veil_guest_extents {
	__u32 size;
	__u32 flags;		/* VEIL_GUEST_EXT_* */
	__u64 nr_extents;
	__u64 total;
	__u64 nr_pages;
	__u64 extents;
	__u64 pages[VEIL_GUEST_NR_CAT];
	__u64 shared_pages;	/* as in struct veil_guest_entry */
	__u64 kernel_pages;	/* VEIL_GUEST_CAT_KERNEL */
};

/*
 * SCAN (test hook): list up to nr_addrs guest physical addresses of RAM
 * where a 32-byte half of the pattern (64 bytes) lies fully inside one
 * frame: a whole copy shows as two addresses 32 bytes apart.  total is the
 * number of such places.  The caller passes the pattern XOR-masked
 * (masked[i] ^ mask[i]) so that neither it nor the kernel keeps the plain
 * pattern in memory.
 */
#define VEIL_GUEST_SCAN_HALF	(VEIL_GUEST_PATTERN_LEN / 2)
#define VEIL_GUEST_PATTERN_LEN	64

struct veil_guest_scan {
	__u32 size;
	__u32 pad;
	__u8 masked[VEIL_GUEST_PATTERN_LEN];
	__u8 mask[VEIL_GUEST_PATTERN_LEN];
	__u64 nr_addrs;		/* in: room in addrs; out: number copied */
	__u64 total;		/* out: places found */
	__u64 scanned;		/* out: frames scanned */
	__u64 addrs;		/* user pointer to __u64[] */
};

/*
 * HOST_WRITE (test hook): write the control page as a host would: the
 * state, and/or a new request (req_seq is bumped and returned).
 */
#define VEIL_GUEST_HW_STATE	_BITUL(0)
#define VEIL_GUEST_HW_REQ	_BITUL(1)

struct veil_guest_host_write {
	__u32 size;
	__u32 flags;		/* VEIL_GUEST_HW_* */
	__u32 state;		/* VEIL_STATE_* with HW_STATE */
	__u32 req_op;		/* VEIL_REQ_* with HW_REQ */
	__u64 req_seq;		/* out: the request's sequence number */
};

/*
 * The application interface (libveil).  Each open descriptor of
 * /dev/veil-guest is a client owned by the process that opened it; only
 * that process may add protections, which last until it removes them or
 * closes the descriptor.  Protected frames are published with those of
 * the excluded processes, and the owner is frozen during a checkpoint like
 * an excluded process.
 *
 * PROTECT_RANGE: the frames mapped in [addr, addr + len) of the owner's
 * address space (rounded out to pages) whenever a checkpoint is taken.
 * At most VEIL_GUEST_MAX_RANGES per client; with VEIL_GUEST_PROT_REMOVE
 * the same range is removed again (-ENOENT when it is not there).
 */
#define VEIL_GUEST_PROT_REMOVE	_BITUL(0)
#define VEIL_GUEST_MAX_RANGES	1024
#define VEIL_GUEST_MAX_FILES	256

struct veil_guest_range {
	__u32 size;
	__u32 flags;		/* VEIL_GUEST_PROT_REMOVE */
	__u64 addr;
	__u64 len;
};

/*
 * PROTECT_FILE: the page cache of the regular file open on fd, whoever
 * maps or reads it.  fd must be open for writing (-EACCES otherwise,
 * unless the caller has CAP_SYS_ADMIN).  The client keeps the file open
 * until it is removed.
 */
struct veil_guest_file {
	__u32 size;
	__u32 flags;		/* VEIL_GUEST_PROT_REMOVE */
	__s32 fd;
	__u32 pad;
};

/*
 * SUBSCRIBE: this descriptor reports checkpoint events to read() and
 * poll(), and its owner handles a restore itself: resumed from a sanitized
 * checkpoint, it is sent VEIL_GUEST_EV_RESTORED instead of being killed,
 * and finds the memory and files it protected zeroed.
 * read() returns whole struct veil_guest_event records, oldest first; a
 * client that falls VEIL_GUEST_EV_QUEUE events behind loses the oldest
 * and the next record it reads carries VEIL_GUEST_EV_LOST.
 */
#define VEIL_GUEST_EV_BEGIN	1	/* a checkpoint began (PREPARE) */
#define VEIL_GUEST_EV_END	2	/* it ended: the owner runs again (THAW) */
#define VEIL_GUEST_EV_RESTORED	3	/* resumed from a sanitized checkpoint */
#define VEIL_GUEST_EV_LOST	_BITUL(0)	/* veil_guest_event.flags */
#define VEIL_GUEST_EV_QUEUE	64

struct veil_guest_event {
	__u32 type;		/* VEIL_GUEST_EV_* */
	__u32 flags;		/* VEIL_GUEST_EV_LOST */
	__u64 seq;		/* the control request it answers, 0 for RESTORED */
};

#define VEIL_GUEST_IOC_EXCLUDE	_IOW(VEIL_IOC_MAGIC, 0x40, struct veil_guest_select)
#define VEIL_GUEST_IOC_INCLUDE	_IOW(VEIL_IOC_MAGIC, 0x41, struct veil_guest_select)
#define VEIL_GUEST_IOC_LIST	_IOWR(VEIL_IOC_MAGIC, 0x42, struct veil_guest_list)
#define VEIL_GUEST_IOC_STATUS	_IOR(VEIL_IOC_MAGIC, 0x43, struct veil_guest_status)
#define VEIL_GUEST_IOC_EXTENTS	_IOWR(VEIL_IOC_MAGIC, 0x44, struct veil_guest_extents)
#define VEIL_GUEST_IOC_SCAN	_IOWR(VEIL_IOC_MAGIC, 0x45, struct veil_guest_scan)
#define VEIL_GUEST_IOC_HOST_WRITE _IOWR(VEIL_IOC_MAGIC, 0x46, struct veil_guest_host_write)

#define VEIL_GUEST_IOC_PROTECT_RANGE _IOW(VEIL_IOC_MAGIC, 0x47, struct veil_guest_range)
#define VEIL_GUEST_IOC_PROTECT_FILE _IOW(VEIL_IOC_MAGIC, 0x48, struct veil_guest_file)
#define VEIL_GUEST_IOC_SUBSCRIBE _IO(VEIL_IOC_MAGIC, 0x49)

static_assert(sizeof(struct veil_guest_select) == 272, "veil_guest_select size");
static_assert(sizeof(struct veil_guest_entry) == VEIL_GUEST_ENTRY_SIZE, "veil_guest_entry size");
static_assert(sizeof(struct veil_guest_list) == 32, "veil_guest_list size");
static_assert(sizeof(struct veil_guest_status) == 88, "veil_guest_status size");
static_assert(sizeof(struct veil_guest_extents) == 120, "veil_guest_extents size");
static_assert(sizeof(struct veil_guest_scan) == 168, "veil_guest_scan size");
static_assert(sizeof(struct veil_guest_host_write) == 24, "veil_guest_host_write size");
static_assert(sizeof(struct veil_guest_range) == 24, "veil_guest_range size");
static_assert(sizeof(struct veil_guest_file) == 16, "veil_guest_file size");
static_assert(sizeof(struct veil_guest_event) == 16, "veil_guest_event size");

#endif /* _UAPI_LINUX_VEIL_H */
