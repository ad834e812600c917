// SPDX-License-Identifier: GPL-2.0
/*
 * host_validate: REGISTER and PUBLISH as veil_host.ko checks them
 * (host-kmod/veil_host_validate.c), against the rules uapi/linux/veil.h
 * states, recomputed here with 128-bit arithmetic.  Both must give the same
 * verdict and error code; an accepted set must be the records decoded,
 * sorted and disjoint, its frame count their sum; and a refusal logs
 * exactly one line, an acceptance none.
 *
 * Input (little-endian), PUBLISH when bit 0 of byte 0 is clear:
 *    1  guest ABI            2  max_mib - 1        3  memslots (mod 5)
 *    4  u16 count, mod 4096  8  u64 GPA of the first extent page
 *   16  4 x { u64 base gfn, u32 frames, u32 unused }
 *   80  extent pages, each: next, count, reserved (16 bytes), then
 *       min(count, 255) records; missing bytes read as zero.  Page i is
 *       at GPA (i + 1) * 4096.
 * REGISTER when it is set:
 *    1  max_abi    2  bit 0: the control page is guest RAM
 *    8  u64 GPA    16  u64 ABI    24  u32 magic, u32 abi_version
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "host_chain.h"

#define HDR_LEN		80
#define PAGE_HDR_LEN	16

typedef unsigned __int128 u128;

struct ref_result {
	long r;
	u64 nr_pages;
	struct veil_host_record *rec;
};

/* The PUBLISH rules of uapi/linux/veil.h, in the order the host checks them. */
static long ref_record(const struct chain_vm *vm, u32 abi, u64 max_pages,
		       const struct veil_extent *e, u128 *prev_end,
		       u64 *total, struct veil_host_record *out)
{
	u64 gfn = le64_to_cpu(e->gfn), np = le64_to_cpu(e->npages);
	u64 frames, off = 0, len = 0;
	u128 start, end;

	if (np >> 63) {
		off = (np >> 32) & 0x7fffffff;
		len = np & 0xffffffff;
		if (abi < 2 || off > 4095 || !len || off + len > 4096)
			return -KVM_EINVAL;
		frames = 1;
	} else {
		if (!np)
			return -KVM_EINVAL;
		frames = np;
	}
	/* Guest physical addresses have at most 52 bits. */
	if ((u128)gfn + frames > ((u128)1 << 40))
		return -KVM_EINVAL;
	start = (u128)gfn * 4096 + off;
	end = len ? start + len : ((u128)gfn + frames) * 4096;
	if (start < *prev_end)
		return -KVM_EINVAL;
	if (!chain_ram(vm, gfn, frames))
		return -KVM_EFAULT;
	*total += frames;
	out->gfn = gfn;
	out->npages = frames;
	out->off = off;
	out->len = len;
	*prev_end = end;
	if (*total > max_pages)
		return -KVM_E2BIG;
	return 0;
}

static void ref_publish(const struct chain_vm *vm, u64 gpa, u64 count, u32 abi,
			unsigned int max_mib, struct ref_result *res)
{
	const struct veil_extent_page *p;
	u128 prev_end = 0;
	u64 idx = 0, i, n;

	res->nr_pages = 0;
	while (idx < count) {
		if (!gpa || gpa % 4096) {
			res->r = -KVM_EINVAL;
			return;
		}
		p = chain_page(vm, gpa);
		if (!p) {
			res->r = -KVM_EFAULT;
			return;
		}
		n = le32_to_cpu(p->count);
		if (n < 1 || n > 255 || idx + n > count || p->reserved) {
			res->r = -KVM_EINVAL;
			return;
		}
		for (i = 0; i < n; i++, idx++) {
			res->r = ref_record(vm, abi, (u64)max_mib * 256, &p->ext[i],
					    &prev_end, &res->nr_pages, &res->rec[idx]);
			if (res->r)
				return;
		}
		gpa = le64_to_cpu(p->next);
	}
	res->r = gpa ? -KVM_EINVAL : 0;
}

static u64 record_start(const struct veil_host_record *r)
{
	return (r->gfn << 12) + r->off;
}

static u64 record_end(const struct veil_host_record *r)
{
	return r->len ? record_start(r) + r->len : (r->gfn + r->npages) << 12;
}

/* Splits the input into extent pages: a header and as many records as it says. */
static void load_pages(struct chain_vm *vm, const uint8_t *d, size_t n)
{
	struct veil_extent_page *p;
	size_t want;

	while (n && (p = chain_add_page(vm))) {
		want = min_size(n, PAGE_HDR_LEN);
		memcpy(p, d, want);
		d += want;
		n -= want;
		want = min_size(le32_to_cpu(p->count), VEIL_EXTENTS_PER_PAGE) *
		       sizeof(p->ext[0]);
		want = min_size(n, want);
		memcpy(p->ext, d, want);
		d += want;
		n -= want;
	}
}

static void fuzz_publish(const uint8_t *d, size_t n)
{
	u32 abi = d[1];
	unsigned int max_mib = d[2] + 1U, i;
	u64 count = get_le16(d + 4) % 4096, gpa = get_le64(d + 8), nr_pages = 0, k;
	struct veil_host_record *out;
	struct chain_vm vm = { .nr_slots = d[3] % (CHAIN_MAX_SLOTS + 1) };
	struct ref_result ref = { 0 };
	long r;

	for (i = 0; i < CHAIN_MAX_SLOTS; i++) {
		vm.slot[i].base = get_le64(d + 16 + 16 * i);
		vm.slot[i].npages = get_le32(d + 24 + 16 * i);
	}
	load_pages(&vm, d + HDR_LEN, n - HDR_LEN);

	/* As veil_host_hc_publish(): an empty set reads no page. */
	if (!count) {
		chain_free(&vm);
		return;
	}
	/* Exactly the room the module allocates, so that ASan sees overruns. */
	out = malloc(count * sizeof(*out));
	ref.rec = malloc(count * sizeof(*ref.rec));
	if (!out || !ref.rec)
		abort();

	chain_log_reset();
	r = chain_publish(&vm, gpa, count, abi, max_mib, out, &nr_pages);
	ref_publish(&vm, gpa, count, abi, max_mib, &ref);

	check(r == 0 || r == -KVM_EINVAL || r == -KVM_EFAULT || r == -KVM_E2BIG,
	      "PUBLISH returned %ld", r);
	check(r == ref.r, "PUBLISH returned %ld, the ABI's rules say %ld", r, ref.r);
	check(chain_log_lines == (r ? 1U : 0U), "PUBLISH returned %ld after %lu log lines",
	      r, chain_log_lines);
	if (!r) {
		check(nr_pages == ref.nr_pages, "PUBLISH counted %llu frames, the records %llu",
		      (unsigned long long)nr_pages, (unsigned long long)ref.nr_pages);
		check(nr_pages <= (u64)max_mib << 8, "%llu frames accepted over a cap of %u MiB",
		      (unsigned long long)nr_pages, max_mib);
		for (k = 0; k < count; k++) {
			const struct veil_host_record *o = &out[k], *e = &ref.rec[k];

			check(o->gfn == e->gfn && o->npages == e->npages && o->off == e->off &&
			      o->len == e->len, "record %llu accepted as gfn 0x%llx +%llu [%u, +%u)",
			      (unsigned long long)k, (unsigned long long)o->gfn,
			      (unsigned long long)o->npages, o->off, o->len);
			check(o->npages && (!o->len || (o->npages == 1 && o->off + o->len <= 4096)),
			      "record %llu accepted with %llu frames, %u bytes at %u",
			      (unsigned long long)k, (unsigned long long)o->npages, o->len,
			      o->off);
			check(!k || record_start(o) >= record_end(&out[k - 1]),
			      "record %llu accepted overlapping or before the one before it",
			      (unsigned long long)k);
			check(chain_ram(&vm, o->gfn, o->npages),
			      "record %llu accepted outside guest RAM", (unsigned long long)k);
		}
	}
	free(ref.rec);
	free(out);
	chain_free(&vm);
}

static struct veil_host_log vm7 = { .id = 7 };

static void fuzz_register(const uint8_t *d)
{
	unsigned int max_abi = d[1];
	bool readable = d[2] & 1;
	unsigned long gpa = get_le64(d + 8), abi = get_le64(d + 16);
	__le32 head[2];
	long r, want;

	memcpy(head, d + 24, sizeof(head));
	want = abi < 1 || abi > max_abi || gpa % 4096 ? -KVM_EINVAL :
	       !readable ? -KVM_EFAULT :
	       get_le32(d + 24) != VEIL_CONTROL_MAGIC || get_le32(d + 28) != abi ?
	       -KVM_EINVAL : 0;

	/* veil_host_hc_register(), with @readable for the memslot and the read. */
	chain_log_reset();
	r = veil_host_validate_register(&vm7, gpa, abi, max_abi);
	if (!r && !readable) {
		veil_host_validate_log("veil_host: vm 7: REGISTER: control page 0x%lx is not guest RAM\n",
				       gpa);
		r = -KVM_EFAULT;
	}
	if (!r)
		r = veil_host_validate_control(&vm7, gpa, abi, head);
	check(r == want, "REGISTER of 0x%lx, ABI %lu (host: 1..%u) returned %ld, not %ld",
	      gpa, abi, max_abi, r, want);
	check(chain_log_lines == (r ? 1U : 0U), "REGISTER returned %ld after %lu log lines",
	      r, chain_log_lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR_LEN)
		return 0;
	if (data[0] & 1)
		fuzz_register(data);
	else
		fuzz_publish(data, size);
	return 0;
}
