/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's verdict on a set a guest publishes, for targets built with
 * the guest's headers, which cannot include the host's (host_chain.c).
 */
#ifndef _FUZZ_PUBLISH_H
#define _FUZZ_PUBLISH_H

#include <stddef.h>

#include <linux/veil.h>

/* More records than a chain in host_chain.c holds. */
#define PUBLISH_TOO_MANY	1

/*
 * Writes @n records into a chain of extent pages as the guest's PUBLISH
 * does (guest-kmod/control.c), and checks them as veil_host.ko does, with
 * guest RAM [@ram_gfn, @ram_gfn + @ram_frames) and the default cap.
 * Returns the hypercall's result and, on success, the frames the host
 * counted; aborts if the host took the records for anything else.
 */
long publish_records(const struct veil_extent *rec, size_t n, __u32 guest_abi,
		     __u64 ram_gfn, __u64 ram_frames, __u64 *nr_pages);

#endif
