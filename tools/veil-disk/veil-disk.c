// SPDX-License-Identifier: GPL-2.0
/*
 * veil-disk: format, unlock, open, close and maintain veilcrypt disk images.
 *
 * The header codec is lib/vcrypt/vcrypt_hdr.c, the same file the kernel
 * target is built from.  See veil-disk(8) and vdisk.h for the files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <jansson.h>
#include <libdevmapper.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "vdisk.h"

const struct cipher_info ciphers[] = {
	{ "aes-xts-plain64", "xts(aes)", VEILCRYPT_CIPHER_AES_XTS_PLAIN64, { 64, 32 }, 16 },
	{ "aes-cbc-essiv:sha256", "essiv(cbc(aes),sha256)",
	  VEILCRYPT_CIPHER_AES_CBC_ESSIV_SHA256, { 32, 16, 24 }, 16 },
	{ "serpent-xts-plain64", "xts(serpent)", VEILCRYPT_CIPHER_SERPENT_XTS_PLAIN64,
	  { 64, 32 }, 16 },
	{ "xchacha12,aes-adiantum-plain64", "adiantum(xchacha12,aes)",
	  VEILCRYPT_CIPHER_ADIANTUM_PLAIN64, { 32 }, 32 },
	{ "adiantum", "adiantum(xchacha12,aes)", VEILCRYPT_CIPHER_ADIANTUM_PLAIN64, { 32 }, 32 },
};

const size_t nciphers = sizeof(ciphers) / sizeof(ciphers[0]);

const struct cipher_info *cipher_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < nciphers; i++)
		if (!strcmp(ciphers[i].name, name))
			return &ciphers[i];
	return NULL;
}

const struct cipher_info *cipher_by_id(uint32_t id)
{
	size_t i;

	for (i = 0; i < nciphers; i++)
		if (ciphers[i].id == id)
			return &ciphers[i];
	return NULL;
}

struct opts {
	struct secret_source key;	/* unlocks (or, for format, the slot) */
	struct secret_source new_key;	/* add-key, change-key */
	struct pbkdf_opts pbkdf;
	const char *cipher;
	const char *volume_key_file;
	const char *file;		/* header-backup, header-restore */
	uint32_t cipher_id;
	uint32_t key_size;
	uint32_t sector_size;
	uint64_t size;
	uint64_t data_offset;
	int key_slot;			/* -1: any / the first free */
	uint32_t bench_ms;
	bool plain;
	bool force;
	bool json;
	bool allow_discards;
	bool read_only;
};

/*
 * The JSON schema version of what --json prints, documented in
 * veil-disk(8): a new member keeps it, a changed or removed one bumps it.
 */
#define VDISK_SCHEMA	1

static bool json_output;
static bool json_done;			/* an object was printed */
static const char *json_command = "veil-disk";
static char first_error[512];

/* "veil-disk: ..." on stderr; the first one is also the JSON failure's "error". */
void err(const char *fmt, ...)
{
	va_list ap;

	if (!first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
		va_end(ap);
	}
	fputs("veil-disk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A note that is no failure: stderr only. */
void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("veil-disk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: veil-disk format IMAGE [--size N] [--cipher NAME | --cipher-id ID --key-size N]\n"
"                        [--sector-size 512|4096] [--data-offset N] [--force]\n"
"                        [--volume-key-file F] [KEY] [PBKDF] | --plain\n"
"       veil-disk open IMAGE NAME [KEY] [--key-slot N] [--read-only]\n"
"                        [--allow-discards] | --plain\n"
"       veil-disk close NAME\n"
"       veil-disk status NAME [--json]\n"
"       veil-disk list [--json]\n"
"       veil-disk dump IMAGE [--json]\n"
"       veil-disk check IMAGE [KEY] [--json]\n"
"       veil-disk add-key IMAGE [KEY] [NEW KEY] [--key-slot N] [PBKDF]\n"
"       veil-disk change-key IMAGE [KEY] [NEW KEY] [PBKDF]\n"
"       veil-disk remove-key IMAGE [KEY] [--key-slot N] [--force]\n"
"       veil-disk resize IMAGE --size N [KEY] [--force]\n"
"       veil-disk header-backup IMAGE --file F\n"
"       veil-disk header-restore IMAGE --file F [--force]\n"
"       veil-disk benchmark [--cipher NAME] [--sector-size N] [PBKDF] [--json]\n"
"       veil-disk --help | --version\n"
"\n"
"KEY:     --key-file F (F - is standard input) | --key-desc user:DESC |\n"
"         nothing: a passphrase from the terminal, or one line of standard input\n"
"NEW KEY: --new-key-file F | --new-key-desc user:DESC | nothing: a passphrase\n"
"         (the second line of standard input)\n"
"PBKDF:   --iter-time MS (default 2000) --pbkdf-memory KIB --pbkdf-parallel N\n"
"         --pbkdf-force-iterations N\n"
"\n"
"ciphers: aes-xts-plain64 (default), aes-cbc-essiv:sha256, serpent-xts-plain64,\n"
"         adiantum; a plug-in by --cipher-id with --key-size\n"
"\n"
"--json:  one JSON object on one line, on success and on failure (veil-disk(8))\n"
"\n"
"Exit status: 0 done, 1 failed, 2 usage, 3 image, header, key or device not\n"
"found, 4 refused (in use, a signature, the last keyslot, ...), 6 wrong key\n"
"or a header that fails its MAC, 7 not permitted.\n"
"\n"
"example:\n"
"  veil-disk format vm.img --size 10G          # asks for a passphrase\n"
"  veil-disk open vm.img vm0                   # /dev/mapper/vm0\n"
"  veil-disk add-key vm.img --new-key-file backup.key\n"
"  veil-disk close vm0\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
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

static void hex_str(const uint8_t *p, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static const char *cipher_name(uint32_t id)
{
	const struct cipher_info *c = cipher_by_id(id);

	return id == VEILCRYPT_CIPHER_NONE ? "none" : c ? c->name : "plug-in";
}

/*
 * Prints j (consumed) as one line on stdout, after "schema", "command" and
 * "ok"; one object per run.
 */
static void json_print(json_t *j, bool ok)
{
	json_t *all;
	char *s;

	if (!json_output || json_done) {
		json_decref(j);
		return;
	}
	all = json_pack("{s:i, s:s, s:b}", "schema", VDISK_SCHEMA, "command", json_command,
			"ok", ok);
	json_object_update(all, j);
	json_decref(j);
	s = json_dumps(all, JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(all);
	json_done = true;
}

void json_result(json_t *j)
{
	json_print(j, true);
}

/*
 * A failure under --json: extra (consumed, may be NULL) with "exit" and
 * "error", the first message err() printed.
 */
static void json_failure(int rc, json_t *extra)
{
	json_t *j = extra ? extra : json_object();

	json_object_set_new(j, "exit", json_integer(rc));
	json_object_set_new(j, "error", json_string(first_error[0] ? first_error : "failed"));
	json_print(j, false);
}

/* What a failure says when no err() said it on stderr already. */
static void set_error(const char *what)
{
	if (!first_error[0])
		snprintf(first_error, sizeof(first_error), "%s", what);
}

static const char *slot_kind(uint32_t kind)
{
	switch (kind) {
	case VEILCRYPT_SLOT_PASSPHRASE: return "passphrase";
	case VEILCRYPT_SLOT_KEYFILE: return "key-file";
	case VEILCRYPT_SLOT_KEYRING: return "keyring";
	}
	return "?";
}

/* The description of the logon key that holds an image's volume key. */
static void key_desc_for(const uint8_t *uuid, char *out, size_t len)
{
	char u[37];

	uuid_str(uuid, u);
	snprintf(out, len, "veil:%s", u);
}

/* ---- unlocking ---- */

/* Open the image and unlock it with --key-file / --key-desc / a passphrase. */
static int unlock(struct meta *m, const char *image, const struct opts *o,
		  bool write)
{
	int r, c;

	r = meta_open(m, image, write);
	if (r)
		return r;
	c = meta_pick(m);
	if (c < 0) {
		err("%s: no valid veilcrypt header (primary: %s; backup: %s)", image,
		    vcrypt_hdr_strerror(m->decode[0]), vcrypt_hdr_strerror(m->decode[1]));
		return VEIL_EXIT_NOT_FOUND;
	}
	if (!(m->hdr[c].flags & VEILCRYPT_F_ENCRYPTED)) {
		err("%s is a plain image: it has no keys", image);
		return VEIL_EXIT_REFUSED;
	}
	r = secret_read(&vault->old, &o->key, "Passphrase", false);
	if (r)
		return r;
	r = meta_unlock(m, &vault->old, o->key_slot);
	secret_clear(&vault->old);
	return r;
}

/* ---- format ---- */

static int format_geometry(struct vcrypt_hdr *h, const struct opts *o,
			   struct meta *m)
{
	uint64_t size;

	h->data_offset = o->data_offset ? o->data_offset : VDISK_DEFAULT_DATA_OFFSET;
	if (h->data_offset < VEILCRYPT_MIN_DATA_OFFSET || h->data_offset % 4096) {
		err("--data-offset must be a multiple of 4096, at least %u",
		    VEILCRYPT_MIN_DATA_OFFSET);
		return VEIL_EXIT_USAGE;
	}
	if (o->size) {
		size = o->size;
		if (m->blockdev && h->data_offset + size > m->dev_size) {
			err("%s: --size %" PRIu64 " does not fit the device", m->path, size);
			return VEIL_EXIT_USAGE;
		}
		if (!m->blockdev && m->dev_size < h->data_offset + size &&
		    ftruncate(m->fd, (off_t)(h->data_offset + size))) {
			err("%s: %s", m->path, strerror(errno));
			return VEIL_EXIT_FAILED;
		}
	} else {
		size = m->dev_size > h->data_offset ? m->dev_size - h->data_offset : 0;
	}
	size -= size % h->sector_size;
	if (!size) {
		err("%s: no room for data after the metadata (give --size)", m->path);
		return VEIL_EXIT_USAGE;
	}
	h->data_size = size;
	return VEIL_EXIT_OK;
}

static int format_cipher(struct vcrypt_hdr *h, const struct opts *o)
{
	const struct cipher_info *c = NULL;
	size_t k;

	if (o->cipher && o->cipher_id) {
		err("--cipher or --cipher-id, not both");
		return VEIL_EXIT_USAGE;
	}
	if (o->cipher_id) {
		h->cipher_id = o->cipher_id;
		c = cipher_by_id(o->cipher_id);
	} else {
		c = cipher_by_name(o->cipher ? o->cipher : "aes-xts-plain64");
		if (!c) {
			err("unknown cipher '%s' (a plug-in: --cipher-id)", o->cipher);
			return VEIL_EXIT_USAGE;
		}
		h->cipher_id = c->id;
	}
	h->key_size = o->key_size ? o->key_size : c ? c->key_sizes[0] : 0;
	if (!h->key_size) {
		err("a plug-in cipher needs --key-size");
		return VEIL_EXIT_USAGE;
	}
	if (h->key_size < VEILCRYPT_MIN_KEY_SIZE || h->key_size > VEILCRYPT_MAX_KEY_SIZE) {
		err("--key-size must be %u to %u bytes", VEILCRYPT_MIN_KEY_SIZE,
		    VEILCRYPT_MAX_KEY_SIZE);
		return VEIL_EXIT_USAGE;
	}
	if (c) {
		for (k = 0; k < 4 && c->key_sizes[k] != h->key_size; k++)
			;
		if (k == 4) {
			err("%s takes keys of %u%s%s bytes, not %u", c->name, c->key_sizes[0],
			    c->key_sizes[1] ? " or " : "", c->key_sizes[1] ? "more" : "",
			    h->key_size);
			return VEIL_EXIT_USAGE;
		}
	}
	return VEIL_EXIT_OK;
}

static uint8_t area0[VEILCRYPT_KEYSLOT_AREA_SIZE];

static int open_for_format(struct meta *m, const char *image, bool *created)
{
	struct stat st;
	int fd;

	memset(m, 0, sizeof(*m));
	m->path = image;
	m->fd = -1;
	*created = stat(image, &st) && errno == ENOENT;
	if (!*created && S_ISBLK(st.st_mode)) {
		/* Exclusive: fails while mounted or held by dm, md, ... */
		fd = open(image, O_RDWR | O_EXCL | O_CLOEXEC);
		if (fd < 0 && errno == EBUSY) {
			err("%s is in use (mounted, or held by another device)", image);
			return VEIL_EXIT_REFUSED;
		}
	} else {
		fd = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		err("%s: %s", image, strerror(errno));
		return errno == EACCES || errno == EPERM ? VEIL_EXIT_PERM :
		       errno == ENOENT ? VEIL_EXIT_NOT_FOUND : VEIL_EXIT_FAILED;
	}
	close(fd);
	return meta_open(m, image, true);
}

static int cmd_format(const char *image, const struct opts *o)
{
	struct vcrypt_hdr h = { 0 };
	bool created = false;
	struct meta m;
	int slot = o->key_slot >= 0 ? o->key_slot : 0, r;

	h.version = VEILCRYPT_VERSION;
	h.sector_size = o->sector_size ? o->sector_size : 4096;
	if (!o->plain) {
		h.flags = VEILCRYPT_F_ENCRYPTED;
		r = format_cipher(&h, o);
		if (r)
			return r;
		if (slot >= VEILCRYPT_KEYSLOTS) {
			err("--key-slot is 0 to %d", VEILCRYPT_KEYSLOTS - 1);
			return VEIL_EXIT_USAGE;
		}
	} else if (o->key.key_file || o->key.key_desc || o->volume_key_file) {
		err("--plain takes no key");
		return VEIL_EXIT_USAGE;
	}

	r = open_for_format(&m, image, &created);
	if (r)
		goto out;
	r = probe_in_use(image, m.fd) ?: probe_signatures(m.fd, image, o->force);
	if (r)
		goto out;
	r = format_geometry(&h, o, &m);
	if (r)
		goto out;
	if (RAND_bytes(h.uuid, sizeof(h.uuid)) != 1) {
		err("no random bytes for the UUID");
		r = VEIL_EXIT_FAILED;
		goto out;
	}
	h.uuid[6] = (h.uuid[6] & 0x0f) | 0x40;		/* version 4 */
	h.uuid[8] = (h.uuid[8] & 0x3f) | 0x80;		/* RFC 4122 variant */
	h.seq = 1;

	if (!o->plain) {
		vault->vk_len = h.key_size;
		if (o->volume_key_file)
			r = read_file_exact(o->volume_key_file, vault->vk, h.key_size);
		else if (RAND_priv_bytes(vault->vk, (int)h.key_size) != 1) {
			err("no random bytes for the volume key");
			r = VEIL_EXIT_FAILED;
		}
		r = r ?: secret_read(&vault->new, &o->key, "New passphrase", true);
		r = r ?: pbkdf_choose(&o->pbkdf, &h.keyslots[slot]);
		if (!r)
			r = keyslot_seal(&h, (unsigned int)slot, &vault->new, vault->vk,
					 &h.keyslots[slot], area0);
		secret_clear(&vault->new);
		if (r)
			goto out;
	}
	r = meta_format(&m, &h, o->plain ? -1 : slot, area0);
	if (!r) {
		char u[37];

		uuid_str(h.uuid, u);
		if (json_output)
			json_result(json_pack("{s:s, s:s, s:b, s:s, s:i, s:I, s:I, s:o}",
					      "image", image, "uuid", u,
					      "encrypted", !o->plain,
					      "cipher", cipher_name(h.cipher_id),
					      "sector_size", (int)h.sector_size,
					      "data_offset", (json_int_t)h.data_offset,
					      "data_size", (json_int_t)h.data_size,
					      "keyslot", o->plain ? json_null() : json_integer(slot)));
		else
			printf("%s\n", u);
	}
out:
	OPENSSL_cleanse(area0, sizeof(area0));
	OPENSSL_cleanse(vault->vk, sizeof(vault->vk));
	meta_close(&m);
	if (r && created)
		unlink(image);
	return r;
}

/* ---- keys ---- */

static int free_slot(const struct vcrypt_hdr *h, int want)
{
	int i;

	if (want >= VEILCRYPT_KEYSLOTS) {
		err("--key-slot is 0 to %d", VEILCRYPT_KEYSLOTS - 1);
		return -1;
	}
	if (want >= 0) {
		if (h->keyslots[want].state != VEILCRYPT_SLOT_INACTIVE) {
			err("keyslot %d is in use", want);
			return -1;
		}
		return want;
	}
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++)
		if (h->keyslots[i].state == VEILCRYPT_SLOT_INACTIVE)
			return i;
	err("all %d keyslots are in use: remove one first", VEILCRYPT_KEYSLOTS);
	return -1;
}

static uint8_t areas[VEILCRYPT_KEYSLOTS][VEILCRYPT_KEYSLOT_AREA_SIZE];

/*
 * add-key (@remove false) and change-key (@remove true): the new secret
 * goes into a free slot; change-key also removes the slot the old one
 * opened, in the same header update.
 */
static int cmd_add_key(const char *image, struct opts *o, bool remove)
{
	int want = o->key_slot, slot, r;
	struct vcrypt_hdr h;
	struct meta m;

	o->key_slot = -1;		/* any slot unlocks; --key-slot names the new one */
	if (remove)
		want = -1;
	r = unlock(&m, image, o, true);
	if (r)
		goto out;
	h = m.hdr[m.use];
	slot = free_slot(&h, want);
	if (slot < 0) {
		r = VEIL_EXIT_REFUSED;
		goto out;
	}
	r = secret_read(&vault->new, &o->new_key, "New passphrase", true) ?:
	    pbkdf_choose(&o->pbkdf, &h.keyslots[slot]);
	if (!r)
		r = keyslot_seal(&h, (unsigned int)slot, &vault->new, vault->vk,
				 &h.keyslots[slot], areas[slot]);
	secret_clear(&vault->new);
	if (r)
		goto out;
	if (remove)
		memset(&h.keyslots[m.slot], 0, sizeof(h.keyslots[m.slot]));
	r = meta_commit(&m, &h, 1U << slot, areas, remove ? 1U << m.slot : 0);
	if (!r && json_output && remove)
		json_result(json_pack("{s:s, s:i, s:i}", "image", image, "keyslot", slot,
				      "replaced", m.slot));
	else if (!r && json_output)
		json_result(json_pack("{s:s, s:i}", "image", image, "keyslot", slot));
	else if (!r)
		printf(remove ? "keyslot %d replaces keyslot %d\n" : "keyslot %d added\n",
		       slot, m.slot);
out:
	OPENSSL_cleanse(areas, sizeof(areas));
	meta_close(&m);
	return r;
}

static int cmd_remove_key(const char *image, struct opts *o)
{
	int want = o->key_slot, i, active = 0, slot, r;
	struct vcrypt_hdr h;
	struct meta m;

	/* The secret proves the right to change the header; --key-slot names
	 * a slot to remove other than the one it opens.
	 */
	o->key_slot = -1;
	r = unlock(&m, image, o, true);
	if (r)
		goto out;
	h = m.hdr[m.use];
	slot = want >= 0 ? want : m.slot;
	if (slot >= VEILCRYPT_KEYSLOTS || h.keyslots[slot].state != VEILCRYPT_SLOT_ACTIVE) {
		err("keyslot %d is not in use", slot);
		r = VEIL_EXIT_NOT_FOUND;
		goto out;
	}
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++)
		active += h.keyslots[i].state == VEILCRYPT_SLOT_ACTIVE;
	if (active == 1 && !o->force) {
		err("keyslot %d is the last one: without it no key opens %s (--force)",
		    slot, image);
		r = VEIL_EXIT_REFUSED;
		goto out;
	}
	memset(&h.keyslots[slot], 0, sizeof(h.keyslots[slot]));
	r = meta_commit(&m, &h, 0, areas, 1U << slot);
	if (!r && json_output)
		json_result(json_pack("{s:s, s:i, s:i}", "image", image, "keyslot", slot,
				      "keyslots_left", active - 1));
	else if (!r)
		printf("keyslot %d removed\n", slot);
out:
	meta_close(&m);
	return r;
}

/* ---- open, close ---- */

struct table {
	char dev[64];
	char params[512];
	char desc[64];
	char dm_uuid[160];
	int loop_fd;
	bool dio;
};

static int image_device(const char *image, const struct vcrypt_hdr *h,
			const struct opts *o, struct table *t)
{
	struct stat st;

	t->loop_fd = -1;
	if (stat(image, &st)) {
		err("%s: %s", image, strerror(errno));
		return VEIL_EXIT_NOT_FOUND;
	}
	if (S_ISBLK(st.st_mode)) {
		snprintf(t->dev, sizeof(t->dev), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
		return VEIL_EXIT_OK;
	}
	t->loop_fd = loop_attach(image, o->read_only, h->sector_size, t->dev,
				 sizeof(t->dev), &t->dio);
	return t->loop_fd < 0 ? VEIL_EXIT_FAILED : VEIL_EXIT_OK;
}

static void table_params(struct table *t, const struct vcrypt_hdr *h,
			 const struct opts *o)
{
	if (h->flags & VEILCRYPT_F_ENCRYPTED)
		snprintf(t->params, sizeof(t->params), "%s :%u:logon:%s%s", t->dev,
			 h->key_size, t->desc, o->allow_discards ? " 1 allow_discards" : "");
	else
		snprintf(t->params, sizeof(t->params), "%s -%s", t->dev,
			 o->allow_discards ? " 1 allow_discards" : "");
}

static int cmd_open(const char *image, const char *name, const struct opts *o)
{
	char prefix[64], other[128], u[37], mapper[96];
	const struct vcrypt_hdr *h;
	struct table t = { .loop_fd = -1 };
	bool key_added = false;
	struct meta m;
	int c, r;

	if (strlen(name) >= 64 || strchr(name, '/')) {
		err("bad device name '%s'", name);
		return VEIL_EXIT_USAGE;
	}
	r = meta_open(&m, image, false);
	if (r)
		goto out;
	/* Two opens of one image: the second waits, then finds the first. */
	flock(m.fd, LOCK_EX);
	c = meta_pick(&m);
	if (c < 0) {
		err("%s: no valid veilcrypt header (primary: %s; backup: %s)", image,
		    vcrypt_hdr_strerror(m.decode[0]), vcrypt_hdr_strerror(m.decode[1]));
		r = VEIL_EXIT_NOT_FOUND;
		goto out;
	}
	if (!(m.hdr[c].flags & VEILCRYPT_F_ENCRYPTED) != o->plain) {
		err(o->plain ? "%s is encrypted: --plain refused" :
		    "%s has a plain header: refusing to map it in the clear without --plain",
		    image);
		r = VEIL_EXIT_REFUSED;
		goto out;
	}
	if (o->plain) {
		m.use = c;
	} else {
		r = secret_read(&vault->old, &o->key, "Passphrase", false);
		r = r ?: meta_unlock(&m, &vault->old, o->key_slot);
		secret_clear(&vault->old);
		if (r)
			goto out;
	}
	h = &m.hdr[m.use];

	/* One mapping per image: by its UUID, whatever the path or name. */
	uuid_str(h->uuid, u);
	snprintf(prefix, sizeof(prefix), VDISK_UUID_PREFIX "%s-", u);
	if (dm_find_uuid_prefix(prefix, other, sizeof(other)) > 0) {
		err("%s is already open as %s", image, other);
		r = VEIL_EXIT_REFUSED;
		goto out;
	}
	dm_uuid_for(h->uuid, name, t.dm_uuid, sizeof(t.dm_uuid));
	key_desc_for(h->uuid, t.desc, sizeof(t.desc));
	r = image_device(image, h, o, &t);
	if (r)
		goto out;
	if (h->flags & VEILCRYPT_F_ENCRYPTED) {
		if (keyring_add_logon(t.desc, vault->vk, vault->vk_len)) {
			r = VEIL_EXIT_FAILED;
			goto out;
		}
		key_added = true;
	}
	table_params(&t, h, o);
	if (dm_create_table(name, t.dm_uuid, h->data_size >> 9, t.params, o->read_only)) {
		err("device-mapper refused the table for %s (see the kernel log)", name);
		r = VEIL_EXIT_FAILED;
		goto out;
	}
	key_added = false;
	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", name);
	if (json_output)
		json_result(json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "image", image,
				      "name", name, "mapper", mapper, "device", t.dev,
				      "read_only", o->read_only, "size", (json_int_t)h->data_size));
	else
		printf("%s\n", mapper);
	if (t.loop_fd >= 0 && !t.dio)
		fprintf(stderr, "veil-disk: note: %s backs %s without direct I/O (its file system has none)\n",
			image, t.dev);
out:
	if (key_added)
		keyring_drop_logon(t.desc);
	if (t.loop_fd >= 0)
		close(t.loop_fd);
	OPENSSL_cleanse(vault->vk, sizeof(vault->vk));
	meta_close(&m);
	return r;
}

/* A veilcrypt device of ours by name: VEIL_EXIT_OK, or why not. */
static int our_device(const char *name, struct dm_info_veil *d)
{
	if (dm_query(name, d)) {
		err("cannot ask device-mapper about %s (it needs root and the dm_mod module)", name);
		return VEIL_EXIT_FAILED;
	}
	if (!d->found) {
		err("no device named %s", name);
		return VEIL_EXIT_NOT_FOUND;
	}
	if (!d->veilcrypt) {
		err("%s is not a veilcrypt device opened by veil-disk: not touching it", name);
		return VEIL_EXIT_REFUSED;
	}
	return VEIL_EXIT_OK;
}

/* "<dev> <key> ...": the device and the logon key description. */
static void split_params(const char *params, char *dev, size_t devlen,
			 char *desc, size_t desclen)
{
	const char *sp = strchr(params, ' '), *k;
	unsigned int size;
	int n = 0;

	snprintf(dev, devlen, "%.*s", sp ? (int)(sp - params) : 0, params);
	desc[0] = '\0';
	if (!sp || sscanf(sp + 1, ":%u:logon:%n", &size, &n) != 1 || !n)
		return;
	k = sp + 1 + n;
	snprintf(desc, desclen, "%.*s", (int)strcspn(k, " "), k);
}

static int cmd_close(const char *name)
{
	char dev[64], desc[128];
	struct dm_info_veil d;
	int r;

	r = our_device(name, &d);
	if (r)
		return r;
	split_params(d.params, dev, sizeof(dev), desc, sizeof(desc));
	if (dm_remove(name)) {
		err("cannot remove %s (in use?)", name);
		return VEIL_EXIT_FAILED;
	}
	if (*desc)
		keyring_drop_logon(desc);
	json_result(json_pack("{s:s}", "name", name));
	return VEIL_EXIT_OK;
}

static int cmd_status(const char *name, const struct opts *o)
{
	char dev[64], desc[128], backing[PATH_MAX] = "";
	char cipher[64] = "", copy[32] = "", key[32] = "";
	unsigned int ss = 0;
	struct dm_info_veil d;
	bool dio = false, loop;
	int r;

	r = our_device(name, &d);
	if (r)
		return r;
	split_params(d.params, dev, sizeof(dev), desc, sizeof(desc));
	loop = !loop_backing(dev, backing, sizeof(backing), &dio);
	sscanf(d.status, "%63s %u %31s %31s", cipher, &ss, copy, key);
	if (o->json) {
		json_result(json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:i, s:I, s:s, s:s, s:b}",
				     "name", name, "dm_uuid", d.uuid,
				     "device", dev, "image", loop ? backing : dev,
				     "loop", loop, "direct_io", dio,
				     "cipher", cipher, "sector_size", (int)ss,
				     "size", (json_int_t)(d.sectors << 9),
				     "header", copy, "key", key, "read_only", d.read_only));
		return VEIL_EXIT_OK;
	}
	printf("%s is active%s\n", name, d.read_only ? " (read-only)" : "");
	printf("  dm uuid:     %s\n", d.uuid);
	printf("  image:       %s\n", loop ? backing : dev);
	if (loop)
		printf("  loop:        %s, direct I/O %s\n", dev, dio ? "on" : "off");
	printf("  cipher:      %s\n", cipher);
	printf("  sector size: %u\n", ss);
	printf("  size:        %" PRIu64 " bytes\n", d.sectors << 9);
	printf("  header:      %s\n", copy);
	printf("  key:         %s%s%s\n", key, *desc ? ", logon:" : "", desc);
	return VEIL_EXIT_OK;
}

static int list_one(const char *name, void *arg)
{
	json_t *arr = arg;
	struct dm_info_veil d;

	if (dm_query(name, &d) || !d.veilcrypt)
		return 0;
	if (arr)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s}", "name", name,
						     "dm_uuid", d.uuid, "sectors",
						     (json_int_t)d.sectors, "status", d.status));
	else
		printf("%s\t%" PRIu64 "\t%s\n", name, d.sectors, d.status);
	return 0;
}

static int cmd_list(const struct opts *o)
{
	json_t *arr = o->json ? json_array() : NULL;

	if (dm_for_each(list_one, arr) < 0) {
		err("cannot list device-mapper devices (it needs root and the dm_mod module)");
		json_decref(arr);
		return VEIL_EXIT_FAILED;
	}
	if (arr)
		json_result(json_pack("{s:o}", "devices", arr));
	return VEIL_EXIT_OK;
}

/* ---- dump, check ---- */

static json_t *header_json(const struct vcrypt_hdr *h)
{
	char uuid[37], hex[2 * VEILCRYPT_SALT_LEN + 1];
	json_t *slots = json_array(), *j;
	int i;

	uuid_str(h->uuid, uuid);
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++) {
		const struct vcrypt_keyslot *ks = &h->keyslots[i];

		if (ks->state != VEILCRYPT_SLOT_ACTIVE)
			continue;
		hex_str(ks->salt, sizeof(ks->salt), hex);
		json_array_append_new(slots, json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:s, s:i, s:s}",
			"slot", i, "kind", slot_kind(ks->kind), "kdf", "argon2id",
			"iterations", (int)ks->kdf_iterations, "memory_kib", (int)ks->kdf_memory,
			"parallel", (int)ks->kdf_parallel, "area_cipher", "aes-256-gcm",
			"stripes", (int)ks->stripes, "salt", hex));
	}
	j = json_pack("{s:i, s:I, s:b, s:i, s:s, s:i, s:i, s:I, s:I, s:s, s:I, s:I, s:o}",
		      "version", (int)h->version, "seq", (json_int_t)h->seq,
		      "encrypted", !!(h->flags & VEILCRYPT_F_ENCRYPTED),
		      "cipher_id", (int)h->cipher_id, "cipher", cipher_name(h->cipher_id),
		      "key_size", (int)h->key_size, "sector_size", (int)h->sector_size,
		      "data_offset", (json_int_t)h->data_offset,
		      "data_size", (json_int_t)h->data_size, "uuid", uuid,
		      "incompat", (json_int_t)h->incompat, "compat", (json_int_t)h->compat,
		      "keyslots", slots);
	return j;
}

static int cmd_dump(const char *image, const struct opts *o)
{
	static const char * const copy[2] = { "primary", "backup" };
	const struct vcrypt_hdr *h;
	struct meta m;
	char uuid[37];
	int r, i, use;

	r = meta_open(&m, image, false);
	if (r)
		goto out;
	use = meta_pick(&m);
	if (use < 0)
		err("%s: no valid veilcrypt header (primary: %s; backup: %s)", image,
		    vcrypt_hdr_strerror(m.decode[0]), vcrypt_hdr_strerror(m.decode[1]));
	if (o->json) {
		json_t *j = json_pack("{s:s, s:I, s:s}", "image", image,
				      "image_size", (json_int_t)m.dev_size,
				      "mac", "not verified (dump reads no key; see check)");

		for (i = 0; i < 2; i++) {
			json_t *c = m.decode[i] == VCRYPT_HDR_OK ? header_json(&m.hdr[i]) :
				    json_pack("{s:s}", "invalid_field",
					      vcrypt_hdr_field(m.decode[i]));

			json_object_set_new(c, "valid", json_boolean(m.decode[i] == VCRYPT_HDR_OK));
			json_object_set_new(j, copy[i], c);
		}
		json_object_set_new(j, "newest", use < 0 ? json_null() : json_string(copy[use]));
		r = use < 0 ? VEIL_EXIT_NOT_FOUND : VEIL_EXIT_OK;
		if (r)
			json_failure(r, j);
		else
			json_result(j);
		goto out;
	}
	printf("image:        %s (%" PRIu64 " bytes)\n", image, m.dev_size);
	for (i = 0; i < 2; i++)
		printf("%-13s %s%s\n", i ? "backup:" : "primary:",
		       m.decode[i] == VCRYPT_HDR_OK ? "valid" : vcrypt_hdr_strerror(m.decode[i]),
		       use == i ? " (newest)" : "");
	if (use < 0) {
		r = VEIL_EXIT_NOT_FOUND;
		goto out;
	}
	h = &m.hdr[use];
	uuid_str(h->uuid, uuid);
	printf("mac:          not verified (dump reads no key; see check)\n");
	printf("version:      %u\n", h->version);
	printf("seq:          %llu\n", (unsigned long long)h->seq);
	printf("flags:        %s\n", h->flags & VEILCRYPT_F_ENCRYPTED ? "encrypted" : "plain");
	printf("cipher:       %s (id %#x)\n", cipher_name(h->cipher_id), h->cipher_id);
	printf("key_size:     %u\n", h->key_size);
	printf("sector_size:  %u\n", h->sector_size);
	printf("data_offset:  %llu\n", (unsigned long long)h->data_offset);
	printf("data_size:    %llu\n", (unsigned long long)h->data_size);
	printf("uuid:         %s\n", uuid);
	printf("features:     incompat %#llx, compat %#llx\n",
	       (unsigned long long)h->incompat, (unsigned long long)h->compat);
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++) {
		const struct vcrypt_keyslot *ks = &h->keyslots[i];

		if (ks->state == VEILCRYPT_SLOT_ACTIVE)
			printf("keyslot %d:    %s, argon2id t=%u m=%u KiB p=%u\n", i,
			       slot_kind(ks->kind), ks->kdf_iterations, ks->kdf_memory,
			       ks->kdf_parallel);
	}
out:
	meta_close(&m);
	return r;
}

/* The header is whole; with a key, the key opens it and its MAC verifies. */
static int cmd_check(const char *image, const struct opts *o)
{
	const char *verdict = "ok";
	bool with_key = o->key.key_file || o->key.key_desc;
	struct meta m;
	int r, use;

	r = meta_open(&m, image, false);
	if (r)
		return r;
	use = meta_pick(&m);
	if (use < 0) {
		verdict = vcrypt_hdr_strerror(m.decode[0]);
		r = VEIL_EXIT_NOT_FOUND;
	} else if (m.hdr[use].data_offset + m.hdr[use].data_size > m.dev_size) {
		verdict = "image smaller than header data_offset + data_size";
		r = VEIL_EXIT_NOT_FOUND;
	} else if (with_key && (m.hdr[use].flags & VEILCRYPT_F_ENCRYPTED)) {
		r = secret_read(&vault->old, &o->key, "Passphrase", false);
		r = r ?: meta_unlock(&m, &vault->old, o->key_slot);
		secret_clear(&vault->old);
		OPENSSL_cleanse(vault->vk, sizeof(vault->vk));
		if (r == VEIL_EXIT_AUTH)
			verdict = "the key does not open it, or its MAC does not verify";
		else if (r)
			verdict = "the key could not be tried";
		else
			use = m.use;
	} else if (with_key) {
		verdict = "plain image: it has no keys";
		r = VEIL_EXIT_REFUSED;
	}
	if (json_output) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "image", image, "result", verdict,
				      "header", use < 0 ? "none" : use ? "backup" : "primary",
				      "mac_verified", r == VEIL_EXIT_OK && with_key);

		if (use < 0)
			json_object_set_new(j, "invalid_field",
					    json_string(vcrypt_hdr_field(m.decode[0])));
		if (r) {
			set_error(verdict);
			json_failure(r, j);
		} else {
			json_result(j);
		}
	} else {
		printf("%s: %s%s\n", image, verdict,
		       r == VEIL_EXIT_OK ? (with_key ? ", MAC verified" : ", MAC not checked (no key)") : "");
	}
	meta_close(&m);
	return r;
}

/* ---- resize ---- */

static int cmd_resize(const char *image, struct opts *o)
{
	char prefix[64], name[128], u[37], dev[64], desc[128];
	struct dm_info_veil d;
	struct vcrypt_hdr h;
	struct meta m;
	uint64_t size = o->size;
	unsigned int loopnr;
	int r;

	if (!size) {
		err("resize needs --size");
		return VEIL_EXIT_USAGE;
	}
	r = unlock(&m, image, o, true);
	if (r)
		goto out;
	h = m.hdr[m.use];
	size -= size % h.sector_size;
	if (!size || h.data_offset + size < h.data_offset) {
		err("--size: no room for data");
		r = VEIL_EXIT_USAGE;
		goto out;
	}
	if (size < h.data_size && !o->force) {
		err("shrinking %s from %" PRIu64 " to %" PRIu64 " bytes loses data at its end (--force)",
		    image, (uint64_t)h.data_size, size);
		r = VEIL_EXIT_REFUSED;
		goto out;
	}
	if (m.blockdev && h.data_offset + size > m.dev_size) {
		err("%s: %" PRIu64 " bytes of data do not fit the device", image, size);
		r = VEIL_EXIT_USAGE;
		goto out;
	}
	if (!m.blockdev && m.dev_size < h.data_offset + size &&
	    ftruncate(m.fd, (off_t)(h.data_offset + size))) {
		err("%s: %s", image, strerror(errno));
		r = VEIL_EXIT_FAILED;
		goto out;
	}
	h.data_size = size;
	r = meta_commit(&m, &h, 0, areas, 0);
	if (r)
		goto out;

	/* An open image gets its new length now. */
	uuid_str(h.uuid, u);
	snprintf(prefix, sizeof(prefix), VDISK_UUID_PREFIX "%s-", u);
	if (dm_find_uuid_prefix(prefix, name, sizeof(name)) > 0 && !dm_query(name, &d)) {
		split_params(d.params, dev, sizeof(dev), desc, sizeof(desc));
		if (sscanf(dev, "7:%u", &loopnr) == 1) {
			snprintf(dev, sizeof(dev), "/dev/loop%u", loopnr);
			loop_set_capacity(dev);
		}
		if (dm_reload_table(name, size >> 9, d.params)) {
			err("the header says %" PRIu64 " bytes now, but %s kept its size (see the kernel log)",
			    size, name);
			r = VEIL_EXIT_FAILED;
			goto out;
		}
	}
	if (json_output)
		json_result(json_pack("{s:s, s:I}", "image", image, "data_size", (json_int_t)size));
	else
		printf("%" PRIu64 "\n", size);
out:
	OPENSSL_cleanse(vault->vk, sizeof(vault->vk));
	meta_close(&m);
	return r;
}

/* ---- header-backup, header-restore ---- */

static int copy_range(int from, int to, uint64_t len, const char *what)
{
	static uint8_t buf[1 << 16];
	uint64_t off;
	size_t n;

	for (off = 0; off < len; off += n) {
		n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		if (pread(from, buf, n, (off_t)off) != (ssize_t)n ||
		    pwrite(to, buf, n, (off_t)off) != (ssize_t)n) {
			err("%s: %s", what, strerror(errno ? errno : EIO));
			return -1;
		}
	}
	return fsync(to);
}

static int cmd_header_backup(const char *image, const struct opts *o)
{
	struct meta m;
	int fd, use, r;

	if (!o->file) {
		err("header-backup needs --file");
		return VEIL_EXIT_USAGE;
	}
	r = meta_open(&m, image, false);
	if (r)
		return r;
	use = meta_pick(&m);
	if (use < 0) {
		err("%s: no valid veilcrypt header to back up", image);
		meta_close(&m);
		return VEIL_EXIT_NOT_FOUND;
	}
	fd = open(o->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err("%s: %s", o->file, strerror(errno));
		meta_close(&m);
		return errno == EEXIST ? VEIL_EXIT_REFUSED : VEIL_EXIT_FAILED;
	}
	r = copy_range(m.fd, fd, m.hdr[use].data_offset, o->file) ?
	    VEIL_EXIT_FAILED : VEIL_EXIT_OK;
	close(fd);
	if (r)
		unlink(o->file);
	else
		json_result(json_pack("{s:s, s:s, s:I, s:s}", "image", image, "file", o->file,
				      "bytes", (json_int_t)m.hdr[use].data_offset,
				      "header", use ? "backup" : "primary"));
	meta_close(&m);
	return r;
}

static int cmd_header_restore(const char *image, const struct opts *o)
{
	char prefix[64], name[128], u[37];
	struct meta b, m;
	int bu, mu, r, i;

	if (!o->file) {
		err("header-restore needs --file");
		return VEIL_EXIT_USAGE;
	}
	r = meta_open(&b, o->file, false);
	if (r)
		return r;
	bu = meta_pick(&b);
	if (bu < 0 || b.dev_size != b.hdr[bu].data_offset) {
		err("%s is not a veil-disk header backup", o->file);
		r = VEIL_EXIT_NOT_FOUND;
		goto out_b;
	}
	r = meta_open(&m, image, true);
	if (r)
		goto out_b;
	/*
	 * Not while it is open: neither under the backup's UUID nor under
	 * the one its header says now (a --force restore of another image's
	 * backup), nor through a loop device or a holder at all.
	 */
	mu = meta_pick(&m);
	for (i = 0; i < 2; i++) {
		if (i && mu < 0)
			break;
		uuid_str(i ? m.hdr[mu].uuid : b.hdr[bu].uuid, u);
		snprintf(prefix, sizeof(prefix), VDISK_UUID_PREFIX "%s-", u);
		if (dm_find_uuid_prefix(prefix, name, sizeof(name)) > 0) {
			err("%s is open as %s: close it first", image, name);
			r = VEIL_EXIT_REFUSED;
			goto out;
		}
	}
	r = probe_busy(image, m.fd);
	if (r)
		goto out;
	uuid_str(b.hdr[bu].uuid, u);
	if (!o->force && (mu < 0 || memcmp(m.hdr[mu].uuid, b.hdr[bu].uuid, VEILCRYPT_UUID_LEN))) {
		err("%s: %s (--force)", image, mu < 0 ? "has no valid header to compare with" :
		    "the backup is of another image (UUID differs)");
		r = VEIL_EXIT_REFUSED;
		goto out;
	}
	if (m.dev_size < b.hdr[bu].data_offset + b.hdr[bu].data_size) {
		err("%s is smaller than the backup's data_offset + data_size", image);
		r = VEIL_EXIT_REFUSED;
		goto out;
	}
	r = copy_range(b.fd, m.fd, b.hdr[bu].data_offset, image) ?
	    VEIL_EXIT_FAILED : VEIL_EXIT_OK;
	if (!r)
		json_result(json_pack("{s:s, s:s, s:s, s:I}", "image", image, "file", o->file,
				      "uuid", u, "bytes", (json_int_t)b.hdr[bu].data_offset));
out:
	meta_close(&m);
out_b:
	meta_close(&b);
	return r;
}

/* ---- main ---- */

enum {
	OPT_KEY_FILE = 256, OPT_KEY_DESC, OPT_NEW_KEY_FILE, OPT_NEW_KEY_DESC,
	OPT_CIPHER, OPT_CIPHER_ID, OPT_KEY_SIZE, OPT_SECTOR_SIZE, OPT_SIZE,
	OPT_DATA_OFFSET, OPT_PLAIN, OPT_FORCE, OPT_JSON, OPT_DISCARDS, OPT_RO,
	OPT_KEY_SLOT, OPT_VK_FILE, OPT_FILE, OPT_ITER_TIME, OPT_PBKDF_MEMORY,
	OPT_PBKDF_PARALLEL, OPT_PBKDF_ITER, OPT_BENCH_MS, OPT_HELP, OPT_VERSION,
};

static const struct option longopts[] = {
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "key-desc", required_argument, NULL, OPT_KEY_DESC },
	{ "new-key-file", required_argument, NULL, OPT_NEW_KEY_FILE },
	{ "new-key-desc", required_argument, NULL, OPT_NEW_KEY_DESC },
	{ "cipher", required_argument, NULL, OPT_CIPHER },
	{ "cipher-id", required_argument, NULL, OPT_CIPHER_ID },
	{ "key-size", required_argument, NULL, OPT_KEY_SIZE },
	{ "sector-size", required_argument, NULL, OPT_SECTOR_SIZE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "data-offset", required_argument, NULL, OPT_DATA_OFFSET },
	{ "plain", no_argument, NULL, OPT_PLAIN },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "allow-discards", no_argument, NULL, OPT_DISCARDS },
	{ "read-only", no_argument, NULL, OPT_RO },
	{ "key-slot", required_argument, NULL, OPT_KEY_SLOT },
	{ "volume-key-file", required_argument, NULL, OPT_VK_FILE },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "iter-time", required_argument, NULL, OPT_ITER_TIME },
	{ "pbkdf-memory", required_argument, NULL, OPT_PBKDF_MEMORY },
	{ "pbkdf-parallel", required_argument, NULL, OPT_PBKDF_PARALLEL },
	{ "pbkdf-force-iterations", required_argument, NULL, OPT_PBKDF_ITER },
	{ "bench-time", required_argument, NULL, OPT_BENCH_MS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static int parse_u32_opt(const char *name, const char *arg, uint32_t *out)
{
	if (parse_u32(arg, out)) {
		err("bad --%s '%s'", name, arg);
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	uint32_t v;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY_FILE: o->key.key_file = optarg; break;
		case OPT_KEY_DESC: o->key.key_desc = optarg; break;
		case OPT_NEW_KEY_FILE: o->new_key.key_file = optarg; break;
		case OPT_NEW_KEY_DESC: o->new_key.key_desc = optarg; break;
		case OPT_CIPHER: o->cipher = optarg; break;
		case OPT_CIPHER_ID:
			if (parse_u32_opt("cipher-id", optarg, &o->cipher_id) || !o->cipher_id)
				return -1;
			break;
		case OPT_KEY_SIZE:
			if (parse_u32_opt("key-size", optarg, &o->key_size))
				return -1;
			break;
		case OPT_SECTOR_SIZE:
			if (parse_u32(optarg, &o->sector_size) ||
			    (o->sector_size != 512 && o->sector_size != 4096)) {
				err("--sector-size is 512 or 4096");
				return -1;
			}
			break;
		case OPT_SIZE:
			if (parse_size(optarg, &o->size)) {
				err("bad --size '%s'", optarg);
				return -1;
			}
			break;
		case OPT_DATA_OFFSET:
			if (parse_size(optarg, &o->data_offset)) {
				err("bad --data-offset '%s'", optarg);
				return -1;
			}
			break;
		case OPT_PLAIN: o->plain = true; break;
		case OPT_FORCE: o->force = true; break;
		case OPT_JSON: o->json = true; break;
		case OPT_DISCARDS: o->allow_discards = true; break;
		case OPT_RO: o->read_only = true; break;
		case OPT_KEY_SLOT:
			if (parse_u32_opt("key-slot", optarg, &v) || v >= VEILCRYPT_KEYSLOTS) {
				err("--key-slot is 0 to %d", VEILCRYPT_KEYSLOTS - 1);
				return -1;
			}
			o->key_slot = (int)v;
			break;
		case OPT_VK_FILE: o->volume_key_file = optarg; break;
		case OPT_FILE: o->file = optarg; break;
		case OPT_ITER_TIME:
			if (parse_u32_opt("iter-time", optarg, &o->pbkdf.iter_time_ms) ||
			    !o->pbkdf.iter_time_ms)
				return -1;
			break;
		case OPT_PBKDF_MEMORY:
			if (parse_u32_opt("pbkdf-memory", optarg, &o->pbkdf.memory_kib))
				return -1;
			break;
		case OPT_PBKDF_PARALLEL:
			if (parse_u32_opt("pbkdf-parallel", optarg, &o->pbkdf.parallel) ||
			    !o->pbkdf.parallel)
				return -1;
			break;
		case OPT_PBKDF_ITER:
			if (parse_u32_opt("pbkdf-force-iterations", optarg,
					  &o->pbkdf.force_iterations))
				return -1;
			break;
		case OPT_BENCH_MS:
			if (parse_u32_opt("bench-time", optarg, &o->bench_ms) || !o->bench_ms)
				return -1;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			exit(VEIL_EXIT_OK);
		case OPT_VERSION:
			printf("veil-disk %s\n", VEIL_VERSION);
			exit(VEIL_EXIT_OK);
		default:
			err("bad option (veil-disk --help lists them)");
			return -1;
		}
	}
	return 0;
}

/* The operands each command takes, for the usage error that names them. */
static const struct {
	const char *name;
	int nargs;
	const char *args;
} commands[] = {
	{ "format", 1, "IMAGE" }, { "open", 2, "IMAGE NAME" }, { "close", 1, "NAME" },
	{ "status", 1, "NAME" }, { "list", 0, "no operand" }, { "dump", 1, "IMAGE" },
	{ "check", 1, "IMAGE" }, { "add-key", 1, "IMAGE" }, { "change-key", 1, "IMAGE" },
	{ "remove-key", 1, "IMAGE" }, { "resize", 1, "IMAGE" },
	{ "header-backup", 1, "IMAGE" }, { "header-restore", 1, "IMAGE" },
	{ "benchmark", 0, "no operand" },
};

/* VEIL_EXIT_OK when cmd is known and has its operands; else why not. */
static int check_command(const char *cmd, int nargs)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, cmd))
			continue;
		if (commands[i].nargs == nargs)
			return VEIL_EXIT_OK;
		err("%s wants %s, got %d operand%s (veil-disk --help)", cmd,
		    commands[i].args, nargs, nargs == 1 ? "" : "s");
		return VEIL_EXIT_USAGE;
	}
	err("unknown command '%s' (veil-disk --help lists them)", cmd);
	usage(stderr);
	return VEIL_EXIT_USAGE;
}

static int run(int argc, char **argv)
{
	struct opts o = { .key_slot = -1 };
	const char *cmd;
	int nargs, r;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return VEIL_EXIT_USAGE;
	}
	if (optind >= argc) {
		err("which command?");
		usage(stderr);
		return VEIL_EXIT_USAGE;
	}
	cmd = argv[optind++];
	nargs = argc - optind;
	json_command = cmd;
	r = check_command(cmd, nargs);
	if (r)
		return r;
	if (vault_init())
		return VEIL_EXIT_FAILED;
	dm_udev_set_sync_support(0);
	dm_log_init_verbose(0);

	if (!strcmp(cmd, "list") && nargs == 0)
		return cmd_list(&o);
	if (!strcmp(cmd, "benchmark") && nargs == 0) {
		struct bench_opts b = { o.cipher, o.sector_size, o.bench_ms ? o.bench_ms : 300,
					o.json, o.pbkdf };

		return cmd_benchmark(&b);
	}
	if (!strcmp(cmd, "open") && nargs == 2)
		return cmd_open(argv[optind], argv[optind + 1], &o);
	if (nargs == 1) {
		const char *a = argv[optind];

		if (!strcmp(cmd, "close"))
			return cmd_close(a);
		if (!strcmp(cmd, "status"))
			return cmd_status(a, &o);
		if (!strcmp(cmd, "format"))
			return cmd_format(a, &o);
		if (!strcmp(cmd, "dump"))
			return cmd_dump(a, &o);
		if (!strcmp(cmd, "check"))
			return cmd_check(a, &o);
		if (!strcmp(cmd, "add-key"))
			return cmd_add_key(a, &o, false);
		if (!strcmp(cmd, "change-key"))
			return cmd_add_key(a, &o, true);
		if (!strcmp(cmd, "remove-key"))
			return cmd_remove_key(a, &o);
		if (!strcmp(cmd, "resize"))
			return cmd_resize(a, &o);
		if (!strcmp(cmd, "header-backup"))
			return cmd_header_backup(a, &o);
		if (!strcmp(cmd, "header-restore"))
			return cmd_header_restore(a, &o);
	}
	err("internal error: command %s not dispatched", cmd);
	return VEIL_EXIT_FAILED;
}

/*
 * The command word, before getopt_long has seen the line: a bad option
 * is reported against the command it was given to.  NULL when none.
 */
static const char *command_word(int argc, char **argv)
{
	const struct option *lo;
	size_t n;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (argv[i][0] != '-' || !argv[i][1])
			return argv[i];
		if (argv[i][1] != '-' || strchr(argv[i], '='))
			continue;
		n = strlen(argv[i] + 2);
		for (lo = longopts; lo->name; lo++)
			if (!strncmp(lo->name, argv[i] + 2, n))
				break;
		/* An abbreviation is taken as getopt_long takes it: the first match. */
		if (lo->name && lo->has_arg == required_argument)
			i++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *cmd = command_word(argc, argv);
	int i, r;

	/* --json is known before any message, so that a usage error is JSON too. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			json_output = true;
	if (cmd)
		json_command = cmd;
	r = run(argc, argv);
	if (r && json_output && !json_done)
		json_failure(r, NULL);
	else if (!r && json_output && !json_done)
		json_result(json_object());
	return r;
}
