// SPDX-License-Identifier: GPL-2.0
/*
 * The kprobes veil_guest registers at the first exclusion (recall.c,
 * collect_sysvmsg.c, zero_freed.c, collect_socket.c): each set once, and
 * at most one try; a set that cannot be registered says in the kernel log
 * what is left unprotected, and stays off.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/mutex.h>

#include "veil_guest.h"

static DEFINE_MUTEX(veil_guest_probes_lock);

void veil_guest_probes_arm(struct veil_guest_probes *p)
{
	int err;

	mutex_lock(&veil_guest_probes_lock);
	if (!p->armed && !p->failed) {
		err = register_kprobes(p->kps, p->nr);
		if (err) {
			p->failed = true;
			pr_warn("cannot register the kprobe on %s%s (%d): %s\n",
				p->kps[0]->symbol_name, p->nr > 1 ? " and others" : "",
				err, p->lost);
		} else {
			WRITE_ONCE(p->armed, true);
		}
	}
	mutex_unlock(&veil_guest_probes_lock);
}

/* Unregisters @p if it is armed; it may be armed again after. */
void veil_guest_probes_disarm(struct veil_guest_probes *p)
{
	mutex_lock(&veil_guest_probes_lock);
	if (p->armed)
		unregister_kprobes(p->kps, p->nr);
	WRITE_ONCE(p->armed, false);
	mutex_unlock(&veil_guest_probes_lock);
}
