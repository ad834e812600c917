/* SPDX-License-Identifier: GPL-2.0 */
/*
 * veil-disk: what its files share.  veil-disk.c parses the command line and
 * runs the commands; vdisk_secret.c reads keys and passphrases;
 * vdisk_keyslot.c derives keyslot keys (Argon2id) and wraps the volume key;
 * vdisk_meta.c reads, authenticates and updates the metadata (header copies
 * and keyslot areas) crash-safely; vdisk_dm.c drives loop devices,
 * device-mapper and the kernel keyring; vdisk_probe.c finds what a format
 * would destroy; vdisk_bench.c measures ciphers and the KDF.
 */
#ifndef VDISK_H
#define VDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veil_exit.h"
#include "vcrypt_hdr.h"

#define VDISK_DEFAULT_DATA_OFFSET	(4ULL << 20)
#define VDISK_MAX_SECRET		8192	/* key file bytes, like a page */
#define VDISK_KEK_LEN			32

/*
 * Messages: err() to stderr with the program name, the first one also
 * the "error" of the JSON failure; warn() for notes that are no failure.
 */
void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * With --json: the one line of output, j (consumed) with "schema",
 * "command" and "ok": true added in front.
 */
struct json_t;
void json_result(struct json_t *j);

/* ---- secrets (vdisk_secret.c) ---- */

/*
 * A passphrase, key file or keyring key.  Lives in locked memory; wiped by
 * secret_clear().
 */
struct secret {
	uint8_t buf[VDISK_MAX_SECRET];
	size_t len;
	uint32_t kind;			/* VEILCRYPT_SLOT_PASSPHRASE... */
};

struct secret_source {
	const char *key_file;		/* "-" is standard input */
	const char *key_desc;		/* "user:DESCRIPTION" */
};

/* What the caller's secrets live in: locked, wiped at exit. */
struct vault {
	struct secret old;		/* unlocks an existing keyslot */
	struct secret new;		/* goes into a new keyslot */
	uint8_t vk[VEILCRYPT_MAX_KEY_SIZE];	/* the volume key */
	uint32_t vk_len;
};

extern struct vault *vault;

int vault_init(void);
void secret_clear(struct secret *s);
/* Read a secret; @confirm asks a terminal user twice.  Returns VEIL_EXIT_*. */
int secret_read(struct secret *s, const struct secret_source *src,
		const char *prompt, bool confirm);
int read_file_exact(const char *path, uint8_t *buf, size_t len);

/* ---- keyslots (vdisk_keyslot.c) ---- */

struct pbkdf_opts {
	uint32_t iter_time_ms;		/* benchmark target, default 2000 */
	uint32_t memory_kib;		/* 0: benchmark chooses */
	uint32_t parallel;		/* 0: min(4, CPUs) */
	uint32_t force_iterations;	/* 0: benchmark chooses */
};

/* Choose the slot's Argon2id cost: benchmarked unless forced. */
int pbkdf_choose(const struct pbkdf_opts *o, struct vcrypt_keyslot *ks);
/* Time one Argon2id run with @ks's cost, in ms (negative on error). */
long pbkdf_time_ms(const struct vcrypt_keyslot *ks);
/*
 * Fill @ks (kind, cost, salt, nonce, tag) and @area (the keyslot area) so
 * that @s unlocks the volume key of @h.
 */
int keyslot_seal(const struct vcrypt_hdr *h, unsigned int slot,
		 const struct secret *s, const uint8_t *vk,
		 struct vcrypt_keyslot *ks, uint8_t *area);
/*
 * Try @s on slot @slot: VEIL_EXIT_OK with the key in @vk, VEIL_EXIT_AUTH if
 * it does not unlock it, VEIL_EXIT_FAILED on a system error.
 */
int keyslot_open(const struct vcrypt_hdr *h, unsigned int slot,
		 const struct secret *s, const uint8_t *area, uint8_t *vk);
size_t keyslot_material_len(const struct vcrypt_hdr *h);

/* ---- the metadata (vdisk_meta.c) ---- */

struct meta {
	const char *path;
	int fd;
	bool blockdev;
	uint64_t dev_size;		/* bytes */
	uint8_t raw[2][VEILCRYPT_HDR_SIZE];
	int probe[2];			/* vcrypt_hdr_probe() of each copy */
	int decode[2];			/* vcrypt_hdr_decode() of each copy */
	struct vcrypt_hdr hdr[2];
	int use;			/* copy in use, -1 when none */
	bool mac_ok[2];			/* verified with the unlocked key */
	int slot;			/* keyslot that unlocked, -1 none */
};

/* Open and read both copies.  Returns VEIL_EXIT_*. */
int meta_open(struct meta *m, const char *path, bool write);
void meta_close(struct meta *m);
/* The newest copy that probes and decodes (no MAC yet), or -1. */
int meta_pick(struct meta *m);
/*
 * Unlock with @s (slot @slot, or every active slot when -1): on success
 * the volume key is in vault->vk and m->use is the newest copy whose MAC
 * that key verifies.  Returns VEIL_EXIT_OK, VEIL_EXIT_AUTH (no slot opens,
 * or the header fails its MAC), VEIL_EXIT_NOT_FOUND or VEIL_EXIT_FAILED.
 */
int meta_unlock(struct meta *m, const struct secret *s, int slot);
/* The MAC and key digest of @h under vault->vk. */
int meta_seal(struct vcrypt_hdr *h, uint8_t *raw);
int meta_derive(const uint8_t *vk, uint32_t vk_len, const uint8_t *uuid,
		uint8_t *digest, uint8_t *mac_key);
int meta_mac(const uint8_t *mac_key, const uint8_t *raw, uint8_t *mac);

/*
 * Replace the metadata with @h crash-safely: first make both copies equal
 * to the one in use, then write the areas of @new_slots (bit i: area i,
 * from areas[i]), the primary, the backup, each flushed, and last wipe the
 * areas of @wipe_slots.
 */
int meta_commit(struct meta *m, struct vcrypt_hdr *h, unsigned int new_slots,
		uint8_t (*areas)[VEILCRYPT_KEYSLOT_AREA_SIZE],
		unsigned int wipe_slots);
/* Write a whole new metadata area (format). */
int meta_format(struct meta *m, struct vcrypt_hdr *h, int slot,
		const uint8_t *area);
int meta_read_area(struct meta *m, unsigned int slot, uint8_t *area);

/* The test hook: VEIL_DISK_TEST_CRASH=N[:torn] (veil-disk(8)). */
int durable_pwrite(int fd, const void *buf, size_t len, uint64_t off,
		   const char *what);

/* ---- loop devices, device-mapper, keyring (vdisk_dm.c) ---- */

#define VDISK_UUID_PREFIX	"VEIL-"
#define VDISK_TARGET		"veilcrypt"

struct dm_info_veil {
	char name[128];
	char uuid[160];
	char params[512];		/* the table line after the length */
	char status[256];
	uint64_t sectors;
	bool read_only;
	bool found;			/* a device of that name exists */
	bool veilcrypt;			/* its target is veilcrypt and UUID ours */
};

void uuid_str(const uint8_t *u, char *out);
void dm_uuid_for(const uint8_t *uuid, const char *name, char *out, size_t len);
int loop_attach(const char *image, bool ro, uint32_t block_size, char *dev,
		size_t devlen, bool *dio);
int dm_query(const char *name, struct dm_info_veil *d);
/* A device whose DM UUID starts with @prefix: its name, or "" */
int dm_find_uuid_prefix(const char *prefix, char *name, size_t len);
int dm_create_table(const char *name, const char *uuid, uint64_t sectors,
		    const char *params, bool ro);
int dm_reload_table(const char *name, uint64_t sectors, const char *params);
int dm_remove(const char *name);
/* @fn on each device until it returns non-zero; that value, or -1. */
int dm_for_each(int (*fn)(const char *name, void *arg), void *arg);
int keyring_add_logon(const char *desc, const uint8_t *key, size_t len);
void keyring_drop_logon(const char *desc);
int keyring_read_user(const char *desc, uint8_t *buf, size_t cap, size_t *len);
int loop_backing(const char *dev, char *path, size_t len, bool *dio);
int loop_set_capacity(const char *dev);

/* ---- what a format would destroy (vdisk_probe.c) ---- */

/*
 * VEIL_EXIT_OK when @fd holds no signature, VEIL_EXIT_REFUSED (and a
 * message naming it) when it does and @force is false; with @force the
 * signatures are wiped.
 */
int probe_signatures(int fd, const char *path, bool force);
/* VEIL_EXIT_REFUSED when a loop device or a holder uses @path. */
int probe_in_use(const char *path, int fd);
/* probe_in_use(), and for a block device an exclusive open: 0 or exit 4. */
int probe_busy(const char *path, int fd);

/* ---- benchmark (vdisk_bench.c) ---- */

struct bench_opts {
	const char *cipher;		/* NULL: all */
	uint32_t sector_size;		/* 0: 512 and 4096 */
	uint32_t msecs;			/* per measurement */
	bool json;
	struct pbkdf_opts pbkdf;
};

int cmd_benchmark(const struct bench_opts *o);

/* ---- ciphers veil-disk knows by name (veil-disk.c) ---- */

struct cipher_info {
	const char *name;
	const char *alg;		/* kernel crypto API name */
	uint32_t id;
	uint32_t key_sizes[4];		/* default first, 0 ends */
	uint32_t iv_size;
};

extern const struct cipher_info ciphers[];
extern const size_t nciphers;
const struct cipher_info *cipher_by_name(const char *name);
const struct cipher_info *cipher_by_id(uint32_t id);

#endif /* VDISK_H */
