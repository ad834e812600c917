// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt keys: a hex string or a kernel keyring reference
 * ":<size>:<logon|user>:<description>", and the values derived from the
 * key that authenticate the image header (uapi/linux/veilcrypt.h): the key
 * digest that tells a wrong key from the right one, and the MAC key.
 * HKDF-SHA256 (RFC 5869) is done here with hmac(sha256), one block of
 * output per value.
 */
#include <linux/key.h>
#include <linux/key-type.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <keys/user-type.h>
#include <crypto/algapi.h>
#include <crypto/hash.h>
#include <crypto/sha2.h>

#include "vcrypt.h"

static int vcrypt_key_from_keyring(const char *arg, u8 *key,
				   unsigned int *size, char **ref,
				   char **error)
{
	const struct user_key_payload *ukp;
	struct key_type *type;
	char *desc, *type_name;
	unsigned int want;
	struct key *k;
	char *copy, *p;
	int r;

	copy = kstrdup(arg, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;

	/* ":<size>:<type>:<description>" */
	p = copy + 1;
	type_name = strchr(p, ':');
	if (!type_name)
		goto bad_format;
	*type_name++ = '\0';
	desc = strchr(type_name, ':');
	if (!desc)
		goto bad_format;
	*desc++ = '\0';
	if (kstrtouint(p, 10, &want) || want == 0 ||
	    want > VEILCRYPT_MAX_KEY_SIZE) {
		*error = "Invalid key size in keyring reference";
		r = -EINVAL;
		goto out;
	}
	if (!*desc) {
		*error = "Empty key description in keyring reference";
		r = -EINVAL;
		goto out;
	}
	if (!strcmp(type_name, "logon")) {
		type = &key_type_logon;
	} else if (!strcmp(type_name, "user")) {
		type = &key_type_user;
	} else {
		*error = "Keyring key type must be logon or user";
		r = -EINVAL;
		goto out;
	}

	k = request_key(type, desc, NULL);
	if (IS_ERR(k)) {
		*error = "Key not found in the keyring";
		r = PTR_ERR(k);
		goto out;
	}
	down_read(&k->sem);
	ukp = user_key_payload_locked(k);
	if (!ukp) {
		*error = "Keyring key was revoked";
		r = -EKEYREVOKED;
	} else if (ukp->datalen != want) {
		*error = "Keyring key size differs from the reference";
		r = -EINVAL;
	} else {
		memcpy(key, ukp->data, want);
		*size = want;
		r = 0;
	}
	up_read(&k->sem);
	key_put(k);
	if (!r) {
		*ref = kstrdup(arg, GFP_KERNEL);
		if (!*ref) {
			memzero_explicit(key, want);
			r = -ENOMEM;
		}
	}
	goto out;

bad_format:
	*error = "Invalid keyring reference (want :size:type:description)";
	r = -EINVAL;
out:
	kfree(copy);
	return r;
}

/**
 * vcrypt_key_parse - read the key argument of a table or a message
 * @arg: hex digits, ":<size>:<logon|user>:<desc>", or "-" for no key
 * @key: VEILCRYPT_MAX_KEY_SIZE bytes receiving the key
 * @size: receives the key size (0 for "-")
 * @ref: receives a copy of @arg for a keyring reference, else NULL
 * @error: receives a static message on failure
 */
int vcrypt_key_parse(const char *arg, u8 *key, unsigned int *size,
		     char **ref, char **error)
{
	size_t len = strlen(arg);

	*ref = NULL;
	*size = 0;
	if (!strcmp(arg, "-"))
		return 0;
	if (arg[0] == ':')
		return vcrypt_key_from_keyring(arg, key, size, ref, error);

	if (len == 0 || len % 2 || len / 2 > VEILCRYPT_MAX_KEY_SIZE) {
		*error = "Invalid key: want an even number of hex digits, at most 128";
		return -EINVAL;
	}
	if (hex2bin(key, arg, len / 2)) {
		memzero_explicit(key, VEILCRYPT_MAX_KEY_SIZE);
		*error = "Invalid key: not hex";
		return -EINVAL;
	}
	*size = len / 2;
	return 0;
}

static int vcrypt_hmac(struct crypto_shash *tfm, const u8 *key,
		       unsigned int key_len, const void *a, unsigned int a_len,
		       const void *b, unsigned int b_len, u8 *out)
{
	int r;

	r = crypto_shash_setkey(tfm, key, key_len);
	if (!r) {
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		r = crypto_shash_init(desc) ?:
		    crypto_shash_update(desc, a, a_len) ?:
		    crypto_shash_finup(desc, b, b_len, out);
		shash_desc_zero(desc);
	}
	return r;
}

/* HKDF-Expand for one block: HMAC(prk, info || 0x01). */
static int vcrypt_hkdf_expand1(struct crypto_shash *tfm, const u8 *prk,
			       const char *info, size_t info_len, u8 *out)
{
	static const u8 one = 1;

	return vcrypt_hmac(tfm, prk, SHA256_DIGEST_SIZE, info, info_len,
			   &one, 1, out);
}

/**
 * vcrypt_key_derive - the key digest and header MAC key of a volume key
 * @key: the volume key
 * @size: its size in bytes
 * @uuid: the image UUID, HKDF's salt
 * @digest: receives VEILCRYPT_DIGEST_LEN bytes, compared with key_digest
 * @mac_key: receives SHA256_DIGEST_SIZE bytes (wipe it after use)
 */
int vcrypt_key_derive(const u8 *key, unsigned int size, const u8 *uuid,
		      u8 *digest, u8 *mac_key)
{
	static const char digest_info[] = VEILCRYPT_DIGEST_INFO;
	static const char mac_info[] = VEILCRYPT_MAC_INFO;
	struct crypto_shash *tfm;
	u8 prk[SHA256_DIGEST_SIZE];
	int r;

	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	/* HKDF-Extract: PRK = HMAC(salt = uuid, ikm = key). */
	r = vcrypt_hmac(tfm, uuid, VEILCRYPT_UUID_LEN, key, size, NULL, 0, prk) ?:
	    vcrypt_hkdf_expand1(tfm, prk, digest_info, sizeof(digest_info) - 1,
				digest) ?:
	    vcrypt_hkdf_expand1(tfm, prk, mac_info, sizeof(mac_info) - 1,
				mac_key);
	memzero_explicit(prk, sizeof(prk));
	crypto_free_shash(tfm);
	return r;
}

/* The MAC of an encoded header: HMAC(mac_key, bytes before the mac). */
int vcrypt_header_mac(const u8 *mac_key, const void *hdr, u8 *mac)
{
	struct crypto_shash *tfm;
	int r;

	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	r = vcrypt_hmac(tfm, mac_key, SHA256_DIGEST_SIZE, hdr,
			VEILCRYPT_MAC_OFFSET, NULL, 0, mac);
	crypto_free_shash(tfm);
	return r;
}
