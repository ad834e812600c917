// SPDX-License-Identifier: GPL-2.0
/*
 * vcrypt_helper: what dm_veilcrypt.sh needs beyond busybox.
 *
 *   vcrypt_helper cases                      the corruption cases, one a line
 *   vcrypt_helper corrupt IMAGE CASE [primary|backup|both]
 *       damage a veilcrypt image the way the bad-input tests need (in the
 *       spirit of cryptsetup's corrupt-header scripts): a header field set
 *       to a wrong value and the checksum recomputed, so the field check
 *       itself must catch it; prints the ti->error dm-veilcrypt must give
 *   vcrypt_helper addkey TYPE DESCRIPTION KEYFILE
 *       put KEYFILE's bytes in the user-session keyring as a TYPE key
 *   vcrypt_helper                            (as a test) check that every
 *       corruption case makes the header codec report what it should
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "vcrypt_hdr.h"

#define KEY_SPEC_USER_SESSION_KEYRING	-5

enum how { FIELD, RAW_SEALED, RAW };

struct corrupt_case {
	const char *name;
	enum how how;
	void (*apply)(struct vcrypt_hdr *h, u8 *raw);
	int codec_err;		/* VCRYPT_HDR_OK: a check of the target's own */
	const char *target_err;
};

static void c_magic(struct vcrypt_hdr *h, u8 *raw) { (void)h; raw[0] ^= 0x20; }
static void c_checksum(struct vcrypt_hdr *h, u8 *raw) { (void)h; raw[4093] ^= 0x01; }
static void c_version(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->version = 99; }
static void c_seq(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->seq = 0; }
static void c_flags(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->flags |= 0x40; }
static void c_cipher_id(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->cipher_id = 0; }
static void c_key_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->key_size = 200; }
static void c_sector_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->sector_size = 2048; }
static void c_data_offset(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->data_offset = 4096; }
static void c_data_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->data_size = 0; }
static void c_uuid(struct vcrypt_hdr *h, u8 *raw) { (void)raw; memset(h->uuid, 0, sizeof(h->uuid)); }
static void c_overflow(struct vcrypt_hdr *h, u8 *raw)
{
	(void)raw;
	/* A sector-aligned size that wraps past 2^64 once added to the offset. */
	h->data_size = ~0ULL - (~0ULL % h->sector_size);
}

static void c_unknown_cipher(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->cipher_id = 0x7777; }
static void c_cipher_key_size(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->key_size = 48; }
static void c_device_small(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->data_size *= 2; }
static void c_key_check(struct vcrypt_hdr *h, u8 *raw) { (void)raw; h->key_check[3] ^= 0x10; }

/* hdr_size and reserved are not in struct vcrypt_hdr: poke the raw copy. */
static void c_hdr_size(struct vcrypt_hdr *h, u8 *raw) { (void)h; raw[13] = 0x20; }
static void c_reserved(struct vcrypt_hdr *h, u8 *raw) { (void)h; raw[3000] = 0x5a; }

static const struct corrupt_case cases[] = {
	{ "magic", RAW, c_magic, VCRYPT_HDR_EMAGIC, NULL },
	{ "checksum", RAW, c_checksum, VCRYPT_HDR_ECHECKSUM, NULL },
	{ "version", FIELD, c_version, VCRYPT_HDR_EVERSION, NULL },
	{ "hdr_size", RAW_SEALED, c_hdr_size, VCRYPT_HDR_EHDR_SIZE, NULL },
	{ "seq", FIELD, c_seq, VCRYPT_HDR_ESEQ, NULL },
	{ "flags", FIELD, c_flags, VCRYPT_HDR_EFLAGS, NULL },
	{ "cipher_id", FIELD, c_cipher_id, VCRYPT_HDR_ECIPHER_ID, NULL },
	{ "key_size", FIELD, c_key_size, VCRYPT_HDR_EKEY_SIZE, NULL },
	{ "sector_size", FIELD, c_sector_size, VCRYPT_HDR_ESECTOR_SIZE, NULL },
	{ "data_offset", FIELD, c_data_offset, VCRYPT_HDR_EDATA_OFFSET, NULL },
	{ "data_size", FIELD, c_data_size, VCRYPT_HDR_EDATA_SIZE, NULL },
	{ "data_offset_overflow", FIELD, c_overflow, VCRYPT_HDR_EDATA_END, NULL },
	{ "uuid", FIELD, c_uuid, VCRYPT_HDR_EUUID, NULL },
	{ "reserved", RAW_SEALED, c_reserved, VCRYPT_HDR_ERESERVED, NULL },
	{ "unknown_cipher_id", FIELD, c_unknown_cipher, VCRYPT_HDR_OK,
	  "Unknown header cipher_id" },
	{ "key_size_for_cipher", FIELD, c_cipher_key_size, VCRYPT_HDR_OK,
	  "Header key_size not supported by the cipher" },
	{ "device_smaller_than_header", FIELD, c_device_small, VCRYPT_HDR_OK,
	  "Device smaller than header data_offset + data_size" },
	{ "key_check", FIELD, c_key_check, VCRYPT_HDR_OK,
	  "Key does not match header key_check" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void reseal(u8 *raw)
{
	u32 csum = vcrypt_crc32(raw, offsetof(struct veilcrypt_header, checksum));

	raw[4092] = csum;
	raw[4093] = csum >> 8;
	raw[4094] = csum >> 16;
	raw[4095] = csum >> 24;
}

static int corrupt_copy(u8 *raw, const struct corrupt_case *c)
{
	struct vcrypt_hdr h;

	if (vcrypt_hdr_decode(raw, &h) != VCRYPT_HDR_OK) {
		fprintf(stderr, "vcrypt_corrupt: header copy already invalid\n");
		return -1;
	}
	c->apply(&h, raw);
	switch (c->how) {
	case FIELD:
		vcrypt_hdr_encode(&h, raw);	/* seals it */
		break;
	case RAW_SEALED:
		reseal(raw);
		break;
	case RAW:
		break;
	}
	return 0;
}

static int corrupt_file(const char *path, const struct corrupt_case *c,
			const char *which)
{
	u8 buf[2 * VEILCRYPT_HDR_SIZE];
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		fprintf(stderr, "vcrypt_helper: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (strcmp(which, "backup") && corrupt_copy(buf, c))
		return 1;
	if (strcmp(which, "primary") && corrupt_copy(buf + VEILCRYPT_HDR_SIZE, c))
		return 1;
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || fsync(fd)) {
		fprintf(stderr, "vcrypt_helper: %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	printf("%s\n", c->codec_err != VCRYPT_HDR_OK ?
	       vcrypt_hdr_strerror(c->codec_err) : c->target_err);
	return 0;
}

static int addkey(const char *type, const char *desc, const char *path)
{
	unsigned char key[128];
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

/* Run as a test: each case, applied to a good header, gives its error. */
static int self_test(void)
{
	static const struct vcrypt_hdr good = {
		.version = VEILCRYPT_VERSION, .seq = 1,
		.flags = VEILCRYPT_F_ENCRYPTED,
		.cipher_id = VEILCRYPT_CIPHER_AES_XTS_PLAIN64, .key_size = 64,
		.sector_size = 512, .data_offset = 1 << 20, .data_size = 4 << 20,
		.uuid = { 0x5e },
	};
	u8 raw[VEILCRYPT_HDR_SIZE];
	struct vcrypt_hdr out;
	unsigned int i, failed = 0;
	int r;

	printf("TAP version 13\n1..%zu\n", NCASES);
	for (i = 0; i < NCASES; i++) {
		const struct corrupt_case *c = &cases[i];

		vcrypt_hdr_encode(&good, raw);
		corrupt_copy(raw, c);
		r = vcrypt_hdr_decode(raw, &out);
		if (r == c->codec_err) {
			printf("ok %u corrupt case %s: codec says %s\n", i + 1,
			       c->name, vcrypt_hdr_field(r));
		} else {
			failed++;
			printf("not ok %u corrupt case %s: codec wanted %s, saw %s\n",
			       i + 1, c->name, vcrypt_hdr_field(c->codec_err),
			       vcrypt_hdr_field(r));
		}
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct corrupt_case *c = NULL;
	size_t i;

	if (argc == 1)
		return self_test();
	if (argc == 2 && !strcmp(argv[1], "cases")) {
		for (i = 0; i < NCASES; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "addkey"))
		return addkey(argv[2], argv[3], argv[4]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "corrupt")) {
		for (i = 0; i < NCASES; i++)
			if (!strcmp(cases[i].name, argv[3]))
				c = &cases[i];
		if (!c) {
			fprintf(stderr, "vcrypt_helper: no case '%s'\n", argv[3]);
			return 1;
		}
		return corrupt_file(argv[2], c, argc == 5 ? argv[4] : "both");
	}
	fprintf(stderr, "usage: vcrypt_helper cases | corrupt IMAGE CASE [primary|backup|both]\n"
			"       vcrypt_helper addkey TYPE DESCRIPTION KEYFILE\n");
	return 1;
}
