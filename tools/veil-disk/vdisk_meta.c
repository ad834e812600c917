// SPDX-License-Identifier: GPL-2.0
/*
 * An image's metadata as veil-disk sees it: both header copies, decoded by
 * the codec the kernel uses (lib/vcrypt/vcrypt_hdr.c), authenticated with
 * the HKDF-derived MAC of uapi/linux/veilcrypt.h (OpenSSL's EVP_KDF HKDF
 * and EVP_MAC HMAC), and updated in an order that a crash at any point
 * leaves the old or the new state readable:
 *
 *   1. the stale copy (if any) gets the copy in use, so both agree;
 *   2. new keyslot areas, in slots the current header does not use;
 *   3. the primary header, seq + 1;
 *   4. the backup header;
 *   5. the areas of removed keyslots are overwritten with random bytes.
 *
 * Each step is written and flushed before the next begins.  A reader picks
 * the newest copy whose MAC verifies, and a copy only ever names areas
 * that no step before 5 touches.
 *
 * Test hook: VEIL_DISK_TEST_CRASH=N makes veil-disk exit (status 99, no
 * cleanup) just before the N-th such write; "N:torn" writes the first half
 * of it first.  The crash tests use it to stop at every step.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "vdisk.h"

static const uint64_t copy_offset[2] = { 0, VEILCRYPT_BACKUP_OFFSET };

/* ---- the test hook ---- */

static int crash_step = -1;	/* -1: not read yet, 0: off */
static bool crash_torn;
static int write_step;

static void crash_hook_init(void)
{
	const char *e = getenv("VEIL_DISK_TEST_CRASH");
	char *end;
	long n;

	crash_step = 0;
	if (!e || !*e)
		return;
	n = strtol(e, &end, 10);
	if (n <= 0 || (*end && strcmp(end, ":torn"))) {
		warn("VEIL_DISK_TEST_CRASH='%s' ignored: want N or N:torn", e);
		return;
	}
	crash_step = (int)n;
	crash_torn = *end != '\0';
}

int durable_pwrite(int fd, const void *buf, size_t len, uint64_t off,
		   const char *what)
{
	size_t done = 0;
	ssize_t n;

	if (crash_step < 0)
		crash_hook_init();
	if (++write_step == crash_step) {
		if (crash_torn && pwrite(fd, buf, len / 2, (off_t)off) > 0)
			fdatasync(fd);
		fprintf(stderr, "veil-disk: test hook: stopped before write %d (%s)%s\n",
			write_step, what, crash_torn ? ", half written" : "");
		_exit(99);
	}
	while (done < len) {
		n = pwrite(fd, (const uint8_t *)buf + done, len - done,
			   (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err("writing the %s: %s", what, n ? strerror(errno) : "short write");
			return -1;
		}
		done += (size_t)n;
	}
	if (fdatasync(fd)) {
		err("flushing the %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- HKDF and HMAC ---- */

static int hkdf_expand1(const uint8_t *vk, uint32_t vk_len, const uint8_t *uuid,
			const char *info, uint8_t *out)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5];
	int ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)vk, vk_len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)uuid,
						 VEILCRYPT_UUID_LEN);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						 strlen(info));
	p[4] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_KDF_derive(ctx, out, VEILCRYPT_DIGEST_LEN, p) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

int meta_derive(const uint8_t *vk, uint32_t vk_len, const uint8_t *uuid,
		uint8_t *digest, uint8_t *mac_key)
{
	if (hkdf_expand1(vk, vk_len, uuid, VEILCRYPT_DIGEST_INFO, digest) ||
	    hkdf_expand1(vk, vk_len, uuid, VEILCRYPT_MAC_INFO, mac_key)) {
		err("HKDF-SHA256 failed");
		return -1;
	}
	return 0;
}

int meta_mac(const uint8_t *mac_key, const uint8_t *raw, uint8_t *mac)
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM p[2];
	size_t len = 0;
	int ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_MAC_init(ctx, mac_key, VEILCRYPT_DIGEST_LEN, p) &&
	     EVP_MAC_update(ctx, raw, VEILCRYPT_MAC_OFFSET) &&
	     EVP_MAC_final(ctx, mac, &len, VEILCRYPT_DIGEST_LEN) &&
	     len == VEILCRYPT_DIGEST_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	if (!ok)
		err("HMAC-SHA256 failed");
	return ok ? 0 : -1;
}

/* Set @h's key digest and MAC for vault->vk and encode it into @raw. */
int meta_seal(struct vcrypt_hdr *h, uint8_t *raw)
{
	uint8_t mac_key[VEILCRYPT_DIGEST_LEN];
	int r = -1;

	memset(h->mac, 0, sizeof(h->mac));
	if (!(h->flags & VEILCRYPT_F_ENCRYPTED)) {
		memset(h->key_digest, 0, sizeof(h->key_digest));
		vcrypt_hdr_encode(h, raw);
		return 0;
	}
	if (meta_derive(vault->vk, vault->vk_len, h->uuid, h->key_digest, mac_key))
		goto out;
	vcrypt_hdr_encode(h, raw);
	if (meta_mac(mac_key, raw, h->mac))
		goto out;
	vcrypt_hdr_set_mac(raw, h->mac);
	r = 0;
out:
	OPENSSL_cleanse(mac_key, sizeof(mac_key));
	return r;
}

/* Does vault->vk verify copy @c (key digest, then MAC)?  1 yes, 0 no. */
static int copy_verifies(struct meta *m, int c)
{
	const struct vcrypt_hdr *h = &m->hdr[c];
	uint8_t digest[VEILCRYPT_DIGEST_LEN], mac_key[VEILCRYPT_DIGEST_LEN];
	uint8_t mac[VEILCRYPT_DIGEST_LEN];
	int ok = 0;

	if (m->decode[c] != VCRYPT_HDR_OK || !(h->flags & VEILCRYPT_F_ENCRYPTED) ||
	    h->key_size != vault->vk_len)
		return 0;
	if (!meta_derive(vault->vk, vault->vk_len, h->uuid, digest, mac_key) &&
	    !CRYPTO_memcmp(digest, h->key_digest, sizeof(digest)) &&
	    !meta_mac(mac_key, m->raw[c], mac))
		ok = !CRYPTO_memcmp(mac, h->mac, sizeof(mac));
	OPENSSL_cleanse(mac_key, sizeof(mac_key));
	return ok;
}

/* ---- reading ---- */

static int dev_size(int fd, uint64_t *size, bool *blockdev)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	*blockdev = S_ISBLK(st.st_mode);
	if (*blockdev)
		return ioctl(fd, BLKGETSIZE64, size);
	*size = (uint64_t)st.st_size;
	return 0;
}

int meta_open(struct meta *m, const char *path, bool write)
{
	ssize_t n;
	int i;

	memset(m, 0, sizeof(*m));
	m->path = path;
	m->use = -1;
	m->slot = -1;
	m->fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (m->fd < 0) {
		err("%s: %s", path, strerror(errno));
		return errno == ENOENT ? VEIL_EXIT_NOT_FOUND :
		       errno == EACCES || errno == EPERM ? VEIL_EXIT_PERM :
		       errno == EBUSY ? VEIL_EXIT_REFUSED : VEIL_EXIT_FAILED;
	}
	/* Updates of one image never interleave. */
	if (write && flock(m->fd, LOCK_EX)) {
		err("%s: cannot lock it: %s", path, strerror(errno));
		return VEIL_EXIT_FAILED;
	}
	if (dev_size(m->fd, &m->dev_size, &m->blockdev)) {
		err("%s: %s", path, strerror(errno));
		return VEIL_EXIT_FAILED;
	}
	for (i = 0; i < 2; i++) {
		n = pread(m->fd, m->raw[i], VEILCRYPT_HDR_SIZE, (off_t)copy_offset[i]);
		if (n < 0) {
			err("%s: %s", path, strerror(errno));
			return VEIL_EXIT_FAILED;
		}
		if (n < VEILCRYPT_HDR_SIZE)
			memset(m->raw[i] + n, 0, VEILCRYPT_HDR_SIZE - (size_t)n);
		m->probe[i] = vcrypt_hdr_probe(m->raw[i]);
		m->decode[i] = vcrypt_hdr_decode(m->raw[i], &m->hdr[i]);
	}
	return VEIL_EXIT_OK;
}

void meta_close(struct meta *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

int meta_pick(struct meta *m)
{
	bool ok0 = m->decode[0] == VCRYPT_HDR_OK, ok1 = m->decode[1] == VCRYPT_HDR_OK;

	if (ok1 && (!ok0 || m->hdr[1].seq > m->hdr[0].seq))
		return 1;
	return ok0 ? 0 : -1;
}

int meta_read_area(struct meta *m, unsigned int slot, uint8_t *area)
{
	ssize_t n = pread(m->fd, area, VEILCRYPT_KEYSLOT_AREA_SIZE,
			  (off_t)vcrypt_keyslot_area(slot));

	if (n != VEILCRYPT_KEYSLOT_AREA_SIZE) {
		err("%s: reading keyslot %u: %s", m->path, slot,
		    n < 0 ? strerror(errno) : "image too short");
		return -1;
	}
	return 0;
}

static uint8_t area_buf[VEILCRYPT_KEYSLOT_AREA_SIZE];

/* Try @s on the slots of copy @c; VEIL_EXIT_OK with the key in the vault. */
static int unlock_copy(struct meta *m, int c, const struct secret *s, int want)
{
	const struct vcrypt_hdr *h = &m->hdr[c];
	int i, r, rc = VEIL_EXIT_AUTH;

	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++) {
		if ((want >= 0 && i != want) ||
		    h->keyslots[i].state != VEILCRYPT_SLOT_ACTIVE)
			continue;
		if (meta_read_area(m, i, area_buf))
			return VEIL_EXIT_FAILED;
		r = keyslot_open(h, i, s, area_buf, vault->vk);
		if (r == VEIL_EXIT_OK) {
			vault->vk_len = h->key_size;
			m->slot = i;
			return VEIL_EXIT_OK;
		}
		if (r != VEIL_EXIT_AUTH)
			rc = r;
	}
	return rc;
}

int meta_unlock(struct meta *m, const struct secret *s, int slot)
{
	int first = meta_pick(m), order[2], i, c, r = VEIL_EXIT_AUTH;

	if (first < 0) {
		err("%s: no valid veilcrypt header (primary: %s; backup: %s)", m->path,
		    vcrypt_hdr_strerror(m->decode[0]), vcrypt_hdr_strerror(m->decode[1]));
		return VEIL_EXIT_NOT_FOUND;
	}
	order[0] = first;
	order[1] = !first;
	for (i = 0; i < 2; i++) {
		c = order[i];
		if (m->decode[c] != VCRYPT_HDR_OK)
			continue;
		/* The same keyslot in both copies need not be tried twice. */
		if (i == 1 && !memcmp(m->raw[0], m->raw[1], VEILCRYPT_HDR_SIZE))
			break;
		r = unlock_copy(m, c, s, slot);
		if (r != VEIL_EXIT_OK)
			continue;
		m->mac_ok[0] = copy_verifies(m, 0);
		m->mac_ok[1] = copy_verifies(m, 1);
		if (!m->mac_ok[c]) {
			err("%s: the %s header fails its MAC: changed without the key",
			    m->path, c ? "backup" : "primary");
			r = VEIL_EXIT_AUTH;
			continue;
		}
		m->use = c;
		if (m->mac_ok[!c] && m->hdr[!c].seq > m->hdr[c].seq)
			m->use = !c;
		/* A key that only an older copy still holds was removed. */
		if (m->use == c || !memcmp(&m->hdr[c].keyslots[m->slot],
					   &m->hdr[m->use].keyslots[m->slot],
					   sizeof(struct vcrypt_keyslot)))
			return VEIL_EXIT_OK;
		err("%s: keyslot %d was removed or changed by the newest header",
		    m->path, m->slot);
		m->use = -1;
		r = VEIL_EXIT_AUTH;
		break;
	}
	OPENSSL_cleanse(vault->vk, sizeof(vault->vk));
	vault->vk_len = 0;
	if (r == VEIL_EXIT_AUTH && m->slot < 0)
		err("%s: %s does not unlock %s", m->path,
		    s->kind == VEILCRYPT_SLOT_PASSPHRASE ? "the passphrase" :
		    s->kind == VEILCRYPT_SLOT_KEYFILE ? "the key file" : "the keyring key",
		    slot >= 0 ? "that keyslot" : "any keyslot");
	return r;
}

/* ---- writing ---- */

static int write_copy(struct meta *m, int c, const uint8_t *raw)
{
	return durable_pwrite(m->fd, raw, VEILCRYPT_HDR_SIZE, copy_offset[c],
			      c ? "backup header" : "primary header");
}

int meta_commit(struct meta *m, struct vcrypt_hdr *h, unsigned int new_slots,
		uint8_t (*areas)[VEILCRYPT_KEYSLOT_AREA_SIZE],
		unsigned int wipe_slots)
{
	static uint8_t raw[VEILCRYPT_HDR_SIZE];
	unsigned int i;
	int c = m->use;

	if (c < 0)
		return VEIL_EXIT_FAILED;
	/* 1: both copies say what the one in use says. */
	if (memcmp(m->raw[0], m->raw[1], VEILCRYPT_HDR_SIZE)) {
		if (write_copy(m, !c, m->raw[c]))
			return VEIL_EXIT_FAILED;
		memcpy(m->raw[!c], m->raw[c], VEILCRYPT_HDR_SIZE);
	}
	h->seq = m->hdr[c].seq + 1;
	if (meta_seal(h, raw))
		return VEIL_EXIT_FAILED;
	/* 2: new areas, only in slots no copy on disk uses now. */
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++) {
		if (!(new_slots & (1U << i)))
			continue;
		if (m->hdr[c].keyslots[i].state != VEILCRYPT_SLOT_INACTIVE) {
			err("internal error: keyslot %u is in use", i);
			return VEIL_EXIT_FAILED;
		}
		if (durable_pwrite(m->fd, areas[i], VEILCRYPT_KEYSLOT_AREA_SIZE,
				   vcrypt_keyslot_area(i), "keyslot area"))
			return VEIL_EXIT_FAILED;
	}
	/* 3, 4: the primary, then the backup. */
	if (write_copy(m, 0, raw) || write_copy(m, 1, raw))
		return VEIL_EXIT_FAILED;
	memcpy(m->raw[0], raw, sizeof(raw));
	memcpy(m->raw[1], raw, sizeof(raw));
	m->hdr[0] = *h;
	m->hdr[1] = *h;
	/* 5: no copy names these areas any more. */
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++) {
		if (!(wipe_slots & (1U << i)))
			continue;
		if (RAND_bytes(area_buf, sizeof(area_buf)) != 1 ||
		    durable_pwrite(m->fd, area_buf, sizeof(area_buf),
				   vcrypt_keyslot_area(i), "removed keyslot area"))
			return VEIL_EXIT_FAILED;
	}
	return VEIL_EXIT_OK;
}

int meta_format(struct meta *m, struct vcrypt_hdr *h, int slot,
		const uint8_t *area)
{
	static uint8_t raw[VEILCRYPT_HDR_SIZE];
	static uint8_t zero[1 << 16];
	uint64_t off;
	size_t n;

	if (meta_seal(h, raw))
		return VEIL_EXIT_FAILED;
	/* Nothing of an earlier image or file system stays in the metadata. */
	for (off = 0; off < h->data_offset; off += n) {
		n = h->data_offset - off < sizeof(zero) ? h->data_offset - off : sizeof(zero);
		if (pwrite(m->fd, zero, n, (off_t)off) != (ssize_t)n) {
			err("%s: clearing the metadata area: %s", m->path, strerror(errno));
			return VEIL_EXIT_FAILED;
		}
	}
	if ((slot >= 0 && durable_pwrite(m->fd, area, VEILCRYPT_KEYSLOT_AREA_SIZE,
					 vcrypt_keyslot_area(slot), "keyslot area")) ||
	    write_copy(m, 0, raw) || write_copy(m, 1, raw))
		return VEIL_EXIT_FAILED;
	return VEIL_EXIT_OK;
}
