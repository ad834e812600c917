// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt: a device-mapper target that encrypts a disk image sector by
 * sector with the cipher its own header names.
 *
 *   veilcrypt <device> <key> [<#opt_params> <opt_params>]
 *
 *   <key>       the volume key: ":<size>:<logon|user>:<description>" for a
 *               key in the kernel keyring (what veil-disk uses), hex
 *               digits, or "-" for a plain image
 *   opt_params  allow_discards     pass discards down
 *               read_workqueue     decrypt in a workqueue, never inline
 *               write_workqueue    encrypt in a workqueue, never inline
 *
 * The image header (uapi/linux/veilcrypt.h) is read when the table is
 * loaded, its MAC checked with the key, and only then its fields used
 * (vcrypt_header.c).  A hex key is wiped from the table arguments as soon
 * as it is parsed, and no key ever appears in status.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <crypto/algapi.h>
#include <crypto/sha2.h>

#include "vcrypt.h"

/*
 * Bounce pages: like dm-crypt, all devices together take at most 2 % of
 * RAM from the page allocator (beyond each pool's reserve); a writer over
 * its share waits for pages to come back instead.
 */
#define VCRYPT_BOUNCE_PERCENT	2

static DEFINE_MUTEX(vcrypt_clients_lock);
static unsigned int vcrypt_clients;		/* under vcrypt_clients_lock */
static unsigned long vcrypt_pages_per_client;	/* read without the lock */

static void vcrypt_clients_update(int delta)
{
	unsigned long share;

	mutex_lock(&vcrypt_clients_lock);
	vcrypt_clients += delta;
	share = totalram_pages() * VCRYPT_BOUNCE_PERCENT / 100 /
		max(vcrypt_clients, 1U);
	WRITE_ONCE(vcrypt_pages_per_client, max_t(unsigned long, share, BIO_MAX_VECS));
	mutex_unlock(&vcrypt_clients_lock);
}

static void *vcrypt_page_alloc(gfp_t gfp, void *data)
{
	struct vcrypt_dev *vd = data;
	struct page *page;

	/* mempool_alloc() always asks with __GFP_NORETRY first. */
	if (atomic_long_read(&vd->bounce_pages) >= READ_ONCE(vcrypt_pages_per_client) &&
	    (gfp & __GFP_NORETRY))
		return NULL;
	page = alloc_page(gfp);
	if (page)
		atomic_long_inc(&vd->bounce_pages);
	return page;
}

static void vcrypt_page_free(void *page, void *data)
{
	struct vcrypt_dev *vd = data;

	__free_page(page);
	atomic_long_dec(&vd->bounce_pages);
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
 * Make @key the device's key: it must match the header's key digest, and
 * the cipher must accept it.  On success the old transform (if any) is
 * replaced; on failure nothing changes.
 */
static int vcrypt_install_key(struct vcrypt_dev *vd, const u8 *key,
			      unsigned int size, char **error)
{
	u8 digest[VEILCRYPT_DIGEST_LEN], mac_key[SHA256_DIGEST_SIZE];
	struct crypto_skcipher *tfm;
	unsigned int ivsize;
	int r;

	if (size != vd->hdr.key_size) {
		*error = "Key size differs from header key_size";
		return -EINVAL;
	}
	r = vcrypt_key_derive(key, size, vd->hdr.uuid, digest, mac_key);
	memzero_explicit(mac_key, sizeof(mac_key));
	if (r) {
		*error = "Cannot derive the key digest (hmac(sha256) missing?)";
		return r;
	}
	if (crypto_memneq(digest, vd->hdr.key_digest, sizeof(digest))) {
		*error = "Key does not match header key_digest (wrong key)";
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
			       const u8 *key, unsigned int size)
{
	int r, cpu;

	vd->cipher = vcrypt_cipher_get(vd->hdr.cipher_id);
	if (!vd->cipher) {
		ti->error = "Unknown header cipher_id (no such built-in or plug-in)";
		return -ENOENT;
	}
	if (!vcrypt_cipher_key_size_ok(vd->cipher, vd->hdr.key_size)) {
		ti->error = "Header key_size not supported by the cipher";
		return -EINVAL;
	}
	vd->key_size = size;
	r = vcrypt_install_key(vd, key, size, &ti->error);
	if (r)
		return r;

	vd->req_size = crypto_skcipher_reqsize(vd->tfm);
	vd->req_offset = ALIGN(sizeof(struct vcrypt_chunk), CRYPTO_MINALIGN);
	vd->iv_offset = ALIGN(vd->req_offset + sizeof(struct skcipher_request) +
			      vd->req_size, 16);
	vd->chunk_size = ALIGN(vd->iv_offset + VCRYPT_MAX_IV_SIZE, CRYPTO_MINALIGN);
	vd->chunk_offset = ALIGN(sizeof(struct vcrypt_io), CRYPTO_MINALIGN);
	ti->per_io_data_size = vd->chunk_offset + vd->chunk_size;
	vd->io_sized = true;

	/*
	 * Unbound: the chunks of a large bio run on every CPU there is.  Not
	 * high priority: its workers would starve the submitter, which then
	 * cannot keep the queue full.
	 */
	vd->wq = alloc_workqueue("kvcryptd/%s", WQ_MEM_RECLAIM | WQ_UNBOUND,
				 num_online_cpus(), dm_table_device_name(ti->table));
	vd->cpu_wq = alloc_workqueue("kvcryptd_cpu/%s", WQ_MEM_RECLAIM |
				     WQ_CPU_INTENSIVE, 0,
				     dm_table_device_name(ti->table));
	if (!vd->wq || !vd->cpu_wq) {
		ti->error = "Cannot allocate the workqueues";
		return -ENOMEM;
	}
	vd->batch = alloc_percpu(struct vcrypt_batch);
	if (!vd->batch) {
		ti->error = "Cannot allocate the write batches";
		return -ENOMEM;
	}
	for_each_possible_cpu(cpu) {
		struct vcrypt_batch *b = per_cpu_ptr(vd->batch, cpu);

		b->vd = vd;
		spin_lock_init(&b->lock);
		INIT_LIST_HEAD(&b->list);
		INIT_WORK(&b->work, vcrypt_batch_work);
	}
	r = bioset_init(&vd->bs, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r) {
		ti->error = "Cannot allocate the bio set";
		return r;
	}
	/* One largest write's worth of pages, always available. */
	vcrypt_clients_update(1);
	vd->counted = true;
	r = mempool_init(&vd->page_pool, BIO_MAX_VECS, vcrypt_page_alloc,
			 vcrypt_page_free, vd);
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
	if (vd->cpu_wq)
		destroy_workqueue(vd->cpu_wq);
	free_percpu(vd->batch);
	mempool_exit(&vd->page_pool);
	bioset_exit(&vd->bs);
	if (vd->counted)
		vcrypt_clients_update(-1);
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

/*
 * Parse the key argument into @key and wipe a hex key from the table's
 * copy at once, so that it lives only in @key until the cipher has it.
 */
static int vcrypt_take_key(struct dm_target *ti, struct vcrypt_dev *vd,
			   char *arg, u8 *key, unsigned int *size)
{
	int r;

	r = vcrypt_key_parse(arg, key, size, &vd->key_ref, &ti->error);
	if (arg[0] != ':')
		memzero_explicit(arg, strlen(arg));
	return r;
}

static int vcrypt_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	u8 key[VEILCRYPT_MAX_KEY_SIZE];
	unsigned int key_size = 0;
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
	spin_lock_init(&vd->submit_lock);
	INIT_LIST_HEAD(&vd->submit_list);
	INIT_WORK(&vd->submit_work, vcrypt_submit_work);
	atomic_long_set(&vd->bounce_pages, 0);
	atomic_set(&vd->inflight, 0);

	r = vcrypt_take_key(ti, vd, argv[1], key, &key_size);
	if (r)
		goto bad;
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
	r = vcrypt_header_load(ti, vd, key_size ? key : NULL, key_size);
	if (r)
		goto bad;
	r = vcrypt_check_geometry(ti, vd);
	if (r)
		goto bad;
	if (vd->encrypted) {
		r = vcrypt_setup_crypto(ti, vd, key, key_size);
		if (r)
			goto bad;
	}
	memzero_explicit(key, sizeof(key));

	r = dm_set_target_max_io_len(ti, BIO_MAX_VECS << (PAGE_SHIFT - SECTOR_SHIFT));
	if (r)
		goto bad;
	ti->num_flush_bios = 1;
	if (vd->opts & VCRYPT_OPT_ALLOW_DISCARDS)
		ti->num_discard_bios = 1;
	/* Writes of swap need bounce pages: do not let swap eat them all. */
	ti->limit_swap_bios = true;
	return 0;
bad:
	memzero_explicit(key, sizeof(key));
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
		/* Then the bounce pages it holds, and how many it may. */
		DMEMIT("%s %u %s %s %ld %lu",
		       vd->encrypted ? vd->cipher->name : "plain",
		       vd->sector_size,
		       vd->used_backup ? "backup_header" : "primary_header",
		       !vd->encrypted ? "-" : vd->key_valid ? "key_set" : "key_wiped",
		       atomic_long_read(&vd->bounce_pages),
		       READ_ONCE(vcrypt_pages_per_client));
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

	lockdep_assert_held(&vd->key_lock);
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
	if (argv[2][0] != ':')
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
	mutex_lock(&vd->key_lock);
	if (vd->suspended) {
		r = vcrypt_message_key(vd, argc, argv);
	} else {
		DMWARN_LIMIT("key messages are accepted only while suspended");
		r = -EBUSY;
	}
	mutex_unlock(&vd->key_lock);
	return r;
}

/*
 * suspended is set once I/O has stopped and cleared, under key_lock, in
 * the same step that checks the key: a key message cannot slip between
 * that check and the resumed I/O.
 */
static void vcrypt_postsuspend(struct dm_target *ti)
{
	struct vcrypt_dev *vd = ti->private;

	mutex_lock(&vd->key_lock);
	vd->suspended = true;
	mutex_unlock(&vd->key_lock);
}

static int vcrypt_preresume(struct dm_target *ti)
{
	struct vcrypt_dev *vd = ti->private;
	int r = 0;

	mutex_lock(&vd->key_lock);
	if (vd->encrypted && !vd->key_valid) {
		DMERR_LIMIT("%s: cannot resume with the key wiped", vd->dev->name);
		r = -EAGAIN;
	} else {
		vd->suspended = false;
	}
	mutex_unlock(&vd->key_lock);
	return r;
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
	.version	 = {2, 1, 0},
	.module		 = THIS_MODULE,
	.ctr		 = vcrypt_ctr,
	.dtr		 = vcrypt_dtr,
	.map		 = vcrypt_map,
	.status		 = vcrypt_status,
	.message	 = vcrypt_message,
	.postsuspend	 = vcrypt_postsuspend,
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
	vcrypt_io_init();
	r = dm_register_target(&vcrypt_target);
	if (r) {
		vcrypt_io_exit();
		vcrypt_cipher_exit();
		DMERR("register failed %d", r);
	}
	return r;
}

static void __exit vcrypt_exit(void)
{
	dm_unregister_target(&vcrypt_target);
	vcrypt_io_exit();
	vcrypt_cipher_exit();
}

module_init(vcrypt_init);
module_exit(vcrypt_exit);

MODULE_DESCRIPTION(DM_NAME " target encrypting disk images with the cipher their header names");
MODULE_LICENSE("GPL");
MODULE_VERSION(VEIL_VERSION);
