/* SPDX-License-Identifier: GPL-2.0 */
/* dm-veilcrypt: module-internal declarations. */
#ifndef _VCRYPT_H
#define _VCRYPT_H

#include <linux/bio.h>
#include <linux/scatterlist.h>
#include <linux/device-mapper.h>
#include <linux/interrupt.h>
#include <linux/llist.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <crypto/skcipher.h>

#include "vcrypt_cipher.h"
#include "vcrypt_hdr.h"

#define DM_MSG_PREFIX "veilcrypt"

/* Optional table arguments. */
#define VCRYPT_OPT_ALLOW_DISCARDS	BIT(0)
#define VCRYPT_OPT_READ_WORKQUEUE	BIT(1)
#define VCRYPT_OPT_WRITE_WORKQUEUE	BIT(2)

/* Small writes of a deep queue, left to one CPU's worker. */
struct vcrypt_batch {
	struct vcrypt_dev *vd;
	spinlock_t lock;		/* list */
	struct list_head list;
	struct work_struct work;	/* encrypts them, then sends them down */
};

struct vcrypt_dev {
	struct dm_dev *dev;
	struct vcrypt_hdr hdr;		/* the copy in use, its MAC verified */
	sector_t data_start;		/* data_offset in 512-byte sectors */
	unsigned int sector_size;	/* bytes: 512 or 4096 */
	unsigned int sector_shift;	/* log2(sector_size / 512) */
	bool encrypted;
	bool used_backup;		/* the primary header was not used */
	unsigned long opts;		/* VCRYPT_OPT_* */

	/*
	 * Encrypted images only.  tfm and key_valid change only in the key
	 * wipe/set messages, which are accepted only between postsuspend
	 * and preresume (suspended, under key_lock): no I/O is in flight
	 * then, and preresume refuses to resume without a valid key.
	 */
	const struct vcrypt_cipher *cipher;
	struct crypto_skcipher *tfm;
	struct mutex key_lock;		/* key messages, suspended, status */
	bool key_valid;
	bool suspended;			/* between postsuspend and preresume */
	char *key_ref;			/* ":len:type:desc", NULL for a hex key */
	unsigned int key_size;
	unsigned int iv_size;
	unsigned int req_size;		/* request size the tfm may need */
	bool io_sized;			/* req_size fixed at table load */
	unsigned int chunk_offset;	/* of the first chunk, in the per-bio data */
	unsigned int req_offset;	/* of the request, in a chunk */
	unsigned int iv_offset;		/* of the IV, in a chunk */
	unsigned int chunk_size;	/* a chunk, its request and IV, aligned */
	bool async_seen;		/* the cipher once answered -EINPROGRESS */
	atomic_t inflight;		/* encrypted bios mapped, not yet completed */

	struct workqueue_struct *wq;	/* unbound: chunks of a deep queue */
	struct workqueue_struct *cpu_wq;	/* per CPU: spread bios, batches */
	struct vcrypt_batch __percpu *batch;	/* small writes of a deep queue */
	spinlock_t submit_lock;		/* submit_list */
	struct list_head submit_list;	/* encrypted writes to send down */
	struct work_struct submit_work;	/* sends them, sorted, under a plug */
	struct bio_set bs;		/* bounce bios of writes */
	mempool_t page_pool;		/* bounce pages of writes */
	atomic_long_t bounce_pages;	/* pages of page_pool out of the allocator */
	struct mutex bounce_lock;	/* one writer at a time on the reserve */
	bool counted;			/* in vcrypt_clients */
};

/*
 * A run of sectors converted one request at a time: the unit that goes to
 * another CPU, or that keeps a request of an asynchronous cipher in
 * flight.  The skcipher request (vd->req_size) and the IV follow it.
 */
struct vcrypt_chunk {
	struct vcrypt_io *io;
	struct work_struct work;
	struct bvec_iter iter_in;
	struct bvec_iter iter_out;
	u64 iv_sector;			/* IV of the next sector */
	unsigned int left;		/* sectors still to convert */
	struct scatterlist sg_in;
	struct scatterlist sg_out;
};

/* Per-bio data; one chunk (with its request and IV) follows it. */
struct vcrypt_io {
	struct vcrypt_dev *vd;
	struct bio *bio;		/* the bio device-mapper gave us */
	struct bio *clone;		/* writes: the bio with bounce pages */
	bio_end_io_t *orig_end_io;	/* reads: restored before completion */
	void *orig_private;
	struct bvec_iter iter_in;
	struct bvec_iter iter_out;
	u64 iv_sector;			/* IV of the first sector */
	atomic_t pending;		/* chunks not finished */
	blk_status_t status;
	bool write;
	bool handed_off;		/* converted away from its submitter */
	bool batched;			/* left to a vcrypt_batch */
	void *chunks;			/* more than one chunk: kmalloc'ed */
	struct list_head submit;	/* on a batch's list, or submit_list */
	struct llist_node irq_node;	/* a read completed in hard interrupt */
};

/* vcrypt_cipher.c */
int vcrypt_cipher_init(void);
void vcrypt_cipher_exit(void);
const struct vcrypt_cipher *vcrypt_cipher_get(u32 id);
void vcrypt_cipher_put(const struct vcrypt_cipher *c);
bool vcrypt_cipher_key_size_ok(const struct vcrypt_cipher *c, unsigned int size);

/* vcrypt_key.c */
int vcrypt_key_parse(const char *arg, u8 *key, unsigned int *size,
		     char **ref, char **error);
int vcrypt_key_derive(const u8 *key, unsigned int size, const u8 *uuid,
		      u8 *digest, u8 *mac_key);
int vcrypt_header_mac(const u8 *mac_key, const void *hdr, u8 *mac);

/* vcrypt_header.c */
int vcrypt_header_load(struct dm_target *ti, struct vcrypt_dev *vd,
		       const u8 *key, unsigned int key_size);
extern unsigned int vcrypt_header_timeout_ms;

/* dm-veilcrypt-io.c */
int vcrypt_map(struct dm_target *ti, struct bio *bio);
void vcrypt_submit_work(struct work_struct *work);
void vcrypt_batch_work(struct work_struct *work);
void vcrypt_io_init(void);
void vcrypt_io_exit(void);
extern unsigned int vcrypt_split_kib;

#endif /* _VCRYPT_H */
