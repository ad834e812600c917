// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt's I/O path.
 *
 * Reads go down unchanged (remapped past the header); when they complete,
 * the data is decrypted in place, inline in the completion when that
 * context allows it, otherwise in the device's workqueue.  Writes are
 * encrypted into bounce pages in the submitter's context and the bounce
 * bio goes down.  An asynchronous cipher (one that answers -EINPROGRESS or
 * -EBUSY) continues in the workqueue from its completion callback.
 *
 * Allocations on this path cannot fail: bounce bios come from a bio_set,
 * bounce pages from a mempool that holds one largest write; when the pool
 * must be waited on, bounce_lock lets one writer at a time wait, so no two
 * writers can each hold half of the reserve.
 */
#include <linux/bio.h>
#include <linux/scatterlist.h>

#include "compat.h"
#include "vcrypt.h"

static void vcrypt_convert(struct vcrypt_io *io);

static inline struct skcipher_request *vcrypt_io_req(struct vcrypt_io *io)
{
	return (void *)io + io->vd->req_offset;
}

static inline u8 *vcrypt_io_iv(struct vcrypt_io *io)
{
	return (u8 *)io + io->vd->iv_offset;
}

static void vcrypt_free_bounce(struct vcrypt_dev *vd, struct bio *clone)
{
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;

	bio_for_each_segment_all(bv, clone, iter_all)
		mempool_free(bv->bv_page, &vd->page_pool);
	bio_put(clone);
}

static void vcrypt_write_endio(struct bio *clone)
{
	struct vcrypt_io *io = clone->bi_private;
	struct bio *bio = io->bio;

	if (clone->bi_status)
		bio->bi_status = clone->bi_status;
	vcrypt_free_bounce(io->vd, clone);
	bio_endio(bio);
}

/* Conversion done (or failed): finish the read, or send the write down. */
static void vcrypt_convert_end(struct vcrypt_io *io)
{
	struct bio *bio = io->bio;

	if (!io->write) {
		bio->bi_end_io = io->orig_end_io;
		bio->bi_private = io->orig_private;
		if (io->status)
			bio->bi_status = io->status;
		bio_endio(bio);
		return;
	}
	if (io->status) {
		vcrypt_free_bounce(io->vd, io->clone);
		bio->bi_status = io->status;
		bio_endio(bio);
		return;
	}
	dm_submit_bio_remap(bio, io->clone);
}

static void vcrypt_convert_work(struct work_struct *work)
{
	vcrypt_convert(container_of(work, struct vcrypt_io, work));
}

static void vcrypt_advance(struct vcrypt_io *io)
{
	unsigned int ss = io->vd->sector_size;

	bio_advance_iter_single(io->bio, &io->iter_in, ss);
	if (io->write)
		bio_advance_iter_single(io->clone, &io->iter_out, ss);
	io->iv_sector++;
}

/* An asynchronous cipher finished one sector. */
void vcrypt_crypt_done(void *data, int err)
{
	struct vcrypt_io *io = data;

	/* A backlogged request was accepted; the real completion follows. */
	if (err == -EINPROGRESS)
		return;
	if (err) {
		io->status = BLK_STS_IOERR;
		/* Writes submit from the workqueue: not from this context. */
		io->iter_in.bi_size = 0;
	} else {
		vcrypt_advance(io);
	}
	INIT_WORK(&io->work, vcrypt_convert_work);
	queue_work(io->vd->wq, &io->work);
}

/*
 * Encrypt or decrypt the rest of io->iter_in, sector by sector.  Never
 * sleeps; returns early when the cipher goes asynchronous, and
 * vcrypt_crypt_done() picks up from the workqueue.
 */
static void vcrypt_convert(struct vcrypt_io *io)
{
	struct vcrypt_dev *vd = io->vd;
	struct skcipher_request *req = vcrypt_io_req(io);
	unsigned int ss = vd->sector_size;
	u8 *iv = vcrypt_io_iv(io);
	struct bio_vec in, out;
	int r;

	while (io->iter_in.bi_size) {
		in = bio_iter_iovec(io->bio, io->iter_in);
		if (unlikely(in.bv_len < ss)) {
			/* io_hints' dma_alignment forbids this; refuse it. */
			io->status = BLK_STS_IOERR;
			break;
		}
		sg_init_table(&io->sg_in, 1);
		sg_set_page(&io->sg_in, in.bv_page, ss, in.bv_offset);
		if (io->write) {
			out = bio_iter_iovec(io->clone, io->iter_out);
			sg_init_table(&io->sg_out, 1);
			sg_set_page(&io->sg_out, out.bv_page, ss, out.bv_offset);
		}

		memset(iv, 0, vd->iv_size);
		*(__le64 *)iv = cpu_to_le64(io->iv_sector);	/* 8-aligned */
		skcipher_request_set_tfm(req, vd->tfm);
		skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
					      vcrypt_crypt_done_fn, io);
		skcipher_request_set_crypt(req, &io->sg_in,
					   io->write ? &io->sg_out : &io->sg_in,
					   ss, iv);
		r = io->write ? crypto_skcipher_encrypt(req) :
				crypto_skcipher_decrypt(req);
		if (r == -EINPROGRESS || r == -EBUSY)
			return;
		if (unlikely(r)) {
			io->status = BLK_STS_IOERR;
			break;
		}
		vcrypt_advance(io);
	}
	vcrypt_convert_end(io);
}

static void vcrypt_read_endio(struct bio *bio)
{
	struct vcrypt_io *io = bio->bi_private;

	if (bio->bi_status) {
		bio->bi_end_io = io->orig_end_io;
		bio->bi_private = io->orig_private;
		bio_endio(bio);
		return;
	}
	/* Inline unless in hard interrupt context or told otherwise. */
	if ((io->vd->opts & VCRYPT_OPT_READ_WORKQUEUE) || in_hardirq() ||
	    irqs_disabled()) {
		INIT_WORK(&io->work, vcrypt_convert_work);
		queue_work(io->vd->wq, &io->work);
		return;
	}
	vcrypt_convert(io);
}

/*
 * A bounce bio for @bio's payload.  Tries the page pool without waiting
 * first; if that fails, gives back what it took and waits on the pool
 * under bounce_lock.
 */
static struct bio *vcrypt_alloc_bounce(struct vcrypt_dev *vd, struct bio *bio)
{
	unsigned int size = bio->bi_iter.bi_size, nr, len, i;
	gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	bool locked = false;
	struct bio *clone;
	struct page *page;

	nr = DIV_ROUND_UP(size, PAGE_SIZE);
retry:
	clone = bio_alloc_bioset(vd->dev->bdev, nr, bio->bi_opf, GFP_NOIO,
				 &vd->bs);
	for (i = 0; i < nr; i++) {
		page = mempool_alloc(&vd->page_pool, gfp);
		if (!page) {
			vcrypt_free_bounce(vd, clone);
			mutex_lock(&vd->bounce_lock);
			locked = true;
			gfp = GFP_NOIO;
			goto retry;
		}
		len = min_t(unsigned int, size - i * PAGE_SIZE, PAGE_SIZE);
		__bio_add_page(clone, page, len, 0);
	}
	if (locked)
		mutex_unlock(&vd->bounce_lock);
	return clone;
}

static int vcrypt_map_write(struct vcrypt_dev *vd, struct vcrypt_io *io,
			    struct bio *bio)
{
	struct bio *clone = vcrypt_alloc_bounce(vd, bio);

	clone->bi_iter.bi_sector = bio->bi_iter.bi_sector;
	clone->bi_private = io;
	clone->bi_end_io = vcrypt_write_endio;
	io->clone = clone;
	io->iter_out = clone->bi_iter;

	if (vd->opts & VCRYPT_OPT_WRITE_WORKQUEUE) {
		INIT_WORK(&io->work, vcrypt_convert_work);
		queue_work(vd->wq, &io->work);
	} else {
		vcrypt_convert(io);
	}
	return DM_MAPIO_SUBMITTED;
}

int vcrypt_map(struct dm_target *ti, struct bio *bio)
{
	struct vcrypt_dev *vd = ti->private;
	struct vcrypt_io *io;
	sector_t offset;

	bio_set_dev(bio, vd->dev->bdev);
	/* Empty flushes; a flush carrying data is encrypted like any write. */
	if (!bio_sectors(bio))
		return DM_MAPIO_REMAPPED;
	offset = dm_target_offset(ti, bio->bi_iter.bi_sector);
	bio->bi_iter.bi_sector = vd->data_start + offset;
	if (!vd->encrypted || bio_op(bio) == REQ_OP_DISCARD)
		return DM_MAPIO_REMAPPED;

	if (unlikely((offset | bio_sectors(bio)) &
		     ((1U << vd->sector_shift) - 1)))
		return DM_MAPIO_KILL;

	io = dm_per_bio_data(bio, ti->per_io_data_size);
	io->vd = vd;
	io->bio = bio;
	io->clone = NULL;
	io->status = BLK_STS_OK;
	io->iter_in = bio->bi_iter;
	io->iv_sector = offset >> vd->sector_shift;
	io->write = op_is_write(bio_op(bio));

	if (io->write)
		return vcrypt_map_write(vd, io, bio);

	io->orig_end_io = bio->bi_end_io;
	io->orig_private = bio->bi_private;
	bio->bi_end_io = vcrypt_read_endio;
	bio->bi_private = io;
	return DM_MAPIO_REMAPPED;
}
