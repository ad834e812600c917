// SPDX-License-Identifier: GPL-2.0
/*
 * The kprobes veil_guest registers at the first exclusion (recall.c,
 * collect_sysvmsg.c, zero_freed.c, zero_frag.c, collect_socket.c,
 * collect_tls.c): each set once; a set that cannot be registered says in
 * the kernel log what is left unprotected, and stays off.  A set in a
 * module (kernel TLS) is armed again each time the module comes, and
 * its module missing is no failure.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/mutex.h>

#include "veil_guest.h"

static DEFINE_MUTEX(veil_guest_probes_lock);

void veil_guest_probes_arm(struct veil_guest_probes *p)
{
	unsigned int i;
	int err;

	mutex_lock(&veil_guest_probes_lock);
	if (!p->armed && !p->failed) {
		/* A kprobe registered and unregistered before starts afresh. */
		for (i = 0; i < p->nr; i++) {
			p->kps[i]->addr = NULL;
			p->kps[i]->flags = 0;
		}
		err = register_kprobes(p->kps, p->nr);
		if (!err) {
			WRITE_ONCE(p->armed, true);
		} else if (!p->module || err != -ENOENT) {
			/* A module's set is tried again when the module comes. */
			p->failed = !p->module;
			pr_warn("cannot register the kprobe on %s%s (%d): %s\n",
				p->kps[0]->symbol_name, p->nr > 1 ? " and others" : "",
				err, p->lost);
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
