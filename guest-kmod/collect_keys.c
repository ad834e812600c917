// SPDX-License-Identifier: GPL-2.0
/*
 * Keys: a secret an excluded process hands to the kernel with add_key()
 * and then wipes from its own memory lives on in the key's payload, a
 * kernel allocation no walk of its address space or descriptors finds.
 * The payloads of the "user" and "logon" keys in the process's own
 * keyrings (its thread keyrings and its process keyring, which die with
 * it) are taken byte by byte, with a reference on each key until THAW
 * or RESTORE so that the payload is not freed and reused meanwhile.
 *
 * Only a key no other keyring links and nobody else holds (its usage
 * count is the one link from the keyring) is its own: a key also in a
 * session or user keyring, which other processes search, would read as
 * zeros to them in a restored guest.  Session and user keyrings are not
 * walked for the same reason.  Keyrings linked into the process keyring
 * are walked the same way, a few levels deep.
 *
 * A keyring keeps its keys in an associative array (lib/assoc_array.c);
 * its nodes and shortcuts are walked here under RCU, which is how the
 * kernel's own keyring searches read it, with the pointer tags of
 * <linux/assoc_array_priv.h>.  A leaf is a key, tagged in bit 1 when it
 * is a keyring (security/keys/keyring.c, stable since 3.13).
 */
#include <linux/assoc_array_priv.h>
#include <linux/cred.h>
#include <linux/key.h>
#include <linux/key-type.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <keys/user-type.h>

#include "veil_guest.h"

#if IS_ENABLED(CONFIG_KEYS)

#define VEIL_GUEST_KEYRING_LEAF_TAG	0x2UL
/* Keyrings within keyrings, as the kernel's searches allow (6 deep). */
#define VEIL_GUEST_KEYRING_DEPTH	6
/* Levels of one array: 16 slots a node, so 16 levels index 64 bits. */
#define VEIL_GUEST_KEYRING_LEVELS	32

static void veil_guest_keyring_walk(const struct key *keyring,
				    struct veil_guest_collect *c, int depth);

/*
 * The payload of @key if it is a user or logon key of the excluded alone:
 * besides the link that led here, only our holds from the last PUBLISH
 * may reference it (a PREPARE before THAW; dry runs, which do not look at
 * those, see such a key as shared).
 */
static void veil_guest_take_key(struct key *key, struct veil_guest_collect *c)
{
	const struct user_key_payload *up;
	unsigned int ours;

	if (key->type != &key_type_user && key->type != &key_type_logon)
		return;
	if (key_read_state(key) != KEY_IS_POSITIVE ||
	    test_bit(KEY_FLAG_REVOKED, &key->flags))
		return;
	ours = c->prepare ? veil_guest_held_key_refs(key) : 0;
	if (refcount_read(&key->usage) != 1 + ours)
		return;
	if (!veil_guest_hold_key(&c->holds, key))
		return;
	up = user_key_payload_rcu(key);
	if (up && up->datalen)
		veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_KERNEL, up->data,
					    up->datalen);
}

static void veil_guest_keyring_leaf(const struct assoc_array_ptr *p,
				    struct veil_guest_collect *c, int depth)
{
	unsigned long obj = (unsigned long)assoc_array_ptr_to_leaf(p);
	struct key *key = (struct key *)(obj & ~VEIL_GUEST_KEYRING_LEAF_TAG);

	if (!key)
		return;
	if (!(obj & VEIL_GUEST_KEYRING_LEAF_TAG)) {
		veil_guest_take_key(key, c);
		return;
	}
	/* A keyring of its own, linked only here. */
	if (depth < VEIL_GUEST_KEYRING_DEPTH && refcount_read(&key->usage) == 1)
		veil_guest_keyring_walk(key, c, depth + 1);
}

static void veil_guest_keyring_ptr(const struct assoc_array_ptr *p,
				   struct veil_guest_collect *c, int depth, int level)
{
	const struct assoc_array_shortcut *sc;
	const struct assoc_array_node *node;
	const struct assoc_array_ptr *slot;
	int i;

	if (!p)
		return;
	if (level > VEIL_GUEST_KEYRING_LEVELS) {
		/* Deeper than any index: never publish less than is there. */
		c->holds.error = -ELOOP;
		return;
	}
	if (assoc_array_ptr_is_leaf(p)) {
		veil_guest_keyring_leaf(p, c, depth);
		return;
	}
	if (assoc_array_ptr_is_shortcut(p)) {
		sc = assoc_array_ptr_to_shortcut(p);
		veil_guest_keyring_ptr(READ_ONCE(sc->next_node), c, depth, level + 1);
		return;
	}
	node = assoc_array_ptr_to_node(p);
	for (i = 0; i < ASSOC_ARRAY_FAN_OUT; i++) {
		slot = READ_ONCE(node->slots[i]);
		veil_guest_keyring_ptr(slot, c, depth, level + 1);
	}
}

static void veil_guest_keyring_walk(const struct key *keyring,
				    struct veil_guest_collect *c, int depth)
{
	if (!keyring || keyring->type != &key_type_keyring)
		return;
	veil_guest_keyring_ptr(READ_ONCE(keyring->keys.root), c, depth, 0);
}

void veil_guest_collect_keys(struct task_struct *tsk, struct veil_guest_collect *c)
{
	const struct key *last_process = NULL;
	const struct cred *cred;
	struct task_struct *t;

	c->cat[VEIL_GUEST_CAT_KERNEL].nosleep = true;
	rcu_read_lock();
	for_each_thread(tsk, t) {
		cred = __task_cred(t);
		veil_guest_keyring_walk(cred->thread_keyring, c, 0);
		/* The threads of a process share its process keyring. */
		if (cred->process_keyring != last_process) {
			last_process = cred->process_keyring;
			veil_guest_keyring_walk(last_process, c, 0);
		}
	}
	rcu_read_unlock();
	c->cat[VEIL_GUEST_CAT_KERNEL].nosleep = false;
}

#else

void veil_guest_collect_keys(struct task_struct *tsk, struct veil_guest_collect *c)
{
}

#endif
