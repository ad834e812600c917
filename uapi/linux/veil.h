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

/*
 * The one vendor hypercall veil uses, far outside KVM's own KVM_HC_*
 * numbers: ASCII "VEIL".  It fits in 32 bits, so a guest outside long
 * mode reaches it too.
 */
#define VEIL_HC_NR		0x5645494cU

/* Version of the guest <-> host ABI described in this file. */
#define VEIL_ABI_VERSION	1

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
 * ACK       RCX = request sequence number being acknowledged.
 * RESTORED  RCX = VEIL_RESTORED_* flags saying what the guest did after
 *           finding state == VEIL_STATE_SANITIZED, RDX = tasks killed,
 *           RSI = tasks notified.
 */
#define VEIL_HC_REGISTER	1
#define VEIL_HC_PUBLISH		2
#define VEIL_HC_ACK		3
#define VEIL_HC_RESTORED	4

#define VEIL_RESTORED_KILLED	(1U << 0)	/* transparent tasks killed */
#define VEIL_RESTORED_NOTIFIED	(1U << 1)	/* libveil tasks notified */
#define VEIL_RESTORED_TTY	(1U << 2)	/* excluded TTYs flushed */
#define VEIL_RESTORED_PAGECACHE	(1U << 3)	/* excluded page cache dropped */

/*
 * Control page: one guest page, registered with REGISTER.  The guest fills
 * magic and abi_version before registering; after that the host alone
 * writes the req_* and state fields (with kvm_write_guest), the guest
 * alone writes ack_seq and the guest_* fields.  Because the page lives in
 * guest memory a checkpoint carries state == VEIL_STATE_SANITIZED.
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
	__le64 guest_generation; /* generation of the last PUBLISH */
	__le64 guest_pages;	/* pages covered by the last PUBLISH */
	__le32 guest_frozen;	/* excluded tasks currently frozen */
	__le32 guest_error;	/* last PREPARE failure (positive errno) or 0 */
	__u8 reserved[4032];
};

/*
 * Extent pages: a chain of 4 KiB-aligned guest pages, each a header and
 * up to VEIL_EXTENTS_PER_PAGE records.  Records are sorted by gfn,
 * non-empty and non-overlapping across the whole chain; next is the GPA of
 * the following page or 0 on the last.  The chain holds exactly the
 * number of extents PUBLISH announced.
 */
struct veil_extent {
	__le64 gfn;
	__le64 npages;
};

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
#define VEIL_INFO_REGISTERED	(1U << 0)	/* the guest sent REGISTER */
#define VEIL_INFO_ACKED		(1U << 1)	/* the last PREPARE was acked */

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
	__u64 nr_pages;		/* pages in the current exclusion set */
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

/* PREPARE: ask the guest to freeze, collect and publish; wait for its ack. */
struct veil_prepare {
	__u32 size;
	__u32 timeout_ms;	/* 0: the module's default */
	__u64 generation;	/* out: generation published */
	__u64 nr_pages;		/* out: pages in the published set */
};

/* SANITIZE and RESTORE report what they moved. */
struct veil_sanitize {
	__u32 size;
	__u32 pad;
	__u64 nr_pages;		/* out */
};

#define VEIL_IOC_ATTACH		_IOW(VEIL_IOC_MAGIC, 0x01, struct veil_attach)
#define VEIL_IOC_INFO		_IOR(VEIL_IOC_MAGIC, 0x02, struct veil_info)
#define VEIL_IOC_GET_EXTENTS	_IOWR(VEIL_IOC_MAGIC, 0x03, struct veil_get_extents)
#define VEIL_IOC_PREPARE	_IOWR(VEIL_IOC_MAGIC, 0x04, struct veil_prepare)
#define VEIL_IOC_SANITIZE	_IOWR(VEIL_IOC_MAGIC, 0x05, struct veil_sanitize)
#define VEIL_IOC_RESTORE	_IOWR(VEIL_IOC_MAGIC, 0x06, struct veil_sanitize)
#define VEIL_IOC_THAW		_IO(VEIL_IOC_MAGIC, 0x07)

/* /dev/veil-guest ioctls use numbers from 0x40 up (defined below). */

_Static_assert(sizeof(struct veil_control) == 4096, "veil_control size");
_Static_assert(sizeof(struct veil_extent) == 16, "veil_extent size");
_Static_assert(sizeof(struct veil_extent_page) == 4096, "veil_extent_page size");
_Static_assert(sizeof(struct veil_attach) == 8, "veil_attach size");
_Static_assert(sizeof(struct veil_info) == 112, "veil_info size");
_Static_assert(sizeof(struct veil_get_extents) == 48, "veil_get_extents size");
_Static_assert(sizeof(struct veil_prepare) == 24, "veil_prepare size");
_Static_assert(sizeof(struct veil_sanitize) == 16, "veil_sanitize size");

#endif /* _UAPI_LINUX_VEIL_H */
