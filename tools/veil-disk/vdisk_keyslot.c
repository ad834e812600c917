// SPDX-License-Identifier: GPL-2.0
/*
 * Keyslots (uapi/linux/veilcrypt.h): a secret goes through Argon2id with
 * the slot's salt and cost into a 32-byte slot key; the volume key is
 * split into VEILCRYPT_AF_STRIPES anti-forensic stripes (each stripe
 * random but the last, joined by a SHA-256 diffusion, so that losing any
 * part of the area loses the key) and the stripes are encrypted with
 * AES-256-GCM under the slot key into the slot's area, with the image
 * UUID and the slot number as additional data.
 *
 * The Argon2id cost is measured on this machine at format / add-key time
 * (cryptsetup's way): the memory cost is the smaller of 1 GiB and half of
 * RAM, the lanes min(4, CPUs), and the iterations fill --iter-time
 * (default 2 s), at least 4; when 4 iterations take longer, less memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "vdisk.h"

#define PBKDF_MAX_MEMORY_KIB	(1U << 20)	/* 1 GiB */
#define PBKDF_MIN_ITERATIONS	4
#define SHA256_LEN		32

size_t keyslot_material_len(const struct vcrypt_hdr *h)
{
	return (size_t)VEILCRYPT_AF_STRIPES * h->key_size;
}

/* Locked memory for split key material, wiped by free_material(). */
static uint8_t *alloc_material(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	mlock(p, len);
	madvise(p, len, MADV_DONTDUMP);
	return p;
}

static void free_material(uint8_t *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	munmap(p, len);
}

/* One SHA-256 method and context for all the diffusions of a split. */
struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

static int hasher_init(struct hasher *hs)
{
	hs->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	hs->ctx = EVP_MD_CTX_new();
	return hs->md && hs->ctx ? 0 : -1;
}

static void hasher_free(struct hasher *hs)
{
	EVP_MD_CTX_free(hs->ctx);
	EVP_MD_free(hs->md);
}

/* Each 32-byte block i of @d becomes SHA-256(be32(i) || block), cut to size. */
static int diffuse(struct hasher *hs, uint8_t *d, size_t len)
{
	uint8_t md[SHA256_LEN], idx[4];
	size_t off, n;
	uint32_t i;
	int ok = 1;

	for (i = 0, off = 0; off < len && ok; i++, off += SHA256_LEN) {
		n = len - off < SHA256_LEN ? len - off : SHA256_LEN;
		idx[0] = (uint8_t)(i >> 24);
		idx[1] = (uint8_t)(i >> 16);
		idx[2] = (uint8_t)(i >> 8);
		idx[3] = (uint8_t)i;
		ok = EVP_DigestInit_ex(hs->ctx, hs->md, NULL) &&
		     EVP_DigestUpdate(hs->ctx, idx, sizeof(idx)) &&
		     EVP_DigestUpdate(hs->ctx, d + off, n) &&
		     EVP_DigestFinal_ex(hs->ctx, md, NULL);
		memcpy(d + off, md, n);
	}
	OPENSSL_cleanse(md, sizeof(md));
	return ok ? 0 : -1;
}

static void xor_into(uint8_t *d, const uint8_t *s, size_t len)
{
	while (len--)
		*d++ ^= *s++;
}

/* Split @key (@len bytes) into @stripes stripes at @out. */
static int af_split(const uint8_t *key, size_t len, unsigned int stripes,
		    uint8_t *out)
{
	uint8_t acc[VEILCRYPT_MAX_KEY_SIZE] = { 0 };
	struct hasher hs;
	unsigned int i;
	int r;

	r = hasher_init(&hs);
	if (!r && RAND_bytes(out, (int)(len * (stripes - 1))) != 1)
		r = -1;
	for (i = 0; i + 1 < stripes && !r; i++) {
		xor_into(acc, out + i * len, len);
		r = diffuse(&hs, acc, len);
	}
	if (!r) {
		memcpy(out + i * len, acc, len);
		xor_into(out + i * len, key, len);
	}
	OPENSSL_cleanse(acc, sizeof(acc));
	hasher_free(&hs);
	return r;
}

static int af_merge(const uint8_t *in, size_t len, unsigned int stripes,
		    uint8_t *key)
{
	uint8_t acc[VEILCRYPT_MAX_KEY_SIZE] = { 0 };
	struct hasher hs;
	unsigned int i;
	int r;

	r = hasher_init(&hs);
	for (i = 0; i + 1 < stripes && !r; i++) {
		xor_into(acc, in + i * len, len);
		r = diffuse(&hs, acc, len);
	}
	if (!r) {
		memcpy(key, in + i * len, len);
		xor_into(key, acc, len);
	}
	OPENSSL_cleanse(acc, sizeof(acc));
	hasher_free(&hs);
	return r;
}

static int argon2(const struct vcrypt_keyslot *ks, const struct secret *s,
		  uint8_t *kek)
{
	int r;

	r = argon2id_hash_raw(ks->kdf_iterations, ks->kdf_memory, ks->kdf_parallel,
			      s->buf, s->len, ks->salt, sizeof(ks->salt),
			      kek, VDISK_KEK_LEN);
	if (r != ARGON2_OK) {
		err("argon2id (t=%u, m=%u KiB, p=%u): %s", ks->kdf_iterations,
		    ks->kdf_memory, ks->kdf_parallel, argon2_error_message(r));
		return -1;
	}
	return 0;
}

static long elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

long pbkdf_time_ms(const struct vcrypt_keyslot *ks)
{
	static const struct secret probe = { .buf = "veil-disk benchmark", .len = 19 };
	struct vcrypt_keyslot k = *ks;
	uint8_t kek[VDISK_KEK_LEN];
	struct timespec t0;

	memset(k.salt, 0x5a, sizeof(k.salt));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (argon2(&k, &probe, kek))
		return -1;
	return elapsed_ms(&t0);
}

int pbkdf_choose(const struct pbkdf_opts *o, struct vcrypt_keyslot *ks)
{
	uint32_t target = o->iter_time_ms ? o->iter_time_ms : 2000;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), t1;
	struct sysinfo si;
	uint64_t mem;

	ks->kdf = VEILCRYPT_KDF_ARGON2ID;
	ks->kdf_parallel = o->parallel ? o->parallel : (cpus >= 4 ? 4 : cpus > 0 ? (uint32_t)cpus : 1);
	if (o->memory_kib) {
		mem = o->memory_kib;
	} else {
		mem = PBKDF_MAX_MEMORY_KIB;
		if (!sysinfo(&si) && (uint64_t)si.totalram * si.mem_unit / 2048 < mem)
			mem = (uint64_t)si.totalram * si.mem_unit / 2048;
	}
	if (mem < VEILCRYPT_KDF_MIN_MEMORY * ks->kdf_parallel)
		mem = VEILCRYPT_KDF_MIN_MEMORY * ks->kdf_parallel;
	if (mem > VEILCRYPT_KDF_MAX_MEMORY || ks->kdf_parallel > VEILCRYPT_KDF_MAX_PARALLEL) {
		err("Argon2id cost out of range (memory at most %u KiB, at most %u lanes)",
		    VEILCRYPT_KDF_MAX_MEMORY, VEILCRYPT_KDF_MAX_PARALLEL);
		return VEIL_EXIT_USAGE;
	}
	ks->kdf_memory = (uint32_t)mem;
	if (o->force_iterations) {
		if (o->force_iterations > VEILCRYPT_KDF_MAX_ITERATIONS) {
			err("--pbkdf-force-iterations: at most %u", VEILCRYPT_KDF_MAX_ITERATIONS);
			return VEIL_EXIT_USAGE;
		}
		ks->kdf_iterations = o->force_iterations;
		return VEIL_EXIT_OK;
	}

	ks->kdf_iterations = 1;
	t1 = pbkdf_time_ms(ks);
	if (t1 < 0)
		return VEIL_EXIT_FAILED;
	if (t1 < 1)
		t1 = 1;
	if ((uint64_t)t1 * PBKDF_MIN_ITERATIONS > target) {
		/* Even the minimum takes too long: less memory. */
		mem = mem * target / ((uint64_t)t1 * PBKDF_MIN_ITERATIONS);
		if (!o->memory_kib)
			ks->kdf_memory = mem > VEILCRYPT_KDF_MIN_MEMORY * ks->kdf_parallel ?
					 (uint32_t)mem : VEILCRYPT_KDF_MIN_MEMORY * ks->kdf_parallel;
		ks->kdf_iterations = PBKDF_MIN_ITERATIONS;
	} else {
		ks->kdf_iterations = (uint32_t)(target / (uint64_t)t1);
		if (ks->kdf_iterations > VEILCRYPT_KDF_MAX_ITERATIONS)
			ks->kdf_iterations = VEILCRYPT_KDF_MAX_ITERATIONS;
	}
	return VEIL_EXIT_OK;
}

static void gcm_aad(const struct vcrypt_hdr *h, unsigned int slot, uint8_t *aad)
{
	memcpy(aad, h->uuid, VEILCRYPT_UUID_LEN);
	aad[16] = (uint8_t)slot;
	aad[17] = (uint8_t)(slot >> 8);
	aad[18] = (uint8_t)(slot >> 16);
	aad[19] = (uint8_t)(slot >> 24);
}

/* AES-256-GCM of @len bytes in place; @tag is written (enc) or checked. */
static int gcm(bool enc, const uint8_t *kek, const struct vcrypt_hdr *h,
	       unsigned int slot, struct vcrypt_keyslot *ks, uint8_t *in,
	       uint8_t *out, size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t aad[VEILCRYPT_UUID_LEN + 4];
	int n, ok;

	if (!ctx)
		return -1;
	gcm_aad(h, slot, aad);
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, VEILCRYPT_NONCE_LEN, NULL) &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, kek, ks->nonce, enc) &&
	     EVP_CipherUpdate(ctx, NULL, &n, aad, sizeof(aad)) &&
	     EVP_CipherUpdate(ctx, out, &n, in, (int)len);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, VEILCRYPT_TAG_LEN,
					 ks->tag);
	ok = ok && EVP_CipherFinal_ex(ctx, out + n, &n);
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, VEILCRYPT_TAG_LEN,
					 ks->tag);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : 1;
}

int keyslot_seal(const struct vcrypt_hdr *h, unsigned int slot,
		 const struct secret *s, const uint8_t *vk,
		 struct vcrypt_keyslot *ks, uint8_t *area)
{
	size_t len = keyslot_material_len(h);
	uint8_t kek[VDISK_KEK_LEN];
	uint8_t *split;
	int r = VEIL_EXIT_FAILED;

	split = alloc_material(len);
	if (!split) {
		err("cannot allocate memory for the keyslot");
		return VEIL_EXIT_FAILED;
	}
	ks->state = VEILCRYPT_SLOT_ACTIVE;
	ks->kind = s->kind;
	ks->area_cipher = VEILCRYPT_AREA_AES256_GCM;
	ks->stripes = VEILCRYPT_AF_STRIPES;
	if (RAND_bytes(ks->salt, sizeof(ks->salt)) != 1 ||
	    RAND_bytes(ks->nonce, sizeof(ks->nonce)) != 1 ||
	    RAND_bytes(area, VEILCRYPT_KEYSLOT_AREA_SIZE) != 1) {
		err("no random bytes for the keyslot");
		goto out;
	}
	if (af_split(vk, h->key_size, VEILCRYPT_AF_STRIPES, split) ||
	    argon2(ks, s, kek))
		goto out;
	if (gcm(true, kek, h, slot, ks, split, area, len)) {
		err("AES-256-GCM failed");
		goto out;
	}
	r = VEIL_EXIT_OK;
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	free_material(split, len);
	return r;
}

int keyslot_open(const struct vcrypt_hdr *h, unsigned int slot,
		 const struct secret *s, const uint8_t *area, uint8_t *vk)
{
	struct vcrypt_keyslot ks = h->keyslots[slot];
	size_t len = keyslot_material_len(h);
	uint8_t kek[VDISK_KEK_LEN];
	uint8_t *split, *copy;
	int r = VEIL_EXIT_FAILED;

	if (ks.state != VEILCRYPT_SLOT_ACTIVE)
		return VEIL_EXIT_AUTH;
	split = alloc_material(len);
	copy = malloc(len);
	if (!split || !copy) {
		err("cannot allocate memory for the keyslot");
		goto out;
	}
	memcpy(copy, area, len);
	if (argon2(&ks, s, kek))
		goto out;
	r = gcm(false, kek, h, slot, &ks, copy, split, len);
	if (r) {
		r = r < 0 ? VEIL_EXIT_FAILED : VEIL_EXIT_AUTH;
		goto out;
	}
	r = af_merge(split, h->key_size, VEILCRYPT_AF_STRIPES, vk) ?
	    VEIL_EXIT_FAILED : VEIL_EXIT_OK;
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	free_material(split, len);
	free(copy);
	return r;
}
