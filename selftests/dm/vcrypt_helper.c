// SPDX-License-Identifier: GPL-2.0
/*
 * vcrypt_helper: what dm_veilcrypt.sh needs beyond busybox.
 *
 *   vcrypt_helper cases
 *       the tamper cases, one a line
 *   vcrypt_helper tamper IMAGE CASE [primary|backup|both]
 *       change one header field the way an attacker without the key
 *       would: a plausible value, the CRC recomputed, the MAC left as it
 *       was; prints the ti->error dm-veilcrypt must refuse it with
 *   vcrypt_helper reseal IMAGE CASE VOLUME_KEY_FILE
 *       the same change on both copies, but sealed with a valid MAC (as a
 *       newer veil-disk, or a buggy one, would write it); prints the
 *       ti->error, or "accepted"
 *   vcrypt_helper addkey TYPE DESCRIPTION KEYFILE
 *       put KEYFILE's bytes in the user-session keyring as a TYPE key
 *   vcrypt_helper                            (as a test) every tamper
 *       case passes the codec, so that only the MAC can catch it, and
 *       every reseal case gets the codec's verdict it should
 *
 * The MAC is computed here with OpenSSL from the definition in
 * uapi/linux/veilcrypt.h, independently of veil-disk and the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "vcrypt_hdr.h"

#define KEY_SPEC_USER_SESSION_KEYRING	-5

#define E_MAC	"Header MAC does not verify"
#define E_KEY	"Key does not match header key_digest"
#define E_PLAIN	"Plain image header, but the table gives a key"

struct tamper_case {
	const char *name;
	void (*apply)(struct vcrypt_hdr *h, u8 *raw);
	bool raw;			/* edits the bytes, not the fields */
	const char *tamper_err;		/* CRC resealed only */
	int codec_err;			/* with a valid MAC: the codec's verdict */
	const char *reseal_err;		/* ... and the target's, past the codec */
};

/* A slot in use, for the keyslot cases. */
static struct vcrypt_keyslot *first_slot(struct vcrypt_hdr *h)
{
	int i;

	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++)
		if (h->keyslots[i].state == VEILCRYPT_SLOT_ACTIVE)
			return &h->keyslots[i];
	return &h->keyslots[0];
}

static void t_magic(struct vcrypt_hdr *h, u8 *raw) { (void)h; raw[0] ^= 0x20; }
static void t_version(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->version = 1; }
static void t_hdr_size(struct vcrypt_hdr *h, u8 *raw) { (void)h; raw[13] = 0x20; }
static void t_incompat(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->incompat |= 1ULL << 17; }
static void t_compat(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->compat |= 1ULL << 9; }
static void t_seq(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->seq += 5; }
static void t_cipher_id(struct vcrypt_hdr *h, u8 *raw)
{
	(void)raw;
	h->cipher_id = h->cipher_id == VEILCRYPT_CIPHER_SERPENT_XTS_PLAIN64 ?
		       VEILCRYPT_CIPHER_AES_XTS_PLAIN64 : VEILCRYPT_CIPHER_SERPENT_XTS_PLAIN64;
}

static void t_key_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->key_size = 32; }
static void t_sector_size(struct vcrypt_hdr *h, u8 *raw)
{
	(void)raw;
	h->sector_size = h->sector_size == 4096 ? 512 : 4096;
}

static void t_data_offset(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->data_offset += 1 << 20; }
static void t_data_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->data_size -= 4096; }
static void t_uuid(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->uuid[5] ^= 0x40; }
static void t_key_digest(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->key_digest[0] ^= 1; }
static void t_mac(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->mac[31] ^= 0x80; }
static void t_slot_iter(struct vcrypt_hdr *h, u8 *raw) { (void)raw; first_slot(h)->kdf_iterations += 1; }
static void t_slot_memory(struct vcrypt_hdr *h, u8 *raw) { (void)raw; first_slot(h)->kdf_memory *= 2; }
static void t_slot_salt(struct vcrypt_hdr *h, u8 *raw) { (void)raw; first_slot(h)->salt[7] ^= 4; }
static void t_slot_tag(struct vcrypt_hdr *h, u8 *raw) { (void)raw; first_slot(h)->tag[0] ^= 4; }
static void t_slot_kind(struct vcrypt_hdr *h, u8 *raw)
{
	struct vcrypt_keyslot *s = first_slot(h);

	(void)raw;
	s->kind = s->kind == VEILCRYPT_SLOT_KEYFILE ? VEILCRYPT_SLOT_PASSPHRASE :
						     VEILCRYPT_SLOT_KEYFILE;
}

static void t_slot_drop(struct vcrypt_hdr *h, u8 *raw)
{
	(void)raw;
	memset(first_slot(h), 0, sizeof(struct vcrypt_keyslot));
}

/* The downgrade: an encrypted image's header says "plain". */
static void t_plain(struct vcrypt_hdr *h, u8 *raw)
{
	(void)raw;
	h->flags = 0;
	h->cipher_id = 0;
	h->key_size = 0;
	memset(h->key_digest, 0, sizeof(h->key_digest));
	memset(h->mac, 0, sizeof(h->mac));
	memset(h->keyslots, 0, sizeof(h->keyslots));
}

static void t_reserved(struct vcrypt_hdr *h, u8 *raw) { (void)h; raw[3000] = 0x5a; }

/* Only as reseal cases: values the codec or the target refuse. */
static void t_unknown_cipher(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->cipher_id = 0x7777; }
static void t_cipher_key_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->key_size = 48; }
static void t_device_small(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->data_size *= 4; }
static void t_bad_sector_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->sector_size = 2048; }

static const struct tamper_case cases[] = {
	{ "magic", t_magic, true, "Invalid header magic", VCRYPT_HDR_EMAGIC, NULL },
	{ "version", t_version, false, "Unsupported header version", VCRYPT_HDR_EVERSION, NULL },
	{ "hdr_size", t_hdr_size, true, "Invalid header hdr_size", VCRYPT_HDR_EHDR_SIZE, NULL },
	{ "incompat", t_incompat, false, "Header incompat features unknown",
	  VCRYPT_HDR_EINCOMPAT, NULL },
	{ "compat", t_compat, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "seq", t_seq, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "flags_plain", t_plain, false, E_PLAIN, VCRYPT_HDR_OK, E_PLAIN },
	{ "cipher_id", t_cipher_id, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "key_size", t_key_size, false, E_MAC, VCRYPT_HDR_OK,
	  "Key size differs from header key_size" },
	{ "sector_size", t_sector_size, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "data_offset", t_data_offset, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "data_size", t_data_size, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "uuid", t_uuid, false, E_KEY, VCRYPT_HDR_OK, "accepted" },
	{ "key_digest", t_key_digest, false, E_KEY, VCRYPT_HDR_OK, E_KEY },
	{ "keyslot_iterations", t_slot_iter, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "keyslot_memory", t_slot_memory, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "keyslot_salt", t_slot_salt, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "keyslot_tag", t_slot_tag, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "keyslot_kind", t_slot_kind, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "keyslot_removed", t_slot_drop, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "mac", t_mac, false, E_MAC, VCRYPT_HDR_OK, "accepted" },
	{ "reserved", t_reserved, true, E_MAC, VCRYPT_HDR_ERESERVED,
	  "Header reserved bytes not zero" },
	{ "unknown_cipher_id", t_unknown_cipher, false, NULL, VCRYPT_HDR_OK,
	  "Unknown header cipher_id" },
	{ "key_size_for_cipher", t_cipher_key_size, false, NULL, VCRYPT_HDR_OK,
	  "Header key_size not supported by the cipher" },
	{ "device_smaller_than_header", t_device_small, false, NULL, VCRYPT_HDR_OK,
	  "Device smaller than header data_offset + data_size" },
	{ "sector_size_2048", t_bad_sector_size, false, NULL, VCRYPT_HDR_ESECTOR_SIZE,
	  "Invalid header sector_size" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void reseal_crc(u8 *raw)
{
	u32 csum = vcrypt_crc32(raw, offsetof(struct veilcrypt_header, checksum));

	raw[4092] = (u8)csum;
	raw[4093] = (u8)(csum >> 8);
	raw[4094] = (u8)(csum >> 16);
	raw[4095] = (u8)(csum >> 24);
}

static int hkdf(const u8 *vk, size_t len, const u8 *uuid, const char *info, u8 *out)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)vk, len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)uuid, 16),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						  strlen(info)),
		OSSL_PARAM_construct_end()
	};
	int ok = ctx && EVP_KDF_derive(ctx, out, 32, p) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

/* Seal an encoded copy with the key digest and MAC of @vk, as veil-disk would. */
static int seal_raw(u8 *raw, const u8 *vk, size_t len)
{
	struct veilcrypt_header *d = (void *)raw;
	EVP_MAC *hmac;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_end()
	};
	u8 mac_key[32], mac[32] = { 0 };
	size_t n = 0;
	int ok;

	if (!(le32_to_cpu(d->flags) & VEILCRYPT_F_ENCRYPTED)) {
		reseal_crc(raw);
		return 0;
	}
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	ok = !hkdf(vk, len, d->uuid, VEILCRYPT_DIGEST_INFO, d->key_digest) &&
	     !hkdf(vk, len, d->uuid, VEILCRYPT_MAC_INFO, mac_key) &&
	     ctx && EVP_MAC_init(ctx, mac_key, 32, p) &&
	     EVP_MAC_update(ctx, raw, VEILCRYPT_MAC_OFFSET) &&
	     EVP_MAC_final(ctx, mac, &n, 32);
	vcrypt_hdr_set_mac(raw, mac);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	return ok ? 0 : -1;
}

/*
 * Apply @c to one encoded copy.  @vk NULL: the CRC only (the attacker);
 * else a valid key digest and MAC as well.
 */
static int apply_case(u8 *raw, const struct tamper_case *c, const u8 *vk, size_t len)
{
	struct vcrypt_hdr h;

	if (vcrypt_hdr_decode(raw, &h) != VCRYPT_HDR_OK) {
		fprintf(stderr, "vcrypt_helper: header copy already invalid\n");
		return -1;
	}
	c->apply(&h, raw);
	if (!c->raw)
		vcrypt_hdr_encode(&h, raw);	/* the old mac, a new CRC */
	if (vk)
		return seal_raw(raw, vk, len);
	reseal_crc(raw);
	return 0;
}

static int rw_copies(const char *path, u8 *buf, bool write)
{
	int fd = open(path, write ? O_RDWR : O_RDONLY);
	ssize_t a, b;

	if (fd < 0)
		goto bad;
	if (write) {
		a = pwrite(fd, buf, 4096, 0);
		b = pwrite(fd, buf + 4096, 4096, VEILCRYPT_BACKUP_OFFSET);
		if (fsync(fd))
			a = -1;
	} else {
		a = pread(fd, buf, 4096, 0);
		b = pread(fd, buf + 4096, 4096, VEILCRYPT_BACKUP_OFFSET);
	}
	close(fd);
	if (a == 4096 && b == 4096)
		return 0;
bad:
	fprintf(stderr, "vcrypt_helper: %s: %s\n", path, strerror(errno ? errno : EIO));
	return -1;
}

static const struct tamper_case *find_case(const char *name)
{
	size_t i;

	for (i = 0; i < NCASES; i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	fprintf(stderr, "vcrypt_helper: no case '%s'\n", name);
	return NULL;
}

static int tamper_file(const char *path, const struct tamper_case *c, const char *which)
{
	static u8 buf[2 * 4096];

	if (!c->tamper_err) {
		fprintf(stderr, "vcrypt_helper: %s is a reseal case only\n", c->name);
		return 1;
	}
	if (rw_copies(path, buf, false) ||
	    (strcmp(which, "backup") && apply_case(buf, c, NULL, 0)) ||
	    (strcmp(which, "primary") && apply_case(buf + 4096, c, NULL, 0)) ||
	    rw_copies(path, buf, true))
		return 1;
	printf("%s\n", c->tamper_err);
	return 0;
}

static int reseal_file(const char *path, const struct tamper_case *c, const char *vkfile)
{
	static u8 buf[2 * 4096];
	u8 vk[65];
	ssize_t n;
	int fd;

	fd = open(vkfile, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, vk, sizeof(vk));
	if (fd >= 0)
		close(fd);
	if (n < 16 || n > 64) {
		fprintf(stderr, "vcrypt_helper: %s: not a volume key\n", vkfile);
		return 1;
	}
	if (rw_copies(path, buf, false) || apply_case(buf, c, vk, (size_t)n) ||
	    apply_case(buf + 4096, c, vk, (size_t)n) || rw_copies(path, buf, true))
		return 1;
	printf("%s\n", c->codec_err != VCRYPT_HDR_OK ? vcrypt_hdr_strerror(c->codec_err) :
	       c->reseal_err);
	return 0;
}

static int addkey(const char *type, const char *desc, const char *path)
{
	static unsigned char key[8192];
	ssize_t n;
	long id;
	int fd;

	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, key, sizeof(key));
	if (n <= 0) {
		fprintf(stderr, "vcrypt_helper: %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	id = syscall(SYS_add_key, type, desc, key, (size_t)n,
		     KEY_SPEC_USER_SESSION_KEYRING);
	memset(key, 0, sizeof(key));
	if (id < 0) {
		fprintf(stderr, "vcrypt_helper: add_key: %s\n", strerror(errno));
		return 1;
	}
	printf("%ld\n", id);
	return 0;
}

/*
 * Run as a test: a tampered copy still passes the codec (only the MAC can
 * tell), except for the fields checked before the MAC; a resealed one gets
 * the codec's verdict of the case.
 */
static int self_test(void)
{
	static const u8 vk[64] = { 1, 2, 3 };
	struct vcrypt_hdr good = {
		.version = VEILCRYPT_VERSION, .seq = 1,
		.flags = VEILCRYPT_F_ENCRYPTED,
		.cipher_id = VEILCRYPT_CIPHER_AES_XTS_PLAIN64, .key_size = 64,
		.sector_size = 4096, .data_offset = 4 << 20, .data_size = 4 << 20,
		.uuid = { 0x5e },
		.keyslots[2] = {
			.state = VEILCRYPT_SLOT_ACTIVE, .kind = VEILCRYPT_SLOT_KEYFILE,
			.kdf = VEILCRYPT_KDF_ARGON2ID, .kdf_iterations = 1,
			.kdf_memory = 64, .kdf_parallel = 1,
			.area_cipher = VEILCRYPT_AREA_AES256_GCM,
			.stripes = VEILCRYPT_AF_STRIPES, .salt = { 9 }, .nonce = { 8 },
		},
	};
	u8 raw[VEILCRYPT_HDR_SIZE], sealed[VEILCRYPT_HDR_SIZE];
	unsigned int i, t = 0, failed = 0;
	struct vcrypt_hdr out;
	int r;

	for (i = 0; i < NCASES; i++)
		t += cases[i].tamper_err ? 2 : 1;
	printf("TAP version 13\n1..%u\n", t);
	t = 0;
	vcrypt_hdr_encode(&good, sealed);
	if (seal_raw(sealed, vk, sizeof(vk)))
		return 1;
	for (i = 0; i < NCASES; i++) {
		const struct tamper_case *c = &cases[i];

		if (c->tamper_err) {
			t++;
			memcpy(raw, sealed, sizeof(raw));
			r = apply_case(raw, c, NULL, 0) ?: vcrypt_hdr_decode(raw, &out);
			if (r == c->codec_err) {
				printf("ok %u tampered %s: codec says %s%s\n", t, c->name,
				       vcrypt_hdr_field(r), r ? "" : ", only the MAC can refuse it");
			} else {
				failed++;
				printf("not ok %u tampered %s: codec wanted %s, saw %s\n", t,
				       c->name, vcrypt_hdr_field(c->codec_err), vcrypt_hdr_field(r));
			}
		}
		t++;
		memcpy(raw, sealed, sizeof(raw));
		r = apply_case(raw, c, vk, sizeof(vk)) ?: vcrypt_hdr_decode(raw, &out);
		if (r == c->codec_err) {
			printf("ok %u resealed %s: codec says %s\n", t, c->name, vcrypt_hdr_field(r));
		} else {
			failed++;
			printf("not ok %u resealed %s: codec wanted %s, saw %s\n", t, c->name,
			       vcrypt_hdr_field(c->codec_err), vcrypt_hdr_field(r));
		}
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct tamper_case *c;
	size_t i;

	if (argc == 1)
		return self_test();
	if (argc == 2 && !strcmp(argv[1], "cases")) {
		for (i = 0; i < NCASES; i++)
			if (cases[i].tamper_err)
				printf("%s\n", cases[i].name);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "reseal-cases")) {
		for (i = 0; i < NCASES; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "addkey"))
		return addkey(argv[2], argv[3], argv[4]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "tamper")) {
		c = find_case(argv[3]);
		return c ? tamper_file(argv[2], c, argc == 5 ? argv[4] : "both") : 1;
	}
	if (argc == 5 && !strcmp(argv[1], "reseal")) {
		c = find_case(argv[3]);
		return c ? reseal_file(argv[2], c, argv[4]) : 1;
	}
	fprintf(stderr, "usage: vcrypt_helper cases | reseal-cases\n"
			"       vcrypt_helper tamper IMAGE CASE [primary|backup|both]\n"
			"       vcrypt_helper reseal IMAGE CASE VOLUME_KEY_FILE\n"
			"       vcrypt_helper addkey TYPE DESCRIPTION KEYFILE\n");
	return 1;
}
