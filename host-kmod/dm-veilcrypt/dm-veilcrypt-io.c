// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt's I/O path.
 *
 * Reads go down unchanged (remapped past the metadata); when they
 * complete, the data is decrypted in place.  Writes are encrypted into
 * bounce pages and the bounce bio goes down.  The conversion is cut into
 * chunks, each a run of sectors converted one skcipher request at a time:
 *
 *   - a bio of at least split_kib is cut into one chunk for this CPU and
 *     one for each CPU near it that had idle time lately (at most
 *     VCRYPT_MAX_CHUNKS in all); the first runs where the bio is (the
 *     submitter for a write, the completion for a read), each other one
 *     on its CPU through a per-CPU workqueue, so one large bio uses every
 *     CPU nearby that has room;
 *   - once the cipher has answered asynchronously, the local part is cut
 *     further so that up to VCRYPT_ASYNC_INFLIGHT requests are in flight;
 *     a chunk continues from its completion callback;
 *   - a small bio is one chunk, converted inline, with no allocation; a
 *     read that completes in a hard interrupt is decrypted in a tasklet
 *     right after it, on the same CPU;
 *   - under a deep queue (more bios in flight than CPUs, a write until
 *     its encrypted copy completes) the submitter of a write, or the
 *     completion of a read, leaves every chunk to the unbound workqueue
 *     and goes back to its queue at once; a large bio is then cut at
 *     every split_kib, for the workers to share.  A small write is left
 *     instead to the next CPU's batch (vcrypt_batch_work()).
 *
 * The last chunk to finish completes the read, or sends the write down:
 * at once when it runs in the write's submitter, else with the other
 * writes finished meanwhile, sorted, under one plug (vcrypt_submit_work()).
 *
 * Allocations on this path cannot fail the I/O: bounce bios come from a
 * bio_set, bounce pages from a mempool that holds one largest write (when
 * the pool must be waited on, bounce_lock lets one writer at a time wait,
 * so no two writers can each hold half of the reserve); when the chunk
 * array cannot be allocated, the bio is converted as one chunk.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/list_sort.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/tick.h>
#include <linux/topology.h>

#include "compat.h"
#include "vcrypt.h"

#define VCRYPT_MAX_CHUNKS	16
#define VCRYPT_ASYNC_INFLIGHT	8

/*
 * Half of what many lower devices take in one bio (brd and many NVMe
 * drives stop at 128 KiB, so a larger write reaches the target in pieces
 * just under it): those pieces are still spread over two CPUs.
 */
unsigned int vcrypt_split_kib = 64;
module_param_named(split_kib, vcrypt_split_kib, uint, 0644);
MODULE_PARM_DESC(split_kib,
		 "Bios of at least this many KiB are converted on several CPUs (0: never)");

static void vcrypt_chunk_run(struct vcrypt_chunk *ch, bool may_sleep);

static inline struct vcrypt_chunk *vcrypt_chunk(struct vcrypt_io *io,
						unsigned int i)
{
	void *base = io->chunks ?: (void *)io + io->vd->chunk_offset;

	return base + i * io->vd->chunk_size;
}

static inline struct skcipher_request *vcrypt_chunk_req(struct vcrypt_chunk *ch)
{
	return (void *)ch + ch->io->vd->req_offset;
}

static inline u8 *vcrypt_chunk_iv(struct vcrypt_chunk *ch)
{
	return (u8 *)ch + ch->io->vd->iv_offset;
}

/* Context where a crypto request may be issued and a bio completed. */
static inline bool vcrypt_may_convert_here(void)
{
	return !in_hardirq() && !irqs_disabled();
}

/* The next online CPU after @cpu, round the mask. */
static int vcrypt_next_cpu(int cpu)
{
	cpu = cpumask_next(cpu, cpu_online_mask);
	return cpu < nr_cpu_ids ? cpu : cpumask_first(cpu_online_mask);
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
	struct vcrypt_dev *vd = io->vd;
	struct bio *bio = io->bio;

	if (clone->bi_status)
		bio->bi_status = clone->bi_status;
	vcrypt_free_bounce(vd, clone);
	atomic_dec(&vd->inflight);
	bio_endio(bio);
}

static int vcrypt_submit_cmp(void *priv, const struct list_head *a,
			     const struct list_head *b)
{
	sector_t sa = list_entry(a, struct vcrypt_io, submit)->clone->bi_iter.bi_sector;
	sector_t sb = list_entry(b, struct vcrypt_io, submit)->clone->bi_iter.bi_sector;

	return sa > sb ? 1 : sa < sb ? -1 : 0;
}

/*
 * Writes converted away from their submitter are sent down here, in
 * batches: whatever gathered since the last run, in sector order and
 * under one plug, so that a request-based lower device merges neighbours
 * (a stream of small writes becomes a few large requests, as the
 * submitter's own plug would have made them; one by one from the
 * workers, in the order they finish, it cannot).
 */
static void vcrypt_submit_pending(struct vcrypt_dev *vd)
{
	struct vcrypt_io *io, *next;
	struct blk_plug plug;
	LIST_HEAD(list);

	spin_lock_irq(&vd->submit_lock);
	list_splice_init(&vd->submit_list, &list);
	spin_unlock_irq(&vd->submit_lock);
	list_sort(NULL, &list, vcrypt_submit_cmp);
	blk_start_plug(&plug);
	/* A write sent down may complete, and its io go, at once. */
	list_for_each_entry_safe(io, next, &list, submit)
		dm_submit_bio_remap(io->bio, io->clone);
	blk_finish_plug(&plug);
}

void vcrypt_submit_work(struct work_struct *work)
{
	vcrypt_submit_pending(container_of(work, struct vcrypt_dev, submit_work));
}

/* @kick: nobody is about to send the pending writes down. */
static void vcrypt_queue_submit(struct vcrypt_io *io, bool kick)
{
	struct vcrypt_dev *vd = io->vd;
	unsigned long flags;

	spin_lock_irqsave(&vd->submit_lock, flags);
	list_add_tail(&io->submit, &vd->submit_list);
	spin_unlock_irqrestore(&vd->submit_lock, flags);
	if (kick)
		queue_work(vd->wq, &vd->submit_work);
}

/*
 * Every chunk done: finish the read, or send the write down.  @may_sleep
 * is false in a bio or crypto completion, where submitting could sleep.
 */
static void vcrypt_io_end(struct vcrypt_io *io, bool may_sleep)
{
	struct bio *bio = io->bio;

	kfree(io->chunks);
	io->chunks = NULL;
	/* A write sent down stays in flight until it completes. */
	if (!io->write || io->status)
		atomic_dec(&io->vd->inflight);
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
	/*
	 * Its submitter sends it down at once; any other write is batched,
	 * and the batch worker sends its own when the batch is encrypted.
	 */
	if (may_sleep && !io->handed_off)
		dm_submit_bio_remap(bio, io->clone);
	else
		vcrypt_queue_submit(io, !(may_sleep && io->batched));
}

static void vcrypt_chunk_done(struct vcrypt_chunk *ch, bool may_sleep)
{
	struct vcrypt_io *io = ch->io;

	if (atomic_dec_and_test(&io->pending))
		vcrypt_io_end(io, may_sleep);
}

static void vcrypt_chunk_work(struct work_struct *work)
{
	vcrypt_chunk_run(container_of(work, struct vcrypt_chunk, work), true);
}

static void vcrypt_chunk_queue(struct vcrypt_chunk *ch)
{
	INIT_WORK(&ch->work, vcrypt_chunk_work);
	queue_work(ch->io->vd->wq, &ch->work);
}

/*
 * Small writes under a deep queue: their submitter leaves them with the
 * next CPU and goes back to its queue; there one worker encrypts whatever
 * has gathered, then sends it all down together (a work item each would
 * cost a worker's wakeup per write, and send them down one by one).  The
 * next CPU, not any: one submitter keeps its own CPU and the worker gets
 * the other; two submitters each feed the other's CPU.
 */
void vcrypt_batch_work(struct work_struct *work)
{
	struct vcrypt_batch *b = container_of(work, struct vcrypt_batch, work);
	struct vcrypt_io *io, *next;
	LIST_HEAD(list);

	for (;;) {
		spin_lock_irq(&b->lock);
		list_splice_init(&b->list, &list);
		spin_unlock_irq(&b->lock);
		if (list_empty(&list))
			break;
		list_for_each_entry_safe(io, next, &list, submit) {
			list_del(&io->submit);
			vcrypt_chunk_run(vcrypt_chunk(io, 0), true);
		}
		vcrypt_submit_pending(b->vd);
		/* A steady stream must not keep this CPU from its own tasks. */
		cond_resched();
	}
}

static void vcrypt_queue_batch(struct vcrypt_io *io)
{
	int cpu = vcrypt_next_cpu(raw_smp_processor_id());
	struct vcrypt_batch *b = per_cpu_ptr(io->vd->batch, cpu);
	unsigned long flags;

	io->batched = true;
	spin_lock_irqsave(&b->lock, flags);
	list_add_tail(&io->submit, &b->list);
	spin_unlock_irqrestore(&b->lock, flags);
	queue_work_on(cpu, io->vd->cpu_wq, &b->work);
}

static void vcrypt_chunk_advance(struct vcrypt_chunk *ch)
{
	struct vcrypt_io *io = ch->io;
	unsigned int ss = io->vd->sector_size;

	bio_advance_iter_single(io->bio, &ch->iter_in, ss);
	if (io->write)
		bio_advance_iter_single(io->clone, &ch->iter_out, ss);
	ch->iv_sector++;
	ch->left--;
}

/* An asynchronous cipher finished one sector of @data's chunk. */
void vcrypt_crypt_done(void *data, int err)
{
	struct vcrypt_chunk *ch = data;

	/* A backlogged request was accepted; the real completion follows. */
	if (err == -EINPROGRESS)
		return;
	if (err) {
		ch->io->status = BLK_STS_IOERR;
		ch->left = 0;
	} else {
		vcrypt_chunk_advance(ch);
	}
	if (!ch->left)
		vcrypt_chunk_done(ch, false);
	else if (vcrypt_may_convert_here())
		vcrypt_chunk_run(ch, false);
	else
		vcrypt_chunk_queue(ch);
}

/*
 * Convert the chunk's sectors.  Never sleeps; returns early when the
 * cipher goes asynchronous, and vcrypt_crypt_done() continues.
 * @may_sleep says whether the caller's context may submit a bio.
 */
static void vcrypt_chunk_run(struct vcrypt_chunk *ch, bool may_sleep)
{
	struct vcrypt_io *io = ch->io;
	struct vcrypt_dev *vd = io->vd;
	struct skcipher_request *req = vcrypt_chunk_req(ch);
	unsigned int ss = vd->sector_size;
	u8 *iv = vcrypt_chunk_iv(ch);
	struct bio_vec in, out;
	int r;

	while (ch->left) {
		in = bio_iter_iovec(io->bio, ch->iter_in);
		if (unlikely(in.bv_len < ss)) {
			/* io_hints' dma_alignment forbids this; refuse it. */
			io->status = BLK_STS_IOERR;
			break;
		}
		sg_init_table(&ch->sg_in, 1);
		sg_set_page(&ch->sg_in, in.bv_page, ss, in.bv_offset);
		if (io->write) {
			out = bio_iter_iovec(io->clone, ch->iter_out);
			sg_init_table(&ch->sg_out, 1);
			sg_set_page(&ch->sg_out, out.bv_page, ss, out.bv_offset);
		}

		memset(iv, 0, vd->iv_size);
		*(__le64 *)iv = cpu_to_le64(ch->iv_sector);	/* 8-aligned */
		skcipher_request_set_tfm(req, vd->tfm);
		skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
					      vcrypt_crypt_done_fn, ch);
		skcipher_request_set_crypt(req, &ch->sg_in,
					   io->write ? &ch->sg_out : &ch->sg_in,
					   ss, iv);
		r = io->write ? crypto_skcipher_encrypt(req) :
				crypto_skcipher_decrypt(req);
		if (r == -EINPROGRESS || r == -EBUSY) {
			if (!READ_ONCE(vd->async_seen))
				WRITE_ONCE(vd->async_seen, true);
			return;
		}
		if (unlikely(r)) {
			io->status = BLK_STS_IOERR;
			break;
		}
		vcrypt_chunk_advance(ch);
	}
	vcrypt_chunk_done(ch, may_sleep);
}

static void vcrypt_chunk_init(struct vcrypt_io *io, struct vcrypt_chunk *ch,
			      unsigned int first, unsigned int nr)
{
	unsigned int bytes = first << (io->vd->sector_shift + SECTOR_SHIFT);

	ch->io = io;
	ch->iter_in = io->iter_in;
	bio_advance_iter(io->bio, &ch->iter_in, bytes);
	if (io->write) {
		ch->iter_out = io->iter_out;
		bio_advance_iter(io->clone, &ch->iter_out, bytes);
	}
	ch->iv_sector = io->iv_sector + first;
	ch->left = nr;
}

/* Bios of this many bytes or more are cut into chunks; 0: none is. */
static unsigned long vcrypt_split_bytes(void)
{
	if (num_online_cpus() < 2)
		return 0;
	return (unsigned long)READ_ONCE(vcrypt_split_kib) << 10;
}

/*
 * CPUs that had idle time lately: a large bio converted where it is, not
 * handed off, is cut only for those.  Cut for a CPU busy with its own
 * submitter, it would only make the two trade work, each waiting on the
 * other (two jobs of large writes lost a quarter so).  Each CPU that
 * converts a large bio looks, at most once a jiffy, at its neighbours
 * only: the next online CPUs of its NUMA node, as many as a bio has
 * remote chunks at most.  A neighbour counts if idle (or waiting on I/O)
 * for a quarter of the time since the last look.  So a look costs the
 * same on a host of any size, CPUs far away are never given a share of a
 * bio, and no two CPUs write one cache line for it.  Without NO_HZ idle
 * accounting every neighbour counts.
 */
#define VCRYPT_NEIGHBOURS	(VCRYPT_MAX_CHUNKS - 1)

struct vcrypt_room {
	unsigned long stamp;			/* jiffies of the last look */
	u64 time;				/* its ktime, in us */
	unsigned int nr;			/* neighbours looked at */
	unsigned long roomy;			/* bit i: cpu[i] had idle time */
	int cpu[VCRYPT_NEIGHBOURS];
	u64 idle[VCRYPT_NEIGHBOURS];		/* their idle us then */
};

static DEFINE_PER_CPU(struct vcrypt_room, vcrypt_room);

/* @r's look from CPU @self, once a jiffy (preemption and softirqs off). */
static void vcrypt_room_look(struct vcrypt_room *r, int self)
{
	const struct cpumask *node = cpumask_of_node(cpu_to_node(self));
	unsigned long now = jiffies;
	u64 t, dt, idle, iowait;
	unsigned int i = 0;
	int cpu;

	if (r->stamp == now && r->nr)
		return;
	t = ktime_to_us(ktime_get());
	dt = t - r->time;
	r->stamp = now;
	r->time = t;
	for_each_cpu_wrap(cpu, node, self) {
		if (i == VCRYPT_NEIGHBOURS)
			break;
		if (cpu == self || !cpu_online(cpu))
			continue;
		idle = get_cpu_idle_time_us(cpu, NULL);
		iowait = get_cpu_iowait_time_us(cpu, NULL);
		if (idle == (u64)-1 || iowait == (u64)-1) {
			__set_bit(i, &r->roomy);
		} else {
			idle += iowait;
			/*
			 * A CPU new in this slot has no interval to judge: it
			 * counts, as every CPU does before its first look.
			 * The sum may step back a little when iowait ends
			 * mid-idle.
			 */
			if (i >= r->nr || r->cpu[i] != cpu ||
			    (idle > r->idle[i] && (idle - r->idle[i]) * 4 >= dt))
				__set_bit(i, &r->roomy);
			else
				__clear_bit(i, &r->roomy);
		}
		r->cpu[i] = cpu;
		r->idle[i++] = idle;
	}
	r->nr = i;
}

/*
 * The CPUs near this one that had idle time lately, into @cpus (room for
 * VCRYPT_NEIGHBOURS); returns how many.  A submitter's look and a read's
 * in the tasklet must not interleave on one CPU's state.
 */
static unsigned int vcrypt_roomy_cpus(int *cpus)
{
	struct vcrypt_room *r;
	unsigned int i, n = 0;

	local_bh_disable();
	r = get_cpu_ptr(&vcrypt_room);
	vcrypt_room_look(r, smp_processor_id());
	for (i = 0; i < r->nr; i++)
		if (test_bit(i, &r->roomy))
			cpus[n++] = r->cpu[i];
	put_cpu_ptr(&vcrypt_room);
	local_bh_enable();
	return n;
}

/*
 * How many chunks: @remote go to other CPUs, @local run here (more than
 * one only for an asynchronous cipher).  Under a deep queue (@deep) every
 * chunk goes to the workqueue, and a large bio is cut at every split_kib
 * so that the workers share it evenly; otherwise it is cut for this CPU
 * and the @others that had idle time lately.  @split: vcrypt_split_bytes().
 */
static void vcrypt_plan(struct vcrypt_io *io, unsigned int sectors, bool deep,
			unsigned long split, unsigned int others,
			unsigned int *local, unsigned int *remote)
{
	struct vcrypt_dev *vd = io->vd;
	unsigned long bytes = (unsigned long)sectors << (vd->sector_shift + SECTOR_SHIFT);
	unsigned int cpus = num_online_cpus(), pieces = 1;

	if (split && bytes >= split)
		pieces = min_t(unsigned long, DIV_ROUND_UP(bytes, split), VCRYPT_MAX_CHUNKS);
	if (!deep)
		pieces = min(pieces, min(others + 1, cpus));
	*remote = pieces - 1;
	*local = 1;
	if (READ_ONCE(vd->async_seen))
		*local = clamp(sectors / pieces, 1U, (unsigned int)VCRYPT_ASYNC_INFLIGHT);
}

/*
 * Convert the whole bio: cut it into chunks, send the remote ones to the
 * other CPUs (each its own: the scheduler would not always spread the
 * workers of an unbound queue), run the local ones here; or, when @here is
 * false or the queue is deep, leave them all to the unbound workqueue.
 */
static void vcrypt_convert(struct vcrypt_io *io, bool here, bool may_sleep)
{
	struct vcrypt_dev *vd = io->vd;
	unsigned int sectors = io->iter_in.bi_size >> (vd->sector_shift + SECTOR_SHIFT);
	unsigned int local, remote, n, i, first, share, part, off;
	bool deep = atomic_read(&vd->inflight) > num_online_cpus();
	unsigned long split = vcrypt_split_bytes();
	unsigned int others = num_online_cpus() - 1;
	int cpus[VCRYPT_NEIGHBOURS];
	struct vcrypt_chunk *ch;

	/* A deep queue: the submitter has better things to do. */
	if (deep)
		here = false;
	io->handed_off = !here;
	io->batched = false;
	if (here && split && io->iter_in.bi_size >= split)
		others = vcrypt_roomy_cpus(cpus);
	vcrypt_plan(io, sectors, deep, split, others, &local, &remote);
	n = local + remote;
	io->chunks = NULL;
	if (n > 1) {
		io->chunks = kmalloc_array(n, vd->chunk_size,
					   (may_sleep ? GFP_NOIO : GFP_NOWAIT) | __GFP_NOWARN);
		if (!io->chunks) {
			n = 1;
			local = 1;
			remote = 0;
		}
	}
	atomic_set(&io->pending, n);

	/* The remote chunks take equal shares; the local part the rest. */
	share = sectors / (remote + 1);
	first = sectors - share * remote;
	for (i = 0; i < remote; i++) {
		ch = vcrypt_chunk(io, local + i);
		vcrypt_chunk_init(io, ch, first + i * share, share);
		INIT_WORK(&ch->work, vcrypt_chunk_work);
		/* (a CPU gone offline since: its pool runs the work elsewhere) */
		if (here)
			queue_work_on(cpus[i], vd->cpu_wq, &ch->work);
		else
			queue_work(vd->wq, &ch->work);
	}
	for (i = 0, off = 0; i < local; i++, off += part) {
		part = first / local + (i < first % local);
		vcrypt_chunk_init(io, vcrypt_chunk(io, i), off, part);
	}
	for (i = 0; i < local; i++) {
		if (here)
			vcrypt_chunk_run(vcrypt_chunk(io, i), may_sleep);
		else if (io->write && n == 1)
			vcrypt_queue_batch(io);
		else
			vcrypt_chunk_queue(vcrypt_chunk(io, i));
	}
}

/*
 * Reads completed in a hard interrupt, decrypted right after it on the
 * same CPU: a list and a tasklet per CPU, for the module's life (a
 * tasklet in the per-bio data would be touched by the tasklet core after
 * its callback has completed the bio).
 */
struct vcrypt_irq_reads {
	struct llist_head list;
	struct tasklet_struct tasklet;
};

static DEFINE_PER_CPU(struct vcrypt_irq_reads, vcrypt_irq_reads);

static void vcrypt_irq_reads_run(struct tasklet_struct *t)
{
	struct vcrypt_irq_reads *r = container_of(t, struct vcrypt_irq_reads, tasklet);
	struct llist_node *first = llist_reverse_order(llist_del_all(&r->list));
	struct vcrypt_io *io, *next;

	llist_for_each_entry_safe(io, next, first, irq_node)
		vcrypt_convert(io, true, false);
}

void vcrypt_io_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vcrypt_irq_reads *r = per_cpu_ptr(&vcrypt_irq_reads, cpu);

		init_llist_head(&r->list);
		tasklet_setup(&r->tasklet, vcrypt_irq_reads_run);
	}
}

/* Every target is gone: no read is on the lists any more. */
void vcrypt_io_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		tasklet_kill(&per_cpu_ptr(&vcrypt_irq_reads, cpu)->tasklet);
}

static void vcrypt_read_endio(struct bio *bio)
{
	struct vcrypt_io *io = bio->bi_private;
	struct vcrypt_dev *vd = io->vd;

	if (bio->bi_status) {
		atomic_dec(&vd->inflight);
		bio->bi_end_io = io->orig_end_io;
		bio->bi_private = io->orig_private;
		bio_endio(bio);
		return;
	}
	if (vd->opts & VCRYPT_OPT_READ_WORKQUEUE) {
		vcrypt_convert(io, false, false);
	} else if (vcrypt_may_convert_here()) {
		vcrypt_convert(io, true, false);
	} else if (atomic_read(&vd->inflight) > num_online_cpus()) {
		/* A deep queue from a hard interrupt: the workers share it. */
		vcrypt_convert(io, false, false);
	} else {
		/*
		 * A disk's completion interrupt: a workqueue's wakeup would
		 * cost a small read more than its decryption, so it is done
		 * right after the interrupt, on this CPU, as dm-crypt does.
		 */
		struct vcrypt_irq_reads *r = this_cpu_ptr(&vcrypt_irq_reads);

		llist_add(&io->irq_node, &r->list);
		tasklet_schedule(&r->tasklet);
	}
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
	vcrypt_convert(io, !(vd->opts & VCRYPT_OPT_WRITE_WORKQUEUE), true);
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
	io->chunks = NULL;
	io->status = BLK_STS_OK;
	io->iter_in = bio->bi_iter;
	io->iv_sector = offset >> vd->sector_shift;
	io->write = op_is_write(bio_op(bio));
	atomic_inc(&vd->inflight);

	if (io->write)
		return vcrypt_map_write(vd, io, bio);

	io->orig_end_io = bio->bi_end_io;
	io->orig_private = bio->bi_private;
	bio->bi_end_io = vcrypt_read_endio;
	bio->bi_private = io;
	return DM_MAPIO_REMAPPED;
}
