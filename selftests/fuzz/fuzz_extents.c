// SPDX-License-Identifier: GPL-2.0
/*
 * extents: the guest's extent sets (guest-kmod/extents.c, built as it is
 * on shim/kshim.h).  The input is a list of the calls the collectors make
 * (whole frames, byte ranges of a frame, of a kernel object, of a page;
 * kernel stacks; reservations before an RCU section; kernel_objects
 * switched), into the eight categories, on 64 frames from a base that may
 * be 0 or near the top of guest physical memory.  Every byte added is also
 * marked in a bitmap.  After veil_guest_collect_finish():
 *
 *  - each set, and the merged one, covers exactly the bytes marked;
 *  - its runs are sorted and disjoint, whole runs that touch are merged,
 *    and so are the byte ranges of one frame; a partial run is 1 to 4095
 *    bytes inside its frame, and never of a frame wholly covered;
 *  - its page count is one per partial run plus the whole frames;
 *  - finishing it again changes nothing;
 *  - the host (host-kmod/veil_host_validate.c) accepts it as published,
 *    with ABI 2, or with ABI 1 once the partial runs are left out, and
 *    counts the same frames;
 *  - an allocation made to fail fails the collection with -ENOMEM and
 *    leaks nothing; nothing allocates with a sleeping GFP inside an RCU
 *    section; a byte range that crosses its frame WARNs and is ignored.
 *
 * Input: byte 0: base (mod 3: 0, 2^20, 2^40 - 64), bit 2: kernel_objects,
 * bit 3: publish with ABI 1; byte 1: allocation that fails (0: none); then
 * operations, each a byte (bits 0-2 the operation, 3-5 the category, 6-7
 * its flags) and its arguments, as run_op() reads them.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "publish.h"
#include "veil_guest.h"

bool *kshim_param_kernel_objects(void);

#define NCAT		VEIL_GUEST_NR_CAT
#define NFRAMES		KSHIM_MAP_PAGES
#define NBYTES		(NFRAMES * PAGE_SIZE)
#define WORDS		(NBYTES / 64)
#define MAX_OPS		512
#define OTHER_KADDR	0xffffffff81000000UL	/* kernel text: no struct page */

enum {
	OP_ADD, OP_BYTES, OP_KBYTES, OP_PBYTES, OP_KRANGE, OP_RESERVE, OP_RCU,
	OP_PARAM,
};

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t get8(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t get16(struct input *in)
{
	uint16_t lo = get8(in);

	return (uint16_t)(lo | get8(in) << 8);
}

static uint64_t model[NCAT + 1][WORDS];	/* [NCAT]: all of them */
static bool used[NCAT + 1];		/* model[i] may have bits set */
static uint64_t seen[WORDS];
static u64 base;		/* frame of model byte 0 */

NO_COVERAGE static void bits_set(uint64_t *w, u64 from, u64 to)
{
	u64 b, n;

	check(from <= to && to <= NBYTES, "bytes [%llu, %llu) outside the model",
	      (unsigned long long)from, (unsigned long long)to);
	while (from < to) {
		b = from % 64;
		n = to - from < 64 - b ? to - from : 64 - b;
		w[from / 64] |= (n == 64 ? ~0ULL : ((1ULL << n) - 1) << b);
		from += n;
	}
}

NO_COVERAGE static bool frame_full(const uint64_t *w, u64 f)
{
	u64 i;

	for (i = 0; i < PAGE_SIZE / 64; i++)
		if (w[f * (PAGE_SIZE / 64) + i] != ~0ULL)
			return false;
	return true;
}

/* The frame, as a model index, of a fake kernel address; -1: no page. */
static long kaddr_frame(unsigned long a)
{
	if (a >= KSHIM_DIRECT_MAP && a - KSHIM_DIRECT_MAP < NBYTES)
		return (a - KSHIM_DIRECT_MAP) >> PAGE_SHIFT;
	if (a >= KSHIM_VMALLOC && a - KSHIM_VMALLOC < NBYTES)
		return kshim_vmalloc_frame((a - KSHIM_VMALLOC) >> PAGE_SHIFT);
	return -1;
}

static unsigned long kaddr(struct input *in, unsigned int region)
{
	static const unsigned long bases[] = {
		KSHIM_DIRECT_MAP, KSHIM_VMALLOC, OTHER_KADDR, OTHER_KADDR
	};
	unsigned long page = get8(in) % (NFRAMES + 8);

	return bases[region] + (page << PAGE_SHIFT) + get16(in) % PAGE_SIZE;
}

/* What veil_guest_add_kernel_bytes() should add: the bytes that have a page. */
static void model_kbytes(uint64_t *w, unsigned long a, size_t len)
{
	unsigned long end = a + len, n;
	long f;

	while (a < end) {
		n = PAGE_SIZE - offset_in_page(a);
		if (n > end - a)
			n = end - a;
		f = kaddr_frame(a);
		if (f >= 0)
			bits_set(w, f * PAGE_SIZE + offset_in_page(a),
				 f * PAGE_SIZE + offset_in_page(a) + n);
		a += n;
	}
}

/* What veil_guest_add_kernel_range() should add: every frame it touches. */
static void model_krange(uint64_t *w, unsigned long a, size_t len)
{
	unsigned long p;
	long f;

	if (!len || !*kshim_param_kernel_objects())
		return;
	for (p = a & PAGE_MASK; p < a + len; p += PAGE_SIZE) {
		f = kaddr_frame(p);
		if (f >= 0)
			bits_set(w, f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
	}
}

struct run {
	bool partial;
	u64 pfn, npages, start, end;	/* start, end: model bytes */
};

static struct run decode(const struct veil_guest_run *r)
{
	struct run d = { .pfn = r->pfn };
	u32 off, len;

	check(r->pfn >= base && r->pfn - base < NFRAMES, "run at frame 0x%llx, outside",
	      (unsigned long long)r->pfn);
	d.partial = r->npages >> 63;
	if (d.partial) {
		off = (r->npages >> 32) & 0x7fffffff;
		len = (u32)r->npages;
		check(off < PAGE_SIZE && len && len < PAGE_SIZE && off + len <= PAGE_SIZE,
		      "partial run 0x%llx: %u bytes at %u", (unsigned long long)r->npages,
		      len, off);
		d.npages = 1;
		d.start = (r->pfn - base) * PAGE_SIZE + off;
		d.end = d.start + len;
	} else {
		check(r->npages && r->npages <= NFRAMES - (r->pfn - base),
		      "run of %llu frames at 0x%llx", (unsigned long long)r->npages,
		      (unsigned long long)r->pfn);
		d.npages = r->npages;
		d.start = (r->pfn - base) * PAGE_SIZE;
		d.end = d.start + r->npages * PAGE_SIZE;
	}
	return d;
}

/* A finished set: canonical, and covering exactly the bytes of @want. */
static u64 check_set(const struct veil_guest_extset *set, const uint64_t *want,
		     const char *name)
{
	struct run prev = { 0 }, d;
	u64 pages = 0;
	size_t i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < set->nr; i++) {
		d = decode(&set->runs[i]);
		if (i) {
			check(d.start >= prev.end, "%s: run %zu overlaps or precedes run %zu",
			      name, i, i - 1);
			check(d.start > prev.end || (d.partial != prev.partial) ||
			      (d.partial && d.pfn != prev.pfn),
			      "%s: runs %zu and %zu touch and are not merged", name, i - 1, i);
		}
		check(!d.partial || !frame_full(want, d.pfn - base),
		      "%s: run %zu is partial in a frame wholly covered", name, i);
		bits_set(seen, d.start, d.end);
		pages += d.npages;
		prev = d;
	}
	check(!memcmp(seen, want, sizeof(seen)),
	      "%s: the runs do not cover exactly the bytes added", name);
	check(pages == veil_guest_extset_pages(set), "%s: %llu frames, counted %llu",
	      name, (unsigned long long)pages,
	      (unsigned long long)veil_guest_extset_pages(set));
	return pages;
}

NO_COVERAGE static void model_merge(uint64_t *all, const uint64_t *cat)
{
	size_t w;

	for (w = 0; w < WORDS; w++)
		all[w] |= cat[w];
}

static void check_finish_again(struct veil_guest_extset *set)
{
	size_t n = set->nr, bytes = n * sizeof(*set->runs);
	struct veil_guest_run *copy = malloc(bytes ? bytes : 1);

	if (!copy)
		abort();
	if (n)
		memcpy(copy, set->runs, bytes);
	check(!veil_guest_extset_finish(set) && set->nr == n &&
	      (!n || !memcmp(copy, set->runs, bytes)), "finishing a finished set changed it");
	free(copy);
}

/* The set as the guest publishes it, to the host. */
static void check_published(const struct veil_guest_extset *set, u64 pages, bool abi1)
{
	struct veil_extent *rec = malloc((set->nr ? set->nr : 1) * sizeof(*rec));
	u64 host_pages = 0, want = 0;
	size_t i, n = 0;
	long r;

	if (!rec)
		abort();
	for (i = 0; i < set->nr; i++) {
		const struct veil_guest_run *run = &set->runs[i];

		if (abi1 && veil_guest_run_partial(run))
			continue;
		rec[n].gfn = htole64(run->pfn);
		rec[n].npages = htole64(run->npages);
		want += veil_guest_run_partial(run) ? 1 : run->npages;
		n++;
	}
	check(abi1 || want == pages, "published %llu frames of %llu",
	      (unsigned long long)want, (unsigned long long)pages);
	r = publish_records(rec, n, abi1 ? 1 : 2, base, NFRAMES, &host_pages);
	if (r != PUBLISH_TOO_MANY) {
		check(!r, "the host refused the set: %ld", r);
		check(host_pages == want, "the host counted %llu frames, the guest %llu",
		      (unsigned long long)host_pages, (unsigned long long)want);
	}
	free(rec);
}

static void rcu_enter(struct veil_guest_collect *c, size_t more, bool *in_rcu)
{
	if (veil_guest_extset_reserve(&c->cat[VEIL_GUEST_CAT_STACK], more) ||
	    veil_guest_extset_reserve(&c->cat[VEIL_GUEST_CAT_FPU], more))
		return;
	c->cat[VEIL_GUEST_CAT_STACK].nosleep = true;
	c->cat[VEIL_GUEST_CAT_FPU].nosleep = true;
	kshim_atomic = true;
	*in_rcu = true;
}

static void rcu_leave(struct veil_guest_collect *c, bool *in_rcu)
{
	c->cat[VEIL_GUEST_CAT_STACK].nosleep = false;
	c->cat[VEIL_GUEST_CAT_FPU].nosleep = false;
	kshim_atomic = false;
	*in_rcu = false;
}

/* One call of the collectors' interface; returns the WARNs it should raise. */
static unsigned int run_op(struct veil_guest_collect *c, struct input *in, bool *in_rcu)
{
	uint8_t b = get8(in);
	unsigned int op = b & 7, cat = (b >> 3) & 7, flags = b >> 6;
	struct veil_guest_extset *set;
	unsigned long a;
	u64 pfn, np, off, len;
	int err;

	/* Under RCU the collectors touch only the sets they made room in. */
	if (*in_rcu && op != OP_RCU)
		cat = cat & 1 ? VEIL_GUEST_CAT_FPU : VEIL_GUEST_CAT_STACK;
	set = &c->cat[cat];
	used[cat] = true;
	switch (op) {
	case OP_ADD:
		pfn = get8(in) % NFRAMES;
		np = get8(in);
		np = np ? 1 + (np - 1) % (NFRAMES - pfn) : 0;
		if (flags & 1)
			veil_guest_add(c, cat, base + pfn, np);
		else
			veil_guest_extset_add(set, base + pfn, np);
		bits_set(model[cat], pfn * PAGE_SIZE, (pfn + np) * PAGE_SIZE);
		break;
	case OP_BYTES:
		pfn = get8(in) % NFRAMES;
		off = get16(in);
		len = get16(in);
		if (flags & 1) {
			off %= PAGE_SIZE;
			len %= PAGE_SIZE + 1;
		}
		err = set->error;
		veil_guest_extset_add_bytes(set, base + pfn, off, len);
		if (len && !err && off + len > PAGE_SIZE)
			return 1;
		if (off + len <= PAGE_SIZE)
			bits_set(model[cat], pfn * PAGE_SIZE + off, pfn * PAGE_SIZE + off + len);
		break;
	case OP_KBYTES:
		a = kaddr(in, flags);
		len = get16(in);
		veil_guest_add_kernel_bytes(c, cat, (const void *)a, len);
		model_kbytes(model[cat], a, len);
		break;
	case OP_PBYTES:
		pfn = get8(in) % NFRAMES;
		off = get16(in);
		len = get16(in);
		if (pfn * PAGE_SIZE + off >= NBYTES)
			break;
		if (len > NBYTES - pfn * PAGE_SIZE - off)
			len = NBYTES - pfn * PAGE_SIZE - off;
		veil_guest_add_page_bytes(c, cat, kshim_pfn_to_page(base + pfn), off, len);
		bits_set(model[cat], pfn * PAGE_SIZE + off, pfn * PAGE_SIZE + off + len);
		break;
	case OP_KRANGE:
		a = kaddr(in, flags);
		len = get16(in);
		veil_guest_add_kernel_range(c, cat, (const void *)a, len);
		model_krange(model[cat], a, len);
		break;
	case OP_RESERVE:
		np = get8(in) * 8U;
		err = veil_guest_extset_reserve(set, np);
		check(err == set->error && (err == 0 || err == -ENOMEM),
		      "reserve returned %d, the set's error is %d", err, set->error);
		check(err || set->cap >= set->nr + np, "reserve of %llu: %zu runs, room for %zu",
		      (unsigned long long)np, set->nr, set->cap);
		break;
	case OP_RCU:
		if (*in_rcu)
			rcu_leave(c, in_rcu);
		else
			rcu_enter(c, get8(in) * 4U, in_rcu);
		break;
	case OP_PARAM:
		*kshim_param_kernel_objects() = !*kshim_param_kernel_objects();
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const u64 bases[] = { 0, 1ULL << 20, (1ULL << 40) - NFRAMES };
	struct input in = { data, size };
	struct veil_guest_collect c;
	unsigned int i, ops, warns = 0;
	bool in_rcu = false, failed, abi1;
	uint8_t cfg;
	u64 pages;
	int err;

	if (size < 2)
		return 0;
	cfg = get8(&in);
	base = bases[cfg % 3];
	abi1 = cfg & 8;
	kshim_pfn_base = base;
	*kshim_param_kernel_objects() = cfg & 4;
	kshim_warnings = 0;
	kshim_allocs = 0;
	kshim_alloc_fail_at = get8(&in);
	kshim_atomic = false;
	for (i = 0; i <= NCAT; i++) {
		if (used[i])
			memset(model[i], 0, sizeof(model[i]));
		used[i] = false;
	}

	veil_guest_collect_init(&c);
	for (ops = 0; in.n && ops < MAX_OPS; ops++)
		warns += run_op(&c, &in, &in_rcu);
	if (in_rcu)
		rcu_leave(&c, &in_rcu);

	err = veil_guest_collect_finish(&c);
	failed = kshim_alloc_fail_at && kshim_allocs >= kshim_alloc_fail_at;
	check(err == (failed ? -ENOMEM : 0), "collect_finish returned %d after %s", err,
	      failed ? "an allocation failed" : "no allocation failed");
	if (!err) {
		used[NCAT] = true;
		for (i = 0; i < NCAT; i++) {
			if (!used[i]) {
				check(!c.cat[i].nr && !c.pages[i], "category %u: runs from nowhere", i);
				continue;
			}
			pages = check_set(&c.cat[i], model[i], "a category");
			check(pages == c.pages[i], "category %u: %llu frames, counted %llu", i,
			      (unsigned long long)pages, (unsigned long long)c.pages[i]);
			model_merge(model[NCAT], model[i]);
		}
		pages = check_set(&c.all, model[NCAT], "the merged set");
		check(pages == c.nr_pages, "merged set: %llu frames, counted %llu",
		      (unsigned long long)pages, (unsigned long long)c.nr_pages);
		check_published(&c.all, pages, abi1);
		check_finish_again(&c.all);
	}
	veil_guest_collect_free(&c);
	check(kshim_warnings == warns, "%lu WARNs, %u expected", kshim_warnings, warns);
	return 0;
}
