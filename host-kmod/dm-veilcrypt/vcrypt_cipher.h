/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-veilcrypt cipher plug-ins.  An image header names its cipher by ID;
 * the registry maps the ID to a kernel crypto API algorithm.  A module may
 * register new IDs (at or above VEILCRYPT_CIPHER_PLUGIN_MIN); while a table
 * uses a plug-in its module cannot be unloaded.
 */
#ifndef _VCRYPT_CIPHER_H
#define _VCRYPT_CIPHER_H

#include <linux/list.h>
#include <linux/module.h>
#include <linux/types.h>
#include <linux/veilcrypt.h>

/* How a sector number becomes an IV. */
enum vcrypt_iv_scheme {
	/* little-endian 64-bit sector number, zero-padded to the IV size */
	VCRYPT_IV_PLAIN64 = 1,
};

#define VCRYPT_MAX_KEY_SIZES	4
#define VCRYPT_MAX_IV_SIZE	32

struct vcrypt_cipher {
	u32 id;				/* VEILCRYPT_CIPHER_* or plug-in ID */
	const char *name;		/* e.g. "aes-xts-plain64" */
	const char *alg;		/* crypto API name, e.g. "xts(aes)" */
	u32 key_sizes[VCRYPT_MAX_KEY_SIZES];	/* bytes, 0 ends the list */
	enum vcrypt_iv_scheme iv_scheme;
	struct module *owner;		/* THIS_MODULE of a plug-in */

	/* registry-private, protected by vcrypt_cipher_lock */
	struct list_head list;
	unsigned int users;
};

int vcrypt_register_cipher(struct vcrypt_cipher *c);
int vcrypt_unregister_cipher(struct vcrypt_cipher *c);

#endif /* _VCRYPT_CIPHER_H */
