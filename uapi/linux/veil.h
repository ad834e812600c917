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

_Static_assert(sizeof(struct veil_control) == 4096, "veil_control size");
_Static_assert(sizeof(struct veil_extent) == 16, "veil_extent size");
_Static_assert(sizeof(struct veil_extent_page) == 4096, "veil_extent_page size");

#endif /* _UAPI_LINUX_VEIL_H */
