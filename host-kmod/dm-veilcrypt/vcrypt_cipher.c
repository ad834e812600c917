// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt's cipher registry: header cipher IDs to crypto API
 * algorithms.  The built-ins are registered at module load; plug-in modules
 * add their own IDs with vcrypt_register_cipher().
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>

#include "vcrypt.h"

/* Protects vcrypt_ciphers and every registered cipher's list and users. */
static DEFINE_MUTEX(vcrypt_cipher_lock);
static LIST_HEAD(vcrypt_ciphers);

static struct vcrypt_cipher vcrypt_builtin_ciphers[] = {
	{
		.id = VEILCRYPT_CIPHER_AES_XTS_PLAIN64,
		.name = "aes-xts-plain64",
		.alg = "xts(aes)",
		.key_sizes = { 32, 64 },
		.iv_scheme = VCRYPT_IV_PLAIN64,
	}, {
		.id = VEILCRYPT_CIPHER_AES_CBC_ESSIV_SHA256,
		.name = "aes-cbc-essiv:sha256",
		/* the essiv template turns the plain64 IV into ESSIV */
		.alg = "essiv(cbc(aes),sha256)",
		.key_sizes = { 16, 24, 32 },
		.iv_scheme = VCRYPT_IV_PLAIN64,
	}, {
		.id = VEILCRYPT_CIPHER_SERPENT_XTS_PLAIN64,
		.name = "serpent-xts-plain64",
		.alg = "xts(serpent)",
		.key_sizes = { 32, 64 },
		.iv_scheme = VCRYPT_IV_PLAIN64,
	}, {
		.id = VEILCRYPT_CIPHER_ADIANTUM_PLAIN64,
		.name = "xchacha12,aes-adiantum-plain64",
		.alg = "adiantum(xchacha12,aes)",
		.key_sizes = { 32 },
		.iv_scheme = VCRYPT_IV_PLAIN64,
	},
};

static struct vcrypt_cipher *vcrypt_cipher_find(u32 id)
{
	struct vcrypt_cipher *c;

	lockdep_assert_held(&vcrypt_cipher_lock);
	list_for_each_entry(c, &vcrypt_ciphers, list)
		if (c->id == id)
			return c;
	return NULL;
}

static int vcrypt_cipher_add(struct vcrypt_cipher *c)
{
	unsigned int i;

	if (!c->name || !c->alg || !c->key_sizes[0] ||
	    c->iv_scheme != VCRYPT_IV_PLAIN64 || c->id == VEILCRYPT_CIPHER_NONE)
		return -EINVAL;
	for (i = 0; i < VCRYPT_MAX_KEY_SIZES && c->key_sizes[i]; i++)
		if (c->key_sizes[i] > VEILCRYPT_MAX_KEY_SIZE)
			return -EINVAL;

	mutex_lock(&vcrypt_cipher_lock);
	if (vcrypt_cipher_find(c->id)) {
		mutex_unlock(&vcrypt_cipher_lock);
		return -EEXIST;
	}
	c->users = 0;
	list_add_tail(&c->list, &vcrypt_ciphers);
	mutex_unlock(&vcrypt_cipher_lock);
	return 0;
}

/**
 * vcrypt_register_cipher - make a header cipher ID usable by dm-veilcrypt
 * @c: the plug-in, with @c->owner set to THIS_MODULE; it must stay valid
 *     until vcrypt_unregister_cipher() succeeds.
 *
 * Return: 0, -EINVAL for a malformed entry or an ID below
 * VEILCRYPT_CIPHER_PLUGIN_MIN, -EEXIST when the ID is taken.
 */
int vcrypt_register_cipher(struct vcrypt_cipher *c)
{
	int r;

	if (c->id < VEILCRYPT_CIPHER_PLUGIN_MIN || !c->owner)
		return -EINVAL;
	r = vcrypt_cipher_add(c);
	if (!r)
		pr_info("veilcrypt: cipher plug-in %#x (%s) registered\n",
			c->id, c->name);
	return r;
}
EXPORT_SYMBOL_GPL(vcrypt_register_cipher);

/**
 * vcrypt_unregister_cipher - withdraw a plug-in registered earlier
 * @c: the plug-in
 *
 * A table using @c holds a reference on @c->owner, so a plug-in module's
 * exit never races with a user; a direct call while in use is refused.
 *
 * Return: 0, -ENOENT when @c is not registered, -EBUSY while in use.
 */
int vcrypt_unregister_cipher(struct vcrypt_cipher *c)
{
	int r = 0;

	mutex_lock(&vcrypt_cipher_lock);
	if (vcrypt_cipher_find(c->id) != c)
		r = -ENOENT;
	else if (c->users)
		r = -EBUSY;
	else
		list_del(&c->list);
	mutex_unlock(&vcrypt_cipher_lock);
	if (!r)
		pr_info("veilcrypt: cipher plug-in %#x (%s) unregistered\n",
			c->id, c->name);
	return r;
}
EXPORT_SYMBOL_GPL(vcrypt_unregister_cipher);

/* Look up @id and pin it (and its module) until vcrypt_cipher_put(). */
const struct vcrypt_cipher *vcrypt_cipher_get(u32 id)
{
	struct vcrypt_cipher *c;

	mutex_lock(&vcrypt_cipher_lock);
	c = vcrypt_cipher_find(id);
	if (c && !try_module_get(c->owner))
		c = NULL;
	if (c)
		c->users++;
	mutex_unlock(&vcrypt_cipher_lock);
	return c;
}

void vcrypt_cipher_put(const struct vcrypt_cipher *cc)
{
	struct vcrypt_cipher *c = (struct vcrypt_cipher *)cc;
	struct module *owner = c->owner;

	mutex_lock(&vcrypt_cipher_lock);
	c->users--;
	mutex_unlock(&vcrypt_cipher_lock);
	module_put(owner);
}

bool vcrypt_cipher_key_size_ok(const struct vcrypt_cipher *c, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < VCRYPT_MAX_KEY_SIZES && c->key_sizes[i]; i++)
		if (c->key_sizes[i] == size)
			return true;
	return false;
}

int vcrypt_cipher_init(void)
{
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(vcrypt_builtin_ciphers); i++) {
		r = vcrypt_cipher_add(&vcrypt_builtin_ciphers[i]);
		if (r) {
			vcrypt_cipher_exit();
			return r;
		}
	}
	return 0;
}

void vcrypt_cipher_exit(void)
{
	unsigned int i;

	mutex_lock(&vcrypt_cipher_lock);
	for (i = 0; i < ARRAY_SIZE(vcrypt_builtin_ciphers); i++)
		if (!list_empty(&vcrypt_builtin_ciphers[i].list) &&
		    vcrypt_builtin_ciphers[i].list.next)
			list_del_init(&vcrypt_builtin_ciphers[i].list);
	mutex_unlock(&vcrypt_cipher_lock);
}
