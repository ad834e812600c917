// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt's image header at table load: read both copies within a
 * time limit, then take the newest copy whose MAC the table's key
 * verifies, and only then decode and validate its fields
 * (uapi/linux/veilcrypt.h).  Nothing is ever written to the header.
 */
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <crypto/algapi.h>
#include <crypto/sha2.h>

#include "vcrypt.h"

unsigned int vcrypt_header_timeout_ms = 30000;
module_param_named(header_timeout_ms, vcrypt_header_timeout_ms, uint, 0644);
MODULE_PARM_DESC(header_timeout_ms,
		 "How long a table load waits for the image header to be read (ms, 0: no limit)");

#define VCRYPT_COPIES		2
#define VCRYPT_READ_ORDER	get_order(VCRYPT_COPIES * VEILCRYPT_HDR_SIZE)

static const u64 vcrypt_copy_offset[VCRYPT_COPIES] = {
	0, VEILCRYPT_BACKUP_OFFSET
};

static const char * const vcrypt_copy_name[VCRYPT_COPIES] = {
	"primary", "backup"
};

/*
 * One read of both header copies.  The constructor and the I/O each hold
 * a reference: a constructor that gives up waiting (a suspended or dead
 * lower device) leaves the rest to the completion, which frees everything.
 * A pending read holds a reference on this module, so the completion
 * always finds its code.
 */
struct vcrypt_hdr_read {
	struct completion done;
	refcount_t ref;
	atomic_t pending;		/* bios in flight */
	blk_status_t status;
	struct page *page;		/* copy i at i * VEILCRYPT_HDR_SIZE */
};

static void vcrypt_hdr_read_put(struct vcrypt_hdr_read *rd)
{
	if (!refcount_dec_and_test(&rd->ref))
		return;
	__free_pages(rd->page, VCRYPT_READ_ORDER);
	kfree(rd);
	module_put(THIS_MODULE);
}

static void vcrypt_hdr_read_endio(struct bio *bio)
{
	struct vcrypt_hdr_read *rd = bio->bi_private;

	if (bio->bi_status)
		WRITE_ONCE(rd->status, bio->bi_status);
	bio_put(bio);
	if (atomic_dec_and_test(&rd->pending)) {
		complete(&rd->done);
		vcrypt_hdr_read_put(rd);
	}
}

/* Read both copies into @buf, or fail after vcrypt_header_timeout_ms. */
static int vcrypt_header_read(struct dm_target *ti, struct vcrypt_dev *vd,
			      u8 *buf)
{
	struct block_device *bdev = vd->dev->bdev;
	unsigned int timeout = READ_ONCE(vcrypt_header_timeout_ms);
	struct vcrypt_hdr_read *rd;
	struct bio *bio;
	long left;
	int i, r;

	if (bdev_nr_sectors(bdev) < (VEILCRYPT_MIN_DATA_OFFSET >> SECTOR_SHIFT)) {
		ti->error = "Device too small for the image metadata (truncated image?)";
		return -EINVAL;
	}
	rd = kzalloc(sizeof(*rd), GFP_KERNEL);
	if (rd)
		rd->page = alloc_pages(GFP_KERNEL, VCRYPT_READ_ORDER);
	if (!rd || !rd->page) {
		kfree(rd);
		ti->error = "Cannot allocate memory for the header";
		return -ENOMEM;
	}
	init_completion(&rd->done);
	refcount_set(&rd->ref, 2);
	atomic_set(&rd->pending, VCRYPT_COPIES);
	__module_get(THIS_MODULE);
	for (i = 0; i < VCRYPT_COPIES; i++) {
		bio = bio_alloc(bdev, 1, REQ_OP_READ | REQ_SYNC | REQ_META,
				GFP_KERNEL);
		bio->bi_iter.bi_sector = vcrypt_copy_offset[i] >> SECTOR_SHIFT;
		__bio_add_page(bio, rd->page, VEILCRYPT_HDR_SIZE,
			       i * VEILCRYPT_HDR_SIZE);
		bio->bi_private = rd;
		bio->bi_end_io = vcrypt_hdr_read_endio;
		submit_bio(bio);
	}

	left = wait_for_completion_killable_timeout(&rd->done, timeout ?
						    msecs_to_jiffies(timeout) :
						    MAX_SCHEDULE_TIMEOUT);
	if (left > 0) {
		r = blk_status_to_errno(READ_ONCE(rd->status));
		if (r)
			ti->error = "Cannot read the image header";
		else
			memcpy(buf, page_address(rd->page),
			       VCRYPT_COPIES * VEILCRYPT_HDR_SIZE);
	} else {
		ti->error = left ? "Header read interrupted by a signal" :
			"Header not read within header_timeout_ms (lower device suspended?)";
		r = left ? -EINTR : -ETIMEDOUT;
	}
	vcrypt_hdr_read_put(rd);
	return r;
}

/* Why a copy could not be used, for ti->error and the log. */
struct vcrypt_verdict {
	int hdr_err;			/* VCRYPT_HDR_*, or OK */
	const char *error;		/* a check beyond the codec, or NULL */
	int errno_val;
};

/*
 * Judge one copy: structure, then (with a key) the key digest and the MAC
 * over the raw bytes, and only then the fields.  Fills @h when usable.
 */
static void vcrypt_judge_copy(const u8 *raw, const u8 *key,
			      unsigned int key_size, struct vcrypt_hdr *h,
			      struct vcrypt_verdict *v)
{
	const struct veilcrypt_header *d = (const void *)raw;
	u8 digest[VEILCRYPT_DIGEST_LEN], mac_key[SHA256_DIGEST_SIZE];
	u8 mac[VEILCRYPT_DIGEST_LEN];
	bool encrypted;
	int r;

	memset(v, 0, sizeof(*v));
	v->hdr_err = vcrypt_hdr_probe(raw);
	if (v->hdr_err != VCRYPT_HDR_OK) {
		v->errno_val = v->hdr_err == VCRYPT_HDR_EINCOMPAT ? -EOPNOTSUPP : -EINVAL;
		return;
	}
	encrypted = le32_to_cpu(d->flags) & VEILCRYPT_F_ENCRYPTED;
	if (key_size && !encrypted) {
		v->error = "Plain image header, but the table gives a key (refusing a downgrade)";
		v->errno_val = -EINVAL;
		return;
	}
	if (!key_size && encrypted) {
		v->error = "Encrypted image needs a key";
		v->errno_val = -EINVAL;
		return;
	}
	if (key_size) {
		r = vcrypt_key_derive(key, key_size, d->uuid, digest, mac_key);
		if (r) {
			v->error = "Cannot derive the header keys (hmac(sha256) missing?)";
			v->errno_val = r;
			goto out;
		}
		if (crypto_memneq(digest, d->key_digest, sizeof(digest))) {
			v->error = "Key does not match header key_digest (wrong key)";
			v->errno_val = -EKEYREJECTED;
			goto out;
		}
		r = vcrypt_header_mac(mac_key, raw, mac);
		if (r) {
			v->error = "Cannot compute the header MAC";
			v->errno_val = r;
			goto out;
		}
		if (crypto_memneq(mac, d->mac, sizeof(mac))) {
			v->error = "Header MAC does not verify (header changed without the key)";
			v->errno_val = -EBADMSG;
			goto out;
		}
	}
	v->hdr_err = vcrypt_hdr_decode(raw, h);
	if (v->hdr_err != VCRYPT_HDR_OK)
		v->errno_val = -EINVAL;
out:
	memzero_explicit(mac_key, sizeof(mac_key));
}

static const char *vcrypt_verdict_error(const struct vcrypt_verdict *v)
{
	return v->error ?: vcrypt_hdr_strerror(v->hdr_err);
}

static bool vcrypt_verdict_ok(const struct vcrypt_verdict *v)
{
	return !v->error && v->hdr_err == VCRYPT_HDR_OK;
}

/**
 * vcrypt_header_load - read, authenticate and decode the image header
 * @ti: the target, for ti->error
 * @vd: receives the header in vd->hdr, and whether the backup was used
 * @key: the table's key, or NULL for a plain image
 * @key_size: its size, 0 for a plain image
 *
 * Of the two copies, the one with the higher seq (the primary on a tie)
 * is tried first; the other is used when the first fails any check, and
 * that is logged.  When neither is usable, ti->error says why the first
 * was not.
 */
int vcrypt_header_load(struct dm_target *ti, struct vcrypt_dev *vd,
		       const u8 *key, unsigned int key_size)
{
	struct vcrypt_verdict v[VCRYPT_COPIES];
	struct vcrypt_hdr *h;
	int first = 0, i, c, r;
	bool p0, p1;
	u8 *buf;

	buf = kmalloc(VCRYPT_COPIES * VEILCRYPT_HDR_SIZE, GFP_KERNEL);
	h = kmalloc(sizeof(*h), GFP_KERNEL);
	if (!buf || !h) {
		ti->error = "Cannot allocate memory for the header";
		r = -ENOMEM;
		goto out;
	}
	r = vcrypt_header_read(ti, vd, buf);
	if (r)
		goto out;

	/* The backup first only when it alone is whole, or it is newer. */
	p0 = vcrypt_hdr_probe(buf) == VCRYPT_HDR_OK;
	p1 = vcrypt_hdr_probe(buf + VEILCRYPT_HDR_SIZE) == VCRYPT_HDR_OK;
	if (p1 && (!p0 || vcrypt_hdr_seq(buf + VEILCRYPT_HDR_SIZE) >
			  vcrypt_hdr_seq(buf)))
		first = 1;

	for (i = 0; i < VCRYPT_COPIES; i++) {
		c = first ^ i;
		vcrypt_judge_copy(buf + c * VEILCRYPT_HDR_SIZE, key, key_size,
				  h, &v[c]);
		if (vcrypt_verdict_ok(&v[c]))
			break;
	}
	if (i == VCRYPT_COPIES) {
		ti->error = (char *)vcrypt_verdict_error(&v[first]);
		r = v[first].errno_val ?: -EINVAL;
		goto out;
	}
	vd->hdr = *h;
	vd->used_backup = c == 1;
	if (i)
		DMWARN_LIMIT("%s: %s header not usable (%s), using the %s",
			     vd->dev->name, vcrypt_copy_name[first],
			     v[first].error ?: vcrypt_hdr_field(v[first].hdr_err),
			     vcrypt_copy_name[c]);
	else if (c == 1)
		DMWARN_LIMIT("%s: backup header is newer than the primary, using it",
			     vd->dev->name);
	r = 0;
out:
	kfree_sensitive(h);
	kfree(buf);
	return r;
}
