// SPDX-License-Identifier: GPL-2.0
/*
 * veil-disk: format, inspect, open and close veilcrypt disk images.
 *
 * The header codec is lib/vcrypt/vcrypt_hdr.c, the same file the kernel
 * target is built from.  See veil-disk(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <jansson.h>
#include <libdevmapper.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "vcrypt_hdr.h"

/* Exit codes (veil-disk(8)). */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_BAD_HEADER = 2,
	EXIT_WRONG_KEY = 3,
	EXIT_SYSTEM = 4,
};

#define DEFAULT_DATA_OFFSET	(1ULL << 20)
#define TARGET_NAME		"veilcrypt"

static const struct {
	const char *name;
	uint32_t id;
	uint32_t default_key_size;
} ciphers[] = {
	{ "aes-xts-plain64", VEILCRYPT_CIPHER_AES_XTS_PLAIN64, 64 },
	{ "aes-cbc-essiv:sha256", VEILCRYPT_CIPHER_AES_CBC_ESSIV_SHA256, 32 },
	{ "serpent-xts-plain64", VEILCRYPT_CIPHER_SERPENT_XTS_PLAIN64, 64 },
	{ "xchacha12,aes-adiantum-plain64", VEILCRYPT_CIPHER_ADIANTUM_PLAIN64, 32 },
	{ "adiantum", VEILCRYPT_CIPHER_ADIANTUM_PLAIN64, 32 },
};

struct opts {
	const char *key_file;
	const char *key_desc;		/* "type:description" */
	const char *cipher;
	uint32_t cipher_id;
	uint32_t key_size;
	uint32_t sector_size;
	uint64_t size;
	uint64_t data_offset;
	bool plain;
	bool json;
	bool allow_discards;
	bool read_only;
};

static const char *prog = "veil-disk";

static void err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: veil-disk format IMAGE [--size N] [--cipher NAME | --cipher-id ID]\n"
"                        [--key-size N] [--sector-size 512|4096]\n"
"                        [--data-offset N] (--key-file F | --key-desc user:DESC | --plain)\n"
"       veil-disk dump IMAGE [--json]\n"
"       veil-disk check IMAGE [--key-file F | --key-desc user:DESC] [--json]\n"
"       veil-disk open IMAGE NAME [--key-file F | --key-desc TYPE:DESC]\n"
"                        [--allow-discards] [--read-only]\n"
"       veil-disk close NAME\n"
"       veil-disk list [--json]\n"
"\n"
"ciphers: aes-xts-plain64 (default), aes-cbc-essiv:sha256, serpent-xts-plain64,\n"
"         adiantum; a plug-in by --cipher-id with --key-size\n"
"\n"
"example:\n"
"  head -c 64 /dev/urandom >vm.key\n"
"  veil-disk format vm.img --size 10G --key-file vm.key\n"
"  veil-disk open vm.img vm0 --key-file vm.key   # /dev/mapper/vm0\n"
"  veil-disk close vm0\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end || (shift && v > (ULLONG_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_size(s, &v) || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static const char *cipher_name(uint32_t id)
{
	size_t i;

	if (id == VEILCRYPT_CIPHER_NONE)
		return "none";
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (ciphers[i].id == id)
			return ciphers[i].name;
	return "plug-in";
}

/* add_key/keyctl without libkeyutils: two system calls. */
#define KEYCTL_READ_OP		11
#define KEY_SPEC_USER_KEYRING_ID	-4

static int key_from_keyring(const char *type_desc, uint8_t *key, uint32_t *size)
{
	const char *desc = strchr(type_desc, ':');
	char type[16];
	long id, n;

	if (!desc || desc - type_desc >= (long)sizeof(type)) {
		err("--key-desc wants TYPE:DESCRIPTION, got '%s'", type_desc);
		return -1;
	}
	memcpy(type, type_desc, desc - type_desc);
	type[desc - type_desc] = '\0';
	desc++;
	if (strcmp(type, "user")) {
		err("only a 'user' key can be read by veil-disk (a logon key is for open)");
		return -1;
	}
	id = syscall(SYS_request_key, type, desc, NULL, 0);
	if (id < 0) {
		err("key '%s' not found in the keyring: %s", desc, strerror(errno));
		return -1;
	}
	n = syscall(SYS_keyctl, KEYCTL_READ_OP, id, key, VEILCRYPT_MAX_KEY_SIZE);
	if (n < 0 || n > VEILCRYPT_MAX_KEY_SIZE) {
		err("cannot read key '%s' (at most %d bytes): %s", desc,
		    VEILCRYPT_MAX_KEY_SIZE, n < 0 ? strerror(errno) : "too long");
		return -1;
	}
	*size = (uint32_t)n;
	return 0;
}

static int key_from_file(const char *path, uint8_t *key, uint32_t *size)
{
	uint8_t extra;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err("%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, key, VEILCRYPT_MAX_KEY_SIZE);
	if (n > 0 && n == VEILCRYPT_MAX_KEY_SIZE && read(fd, &extra, 1) > 0)
		n = -2;
	close(fd);
	if (n <= 0) {
		err("%s: %s", path, n == -2 ? "key file longer than 64 bytes" :
		    n == 0 ? "empty key file" : strerror(errno));
		return -1;
	}
	*size = (uint32_t)n;
	return 0;
}

static int load_key(const struct opts *o, uint8_t *key, uint32_t *size)
{
	if (o->key_file)
		return key_from_file(o->key_file, key, size);
	if (o->key_desc)
		return key_from_keyring(o->key_desc, key, size);
	err("a key is needed: --key-file or --key-desc");
	return -1;
}

static void key_check_value(const uint8_t *key, uint32_t size,
			    const uint8_t *uuid, uint8_t *kcv)
{
	static const char label[] = VEILCRYPT_KCV_LABEL;
	uint8_t msg[sizeof(label) - 1 + VEILCRYPT_UUID_LEN];
	unsigned int len = VEILCRYPT_KCV_LEN;

	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, uuid, VEILCRYPT_UUID_LEN);
	HMAC(EVP_sha256(), key, (int)size, msg, sizeof(msg), kcv, &len);
}

static int image_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size);
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Both copies, decoded; returns the copy in use (0, 1) or -1. */
struct headers {
	struct vcrypt_hdr h[2];
	int err[2];
	int use;
	uint64_t image_size;
};

static int read_headers(const char *image, struct headers *hs)
{
	static uint8_t buf[2 * VEILCRYPT_HDR_SIZE];
	ssize_t n;
	int fd, i;

	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err("%s: %s", image, strerror(errno));
		return -EXIT_SYSTEM;
	}
	if (image_size(fd, &hs->image_size)) {
		err("%s: %s", image, strerror(errno));
		close(fd);
		return -EXIT_SYSTEM;
	}
	memset(buf, 0, sizeof(buf));
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n < 0) {
		err("%s: %s", image, strerror(errno));
		return -EXIT_SYSTEM;
	}
	for (i = 0; i < 2; i++) {
		if (n < (ssize_t)((i + 1) * VEILCRYPT_HDR_SIZE))
			hs->err[i] = VCRYPT_HDR_EMAGIC;
		else
			hs->err[i] = vcrypt_hdr_decode(buf + i * VEILCRYPT_HDR_SIZE,
						       &hs->h[i]);
	}
	if (hs->err[0] == VCRYPT_HDR_OK &&
	    (hs->err[1] != VCRYPT_HDR_OK || hs->h[0].seq >= hs->h[1].seq))
		hs->use = 0;
	else if (hs->err[1] == VCRYPT_HDR_OK)
		hs->use = 1;
	else
		hs->use = -1;
	return 0;
}

static void uuid_str(const uint8_t *u, char *out)
{
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
		u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void hex_str(const uint8_t *p, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static json_t *header_json(const struct vcrypt_hdr *h)
{
	char uuid[37], kcv[2 * VEILCRYPT_KCV_LEN + 1];

	uuid_str(h->uuid, uuid);
	hex_str(h->key_check, sizeof(h->key_check), kcv);
	return json_pack("{s:i, s:I, s:b, s:i, s:s, s:i, s:i, s:I, s:I, s:s, s:s}",
			 "version", (int)h->version,
			 "seq", (json_int_t)h->seq,
			 "encrypted", !!(h->flags & VEILCRYPT_F_ENCRYPTED),
			 "cipher_id", (int)h->cipher_id,
			 "cipher", cipher_name(h->cipher_id),
			 "key_size", (int)h->key_size,
			 "sector_size", (int)h->sector_size,
			 "data_offset", (json_int_t)h->data_offset,
			 "data_size", (json_int_t)h->data_size,
			 "uuid", uuid,
			 "key_check", kcv);
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

static int cmd_dump(const char *image, const struct opts *o)
{
	static const char * const copy[2] = { "primary", "backup" };
	struct headers hs;
	const struct vcrypt_hdr *h;
	char uuid[37], kcv[2 * VEILCRYPT_KCV_LEN + 1];
	int r, i;

	r = read_headers(image, &hs);
	if (r)
		return -r;
	if (o->json) {
		json_t *j = json_pack("{s:s, s:I}", "image", image,
				      "image_size", (json_int_t)hs.image_size);

		for (i = 0; i < 2; i++) {
			json_t *c = hs.err[i] == VCRYPT_HDR_OK ? header_json(&hs.h[i]) :
				    json_pack("{s:s}", "invalid_field",
					      vcrypt_hdr_field(hs.err[i]));

			json_object_set_new(c, "valid", json_boolean(hs.err[i] == VCRYPT_HDR_OK));
			json_object_set_new(j, copy[i], c);
		}
		json_object_set_new(j, "in_use", hs.use < 0 ? json_null() :
				    json_string(copy[hs.use]));
		print_json(j);
		return hs.use < 0 ? EXIT_BAD_HEADER : EXIT_OK;
	}

	printf("image:        %s (%" PRIu64 " bytes)\n", image, hs.image_size);
	for (i = 0; i < 2; i++)
		printf("%-13s %s%s\n", i ? "backup:" : "primary:",
		       hs.err[i] == VCRYPT_HDR_OK ? "valid" : vcrypt_hdr_strerror(hs.err[i]),
		       hs.use == i ? " (in use)" : "");
	if (hs.use < 0)
		return EXIT_BAD_HEADER;
	h = &hs.h[hs.use];
	uuid_str(h->uuid, uuid);
	hex_str(h->key_check, sizeof(h->key_check), kcv);
	printf("version:      %u\n", h->version);
	printf("seq:          %llu\n", (unsigned long long)h->seq);
	printf("flags:        %s\n", h->flags & VEILCRYPT_F_ENCRYPTED ? "encrypted" : "plain");
	printf("cipher:       %s (id %#x)\n", cipher_name(h->cipher_id), h->cipher_id);
	printf("key_size:     %u\n", h->key_size);
	printf("sector_size:  %u\n", h->sector_size);
	printf("data_offset:  %llu\n", (unsigned long long)h->data_offset);
	printf("data_size:    %llu\n", (unsigned long long)h->data_size);
	printf("uuid:         %s\n", uuid);
	printf("key_check:    %s\n", kcv);
	return EXIT_OK;
}

/* Header valid, and the key (if given) matches its key-check value. */
static int cmd_check(const char *image, const struct opts *o)
{
	uint8_t key[VEILCRYPT_MAX_KEY_SIZE], kcv[VEILCRYPT_KCV_LEN];
	const struct vcrypt_hdr *h;
	const char *verdict = "ok";
	struct headers hs;
	uint32_t size;
	int r, rc = EXIT_OK;

	r = read_headers(image, &hs);
	if (r)
		return -r;
	if (hs.use < 0) {
		verdict = vcrypt_hdr_strerror(hs.err[0]);
		rc = EXIT_BAD_HEADER;
		goto out;
	}
	h = &hs.h[hs.use];
	if (h->data_offset + h->data_size > hs.image_size) {
		verdict = "image smaller than header data_offset + data_size";
		rc = EXIT_BAD_HEADER;
		goto out;
	}
	if (!(h->flags & VEILCRYPT_F_ENCRYPTED) || (!o->key_file && !o->key_desc))
		goto out;
	if (load_key(o, key, &size))
		return EXIT_USAGE;
	key_check_value(key, size, h->uuid, kcv);
	if (size != h->key_size || CRYPTO_memcmp(kcv, h->key_check, sizeof(kcv))) {
		verdict = "wrong key (does not match header key_check)";
		rc = EXIT_WRONG_KEY;
	}
	OPENSSL_cleanse(key, sizeof(key));
out:
	if (o->json) {
		json_t *j = json_pack("{s:s, s:b, s:s, s:s}", "image", image,
				      "ok", rc == EXIT_OK, "result", verdict,
				      "header", hs.use < 0 ? "none" : hs.use ? "backup" : "primary");
		if (rc == EXIT_BAD_HEADER && hs.use < 0)
			json_object_set_new(j, "invalid_field",
					    json_string(vcrypt_hdr_field(hs.err[0])));
		print_json(j);
	} else {
		printf("%s: %s%s\n", image, verdict,
		       hs.use == 1 ? " (primary header invalid, backup in use)" : "");
	}
	return rc;
}

static int random_bytes(void *p, size_t len)
{
	return getrandom(p, len, 0) == (ssize_t)len ? 0 : -1;
}

static int cmd_format(const char *image, const struct opts *o)
{
	static uint8_t buf[2 * VEILCRYPT_HDR_SIZE];
	uint8_t key[VEILCRYPT_MAX_KEY_SIZE];
	struct vcrypt_hdr h = { 0 };
	uint64_t size = 0, isize;
	uint32_t ksize = 0;
	struct stat st;
	size_t i;
	int fd, rc = EXIT_SYSTEM;

	h.version = VEILCRYPT_VERSION;
	h.seq = 1;
	h.sector_size = o->sector_size ? o->sector_size : 512;
	h.data_offset = o->data_offset ? o->data_offset : DEFAULT_DATA_OFFSET;
	if (!o->plain) {
		h.flags = VEILCRYPT_F_ENCRYPTED;
		h.cipher_id = o->cipher_id;
		if (o->cipher) {
			for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
				if (!strcmp(ciphers[i].name, o->cipher))
					break;
			if (i == sizeof(ciphers) / sizeof(ciphers[0])) {
				err("unknown cipher '%s' (a plug-in: --cipher-id)", o->cipher);
				return EXIT_USAGE;
			}
			h.cipher_id = ciphers[i].id;
		}
		if (!h.cipher_id)
			h.cipher_id = VEILCRYPT_CIPHER_AES_XTS_PLAIN64;
		if (load_key(o, key, &ksize))
			return EXIT_USAGE;
		if (o->key_size && o->key_size != ksize) {
			err("key is %u bytes, --key-size says %u", ksize, o->key_size);
			return EXIT_USAGE;
		}
		h.key_size = ksize;
	}
	if (random_bytes(h.uuid, sizeof(h.uuid))) {
		err("getrandom: %s", strerror(errno));
		return EXIT_SYSTEM;
	}

	fd = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) || image_size(fd, &isize)) {
		err("%s: %s", image, strerror(errno));
		goto out;
	}
	if (o->size) {
		size = o->size;
		if (!S_ISBLK(st.st_mode) && isize < h.data_offset + size &&
		    ftruncate(fd, (off_t)(h.data_offset + size))) {
			err("%s: %s", image, strerror(errno));
			goto out;
		}
	} else if (isize > h.data_offset) {
		size = isize - h.data_offset;
	}
	size -= size % h.sector_size;
	h.data_size = size;
	if (h.key_size)
		key_check_value(key, ksize, h.uuid, h.key_check);

	/* Validate with the same codec the kernel uses before writing. */
	vcrypt_hdr_encode(&h, buf);
	i = vcrypt_hdr_decode(buf, &h);
	if (i != VCRYPT_HDR_OK) {
		err("refusing to write an invalid header: %s", vcrypt_hdr_strerror(i));
		rc = EXIT_USAGE;
		goto out;
	}
	memcpy(buf + VEILCRYPT_BACKUP_OFFSET, buf, VEILCRYPT_HDR_SIZE);
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || fsync(fd)) {
		err("%s: writing the header: %s", image, strerror(errno));
		goto out;
	}
	rc = EXIT_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A free loop device backed by @image, cleared when its last user closes. */
static int loop_attach(const char *image, bool ro, char *dev, size_t devlen)
{
	struct loop_config cfg;
	int ctl, fd, lfd = -1, n, tries;

	fd = open(image, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		err("%s: %s", image, strerror(errno));
		return -1;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		err("/dev/loop-control: %s (is the loop module loaded?)", strerror(errno));
		close(fd);
		return -1;
	}
	for (tries = 0; tries < 8; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		snprintf(dev, devlen, "/dev/loop%d", n);
		lfd = open(dev, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0)
			break;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)fd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
		if (!ioctl(lfd, LOOP_CONFIGURE, &cfg))
			break;
		close(lfd);
		lfd = -1;
		if (errno != EBUSY)
			break;
	}
	if (lfd < 0)
		err("cannot set up a loop device for %s: %s", image, strerror(errno));
	close(ctl);
	close(fd);
	return lfd;
}

static int dm_create_veilcrypt(const char *name, uint64_t sectors,
			       const char *params, bool ro)
{
	struct dm_task *dmt;
	int ok = 0;

	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return -1;
	if (dm_task_set_name(dmt, name) &&
	    dm_task_add_target(dmt, 0, sectors, TARGET_NAME, params) &&
	    (!ro || dm_task_set_ro(dmt)))
		ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return ok ? 0 : -1;
}

static int cmd_open(const char *image, const char *name, const struct opts *o)
{
	uint8_t key[VEILCRYPT_MAX_KEY_SIZE];
	char dev[64], params[512], keyarg[2 * VEILCRYPT_MAX_KEY_SIZE + 1];
	const struct vcrypt_hdr *h;
	struct headers hs;
	struct stat st;
	uint32_t size = 0;
	int r, lfd = -1, rc = EXIT_SYSTEM;

	r = read_headers(image, &hs);
	if (r)
		return -r;
	if (hs.use < 0) {
		err("%s: %s", image, vcrypt_hdr_strerror(hs.err[0]));
		return EXIT_BAD_HEADER;
	}
	h = &hs.h[hs.use];
	strcpy(keyarg, "-");
	if (h->flags & VEILCRYPT_F_ENCRYPTED) {
		if (o->key_desc) {
			/* The kernel reads the key itself (logon keys too). */
			snprintf(keyarg, sizeof(keyarg), ":%u:%s", h->key_size, o->key_desc);
		} else {
			if (load_key(o, key, &size))
				return EXIT_USAGE;
			hex_str(key, size, keyarg);
			OPENSSL_cleanse(key, sizeof(key));
		}
	}

	if (stat(image, &st)) {
		err("%s: %s", image, strerror(errno));
		goto out;
	}
	if (S_ISBLK(st.st_mode)) {
		snprintf(dev, sizeof(dev), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	} else {
		lfd = loop_attach(image, o->read_only, dev, sizeof(dev));
		if (lfd < 0)
			goto out;
	}
	snprintf(params, sizeof(params), "%s %s%s", dev, keyarg,
		 o->allow_discards ? " 1 allow_discards" : "");
	if (dm_create_veilcrypt(name, h->data_size >> 9, params, o->read_only)) {
		err("device-mapper refused the table for %s (see the kernel log)", name);
		goto out;
	}
	printf("/dev/mapper/%s\n", name);
	rc = EXIT_OK;
out:
	OPENSSL_cleanse(keyarg, sizeof(keyarg));
	OPENSSL_cleanse(params, sizeof(params));
	if (lfd >= 0)
		close(lfd);
	return rc;
}

static int cmd_close(const char *name)
{
	struct dm_task *dmt;
	int ok = 0;

	dmt = dm_task_create(DM_DEVICE_REMOVE);
	if (!dmt)
		return EXIT_SYSTEM;
	if (dm_task_set_name(dmt, name))
		ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	if (!ok) {
		err("cannot remove %s", name);
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

/* The veilcrypt target's status line of @name, or NULL if it has none. */
static int veilcrypt_status(const char *name, char *out, size_t outlen,
			    uint64_t *sectors)
{
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	struct dm_task *dmt;
	int found = 0;

	dmt = dm_task_create(DM_DEVICE_STATUS);
	if (!dmt)
		return 0;
	if (dm_task_set_name(dmt, name) && dm_task_run(dmt)) {
		dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
		if (type && !strcmp(type, TARGET_NAME)) {
			snprintf(out, outlen, "%s", params ? params : "");
			*sectors = length;
			found = 1;
		}
	}
	dm_task_destroy(dmt);
	return found;
}

static int cmd_list(const struct opts *o)
{
	struct dm_names *names;
	struct dm_task *dmt;
	unsigned int next = 0;
	json_t *arr = json_array();
	char status[256];
	uint64_t sectors;

	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt || !dm_task_run(dmt)) {
		err("cannot list device-mapper devices");
		return EXIT_SYSTEM;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			if (!veilcrypt_status(names->name, status, sizeof(status), &sectors))
				goto next;
			if (o->json)
				json_array_append_new(arr, json_pack("{s:s, s:I, s:s}",
					"name", names->name, "sectors", (json_int_t)sectors,
					"status", status));
			else
				printf("%s\t%" PRIu64 "\t%s\n", names->name, sectors, status);
next:
			next = names->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	if (o->json)
		print_json(json_pack("{s:o}", "devices", arr));
	else
		json_decref(arr);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key-file", required_argument, NULL, 'k' },
		{ "key-desc", required_argument, NULL, 'K' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "cipher-id", required_argument, NULL, 'C' },
		{ "key-size", required_argument, NULL, 'z' },
		{ "sector-size", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'S' },
		{ "data-offset", required_argument, NULL, 'o' },
		{ "plain", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "allow-discards", no_argument, NULL, 'd' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { 0 };
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "k:K:c:C:z:s:S:o:pjdrh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o.key_file = optarg; break;
		case 'K': o.key_desc = optarg; break;
		case 'c': o.cipher = optarg; break;
		case 'C':
			if (parse_u32(optarg, &o.cipher_id) || !o.cipher_id) {
				err("bad --cipher-id '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'z':
			if (parse_u32(optarg, &o.key_size)) {
				err("bad --key-size '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			if (parse_u32(optarg, &o.sector_size) ||
			    (o.sector_size != 512 && o.sector_size != 4096)) {
				err("--sector-size is 512 or 4096");
				return EXIT_USAGE;
			}
			break;
		case 'S':
			if (parse_size(optarg, &o.size)) {
				err("bad --size '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			if (parse_size(optarg, &o.data_offset)) {
				err("bad --data-offset '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p': o.plain = true; break;
		case 'j': o.json = true; break;
		case 'd': o.allow_discards = true; break;
		case 'r': o.read_only = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	dm_udev_set_sync_support(0);

	if (!strcmp(cmd, "list") && optind == argc)
		return cmd_list(&o);
	if (!strcmp(cmd, "close") && optind + 1 == argc)
		return cmd_close(argv[optind]);
	if (!strcmp(cmd, "open") && optind + 2 == argc)
		return cmd_open(argv[optind], argv[optind + 1], &o);
	if (optind + 1 == argc) {
		if (!strcmp(cmd, "format"))
			return cmd_format(argv[optind], &o);
		if (!strcmp(cmd, "dump"))
			return cmd_dump(argv[optind], &o);
		if (!strcmp(cmd, "check"))
			return cmd_check(argv[optind], &o);
	}
	usage(stderr);
	return EXIT_USAGE;
}
