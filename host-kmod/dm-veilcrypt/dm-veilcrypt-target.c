// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt: a device-mapper target that encrypts a disk image sector by
 * sector with the cipher its own header names.
 *
 *   veilcrypt <device> <key> [<#opt_params> <opt_params>]
 *
 *   <key>       hex digits, ":<size>:<logon|user>:<description>" for a key
 *               in the kernel keyring, or "-" for a plain image
 *   opt_params  allow_discards     pass discards down
 *               read_workqueue     decrypt in a workqueue, never inline
 *               write_workqueue    encrypt in a workqueue, never inline
 *
 * The image header (uapi/linux/veilcrypt.h) is read and validated when the
 * table is loaded; the backup copy is used, and reported, when the primary
 * is invalid.  Nothing is ever written to the header.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <crypto/algapi.h>

#include "vcrypt.h"

#define VCRYPT_HDRS_SIZE	(2 * VEILCRYPT_HDR_SIZE)

/* Read both header copies and keep the valid one with the higher seq. */
static int vcrypt_read_header(struct dm_target *ti, struct vcrypt_dev *vd)
{
	struct block_device *bdev = vd->dev->bdev;
	struct vcrypt_hdr backup;
	struct page *page;
	struct bio *bio;
	int rp, rb, r;

	if (bdev_nr_sectors(bdev) < (VCRYPT_HDRS_SIZE >> SECTOR_SHIFT)) {
		ti->error = "Device too small for the two header copies (truncated image?)";
		return -EINVAL;
	}
	page = alloc_pages(GFP_KERNEL, get_order(VCRYPT_HDRS_SIZE));
	if (!page) {
		ti->error = "Cannot allocate memory for the header";
		return -ENOMEM;
	}
	bio = bio_alloc(bdev, 1, REQ_OP_READ | REQ_SYNC | REQ_META, GFP_KERNEL);
	bio->bi_iter.bi_sector = 0;
	__bio_add_page(bio, page, VCRYPT_HDRS_SIZE, 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	if (r) {
		ti->error = "Cannot read the image header";
		goto out;
	}

	rp = vcrypt_hdr_decode(page_address(page), &vd->hdr);
	rb = vcrypt_hdr_decode(page_address(page) + VEILCRYPT_BACKUP_OFFSET,
			       &backup);
	if (rp == VCRYPT_HDR_OK && (rb != VCRYPT_HDR_OK || vd->hdr.seq >= backup.seq))
		goto out;
	if (rb != VCRYPT_HDR_OK) {
		/* Both bad: name the primary's first bad field. */
		ti->error = (char *)vcrypt_hdr_strerror(rp);
		r = -EINVAL;
		goto out;
	}
	vd->hdr = backup;
	vd->used_backup = true;
	if (rp != VCRYPT_HDR_OK)
		DMWARN_LIMIT("%s: primary header invalid (%s), using the backup",
			     vd->dev->name, vcrypt_hdr_field(rp));
	else
		DMWARN_LIMIT("%s: backup header is newer than the primary, using it",
			     vd->dev->name);
out:
	__free_pages(page, get_order(VCRYPT_HDRS_SIZE));
	return r;
}

/* Check the header against the device and the table. */
static int vcrypt_check_geometry(struct dm_target *ti, struct vcrypt_dev *vd)
{
	const struct vcrypt_hdr *h = &vd->hdr;
	u64 end = (h->data_offset + h->data_size) >> SECTOR_SHIFT;

	if (end > bdev_nr_sectors(vd->dev->bdev)) {
		ti->error = "Device smaller than header data_offset + data_size";
		return -EINVAL;
	}
	if (ti->len > h->data_size >> SECTOR_SHIFT) {
		ti->error = "Target length exceeds header data_size";
		return -EINVAL;
	}
	vd->sector_size = h->sector_size;
	vd->sector_shift = ilog2(h->sector_size) - SECTOR_SHIFT;
	if (ti->len & ((1U << vd->sector_shift) - 1)) {
		ti->error = "Target length is not a multiple of header sector_size";
		return -EINVAL;
	}
	vd->data_start = h->data_offset >> SECTOR_SHIFT;
	vd->encrypted = !!(h->flags & VEILCRYPT_F_ENCRYPTED);
	return 0;
}

/*
 * Make @key the device's key: it must match the header's key-check value,
 * and the cipher must accept it.  On success the old transform (if any) is
 * replaced; on failure nothing changes.
 */
static int vcrypt_install_key(struct vcrypt_dev *vd, const u8 *key,
			      unsigned int size, char **error)
{
	struct crypto_skcipher *tfm;
	u8 kcv[VEILCRYPT_KCV_LEN];
	unsigned int ivsize;
	int r;

	if (size != vd->hdr.key_size) {
		*error = "Key size differs from header key_size";
		return -EINVAL;
	}
	r = vcrypt_key_check(key, size, vd->hdr.uuid, kcv);
	if (r) {
		*error = "Cannot compute the key check value (hmac(sha256))";
		return r;
	}
	r = crypto_memneq(kcv, vd->hdr.key_check, sizeof(kcv));
	memzero_explicit(kcv, sizeof(kcv));
	if (r) {
		*error = "Key does not match header key_check (wrong key)";
		return -EKEYREJECTED;
	}

	tfm = crypto_alloc_skcipher(vd->cipher->alg, 0, 0);
	if (IS_ERR(tfm)) {
		*error = "Cannot allocate the cipher (crypto module missing?)";
		return PTR_ERR(tfm);
	}
	ivsize = crypto_skcipher_ivsize(tfm);
	if (ivsize < sizeof(u64) || ivsize > VCRYPT_MAX_IV_SIZE) {
		*error = "Cipher IV size not usable with plain64";
		r = -EINVAL;
		goto bad;
	}
	if (vd->sector_size % crypto_skcipher_blocksize(tfm)) {
		*error = "Cipher block size does not divide header sector_size";
		r = -EINVAL;
		goto bad;
	}
	/* The per-bio data was sized when the table was loaded. */
	if (vd->io_sized && crypto_skcipher_reqsize(tfm) > vd->req_size) {
		*error = "Cipher implementation changed since the table was loaded";
		r = -EINVAL;
		goto bad;
	}
	r = crypto_skcipher_setkey(tfm, key, size);
	if (r) {
		*error = "Cipher refused the key";
		goto bad;
	}
	crypto_free_skcipher(vd->tfm);
	vd->tfm = tfm;
	vd->iv_size = ivsize;
	vd->key_valid = true;
	return 0;
bad:
	crypto_free_skcipher(tfm);
	return r;
}

static int vcrypt_setup_crypto(struct dm_target *ti, struct vcrypt_dev *vd,
			       const char *key_arg)
{
	u8 key[VEILCRYPT_MAX_KEY_SIZE];
	unsigned int size;
	int r;

	vd->cipher = vcrypt_cipher_get(vd->hdr.cipher_id);
	if (!vd->cipher) {
		ti->error = "Unknown header cipher_id (no such built-in or plug-in)";
		return -ENOENT;
	}
	if (!vcrypt_cipher_key_size_ok(vd->cipher, vd->hdr.key_size)) {
		ti->error = "Header key_size not supported by the cipher";
		return -EINVAL;
	}
	r = vcrypt_key_parse(key_arg, key, &size, &vd->key_ref, &ti->error);
	if (r)
		return r;
	if (!size) {
		ti->error = "Encrypted image needs a key";
		return -EINVAL;
	}
	vd->key_size = size;
	r = vcrypt_install_key(vd, key, size, &ti->error);
	memzero_explicit(key, sizeof(key));
	if (r)
		return r;

	vd->req_size = crypto_skcipher_reqsize(vd->tfm);
	vd->req_offset = ALIGN(sizeof(struct vcrypt_io), CRYPTO_MINALIGN);
	vd->iv_offset = ALIGN(vd->req_offset + sizeof(struct skcipher_request) +
			      vd->req_size, 16);
	ti->per_io_data_size = vd->iv_offset + VCRYPT_MAX_IV_SIZE;
	vd->io_sized = true;

	vd->wq = alloc_workqueue("kvcryptd/%s", WQ_MEM_RECLAIM | WQ_HIGHPRI |
				 WQ_CPU_INTENSIVE, 0,
				 dm_table_device_name(ti->table));
	if (!vd->wq) {
		ti->error = "Cannot allocate the workqueue";
		return -ENOMEM;
	}
	r = bioset_init(&vd->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r) {
		ti->error = "Cannot allocate the bio set";
		return r;
	}
	/* One largest write's worth of pages, always available. */
	r = mempool_init_page_pool(&vd->page_pool, BIO_MAX_VECS, 0);
	if (r) {
		ti->error = "Cannot allocate the bounce page pool";
		return r;
	}
	return 0;
}

static int vcrypt_parse_opts(struct dm_target *ti, struct vcrypt_dev *vd,
			     struct dm_arg_set *as)
{
	static const struct dm_arg opt_count = {
		0, 3, "Invalid number of optional arguments"
	};
	unsigned int n;
	const char *opt;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(&opt_count, as, &n, &ti->error);
	if (r)
		return r;
	while (n--) {
		opt = dm_shift_arg(as);
		if (!strcasecmp(opt, "allow_discards")) {
			vd->opts |= VCRYPT_OPT_ALLOW_DISCARDS;
		} else if (!strcasecmp(opt, "read_workqueue")) {
			vd->opts |= VCRYPT_OPT_READ_WORKQUEUE;
		} else if (!strcasecmp(opt, "write_workqueue")) {
			vd->opts |= VCRYPT_OPT_WRITE_WORKQUEUE;
		} else {
			ti->error = "Unknown optional argument";
			return -EINVAL;
		}
	}
	if (as->argc) {
		ti->error = "Too many arguments";
		return -EINVAL;
	}
	return 0;
}

static void vcrypt_dtr(struct dm_target *ti)
{
	struct vcrypt_dev *vd = ti->private;

	if (!vd)
		return;
	if (vd->wq)
		destroy_workqueue(vd->wq);
	mempool_exit(&vd->page_pool);
	bioset_exit(&vd->bs);
	if (vd->tfm)
		crypto_free_skcipher(vd->tfm);
	if (vd->cipher)
		vcrypt_cipher_put(vd->cipher);
	kfree_sensitive(vd->key_ref);
	if (vd->dev)
		dm_put_device(ti, vd->dev);
	mutex_destroy(&vd->key_lock);
	mutex_destroy(&vd->bounce_lock);
	kfree_sensitive(vd);
}

static int vcrypt_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as;
	struct vcrypt_dev *vd;
	int r;

	if (argc < 2) {
		ti->error = "Not enough arguments (want <device> <key>)";
		return -EINVAL;
	}
	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd) {
		ti->error = "Cannot allocate the device context";
		return -ENOMEM;
	}
	ti->private = vd;
	mutex_init(&vd->key_lock);
	mutex_init(&vd->bounce_lock);

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &vd->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}
	as.argc = argc - 2;
	as.argv = argv + 2;
	r = vcrypt_parse_opts(ti, vd, &as);
	if (r)
		goto bad;
	r = vcrypt_read_header(ti, vd);
	if (r)
		goto bad;
	r = vcrypt_check_geometry(ti, vd);
	if (r)
		goto bad;

	if (vd->encrypted) {
		r = vcrypt_setup_crypto(ti, vd, argv[1]);
		if (r)
			goto bad;
	} else if (strcmp(argv[1], "-")) {
		ti->error = "Plain image: the key must be -";
		r = -EINVAL;
		goto bad;
	}

	r = dm_set_target_max_io_len(ti, BIO_MAX_VECS << (PAGE_SHIFT - SECTOR_SHIFT));
	if (r)
		goto bad;
	ti->num_flush_bios = 1;
	if (vd->opts & VCRYPT_OPT_ALLOW_DISCARDS)
		ti->num_discard_bios = 1;
	return 0;
bad:
	vcrypt_dtr(ti);
	ti->private = NULL;
	return r;
}

static void vcrypt_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct vcrypt_dev *vd = ti->private;
	unsigned int sz = 0, nopts = hweight_long(vd->opts);

	mutex_lock(&vd->key_lock);
	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%s %u %s %s",
		       vd->encrypted ? vd->cipher->name : "plain",
		       vd->sector_size,
		       vd->used_backup ? "backup_header" : "primary_header",
		       !vd->encrypted ? "-" : vd->key_valid ? "key_set" : "key_wiped");
		break;
	case STATUSTYPE_TABLE:
		/* Never the key itself: a keyring reference, or "-". */
		DMEMIT("%s %s", vd->dev->name, vd->key_ref ?: "-");
		if (nopts)
			DMEMIT(" %u", nopts);
		if (vd->opts & VCRYPT_OPT_ALLOW_DISCARDS)
			DMEMIT(" allow_discards");
		if (vd->opts & VCRYPT_OPT_READ_WORKQUEUE)
			DMEMIT(" read_workqueue");
		if (vd->opts & VCRYPT_OPT_WRITE_WORKQUEUE)
			DMEMIT(" write_workqueue");
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",cipher=%s,sector_size=%u,allow_discards=%c;",
		       vd->encrypted ? vd->cipher->name : "plain",
		       vd->sector_size,
		       vd->opts & VCRYPT_OPT_ALLOW_DISCARDS ? 'y' : 'n');
		break;
	}
	mutex_unlock(&vd->key_lock);
}

static int vcrypt_message_key(struct vcrypt_dev *vd, unsigned int argc,
			      char **argv)
{
	u8 key[VEILCRYPT_MAX_KEY_SIZE];
	char *error = NULL;
	unsigned int size;
	char *ref;
	int r;

	if (argc == 2 && !strcasecmp(argv[1], "wipe")) {
		crypto_free_skcipher(vd->tfm);
		vd->tfm = NULL;
		vd->key_valid = false;
		kfree_sensitive(vd->key_ref);
		vd->key_ref = NULL;
		return 0;
	}
	if (argc != 3 || strcasecmp(argv[1], "set"))
		return -EINVAL;

	r = vcrypt_key_parse(argv[2], key, &size, &ref, &error);
	memzero_explicit(argv[2], strlen(argv[2]));
	if (!r && !size) {
		error = "key set needs a key";
		r = -EINVAL;
	}
	if (!r)
		r = vcrypt_install_key(vd, key, size, &error);
	memzero_explicit(key, sizeof(key));
	if (r) {
		kfree_sensitive(ref);
		DMWARN_LIMIT("key set refused: %s", error);
		return r;
	}
	kfree_sensitive(vd->key_ref);
	vd->key_ref = ref;
	return 0;
}

static int vcrypt_message(struct dm_target *ti, unsigned int argc,
			  char **argv, char *result, unsigned int maxlen)
{
	struct vcrypt_dev *vd = ti->private;
	int r;

	if (argc < 2 || strcasecmp(argv[0], "key")) {
		DMWARN_LIMIT("unrecognised message (want key wipe or key set <key>)");
		return -EINVAL;
	}
	if (!vd->encrypted) {
		DMWARN_LIMIT("key message on a plain image");
		return -EINVAL;
	}
	if (!dm_suspended(ti)) {
		DMWARN_LIMIT("key messages are accepted only while suspended");
		return -EBUSY;
	}
	mutex_lock(&vd->key_lock);
	r = vcrypt_message_key(vd, argc, argv);
	mutex_unlock(&vd->key_lock);
	return r;
}

static int vcrypt_preresume(struct dm_target *ti)
{
	struct vcrypt_dev *vd = ti->private;

	if (vd->encrypted && !vd->key_valid) {
		DMERR_LIMIT("%s: cannot resume with the key wiped", vd->dev->name);
		return -EAGAIN;
	}
	return 0;
}

static int vcrypt_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn fn, void *data)
{
	struct vcrypt_dev *vd = ti->private;

	return fn(ti, vd->dev, vd->data_start, ti->len, data);
}

static void vcrypt_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vcrypt_dev *vd = ti->private;
	unsigned int ss = vd->sector_size;

	limits->logical_block_size = max(limits->logical_block_size, ss);
	limits->physical_block_size = max(limits->physical_block_size, ss);
	limits->io_min = max(limits->io_min, ss);
	/* A sector never straddles two pages of a bio. */
	limits->dma_alignment = max(limits->dma_alignment, ss - 1);
}

static struct target_type vcrypt_target = {
	.name		 = "veilcrypt",
	.version	 = {1, 0, 0},
	.module		 = THIS_MODULE,
	.ctr		 = vcrypt_ctr,
	.dtr		 = vcrypt_dtr,
	.map		 = vcrypt_map,
	.status		 = vcrypt_status,
	.message	 = vcrypt_message,
	.preresume	 = vcrypt_preresume,
	.iterate_devices = vcrypt_iterate_devices,
	.io_hints	 = vcrypt_io_hints,
};

static int __init vcrypt_init(void)
{
	int r;

	r = vcrypt_cipher_init();
	if (r)
		return r;
	r = dm_register_target(&vcrypt_target);
	if (r) {
		vcrypt_cipher_exit();
		DMERR("register failed %d", r);
	}
	return r;
}

static void __exit vcrypt_exit(void)
{
	dm_unregister_target(&vcrypt_target);
	vcrypt_cipher_exit();
}

module_init(vcrypt_init);
module_exit(vcrypt_exit);

MODULE_DESCRIPTION(DM_NAME " target encrypting disk images with the cipher their header names");
MODULE_LICENSE("GPL");
