/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * veil: guest <-> host ABI for keeping excluded guest frames out of KVM
 * checkpoints, and the ioctls of /dev/veil (host) and /dev/veil-guest.
 */
#ifndef _UAPI_LINUX_VEIL_H
#define _UAPI_LINUX_VEIL_H

/*
 * The one vendor hypercall veil uses, far outside KVM's own KVM_HC_*
 * numbers: ASCII "VEIL".  It fits in 32 bits, so a guest outside long
 * mode reaches it too.
 */
#define VEIL_HC_NR		0x5645494cU

/* Version of the guest <-> host ABI described in this file. */
#define VEIL_ABI_VERSION	1

#endif /* _UAPI_LINUX_VEIL_H */
