// SPDX-License-Identifier: GPL-2.0
/* The host's side of a PUBLISH, for the fuzz targets: see host_chain.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_chain.h"

#define CHAIN_VM_ID	7
#define CHAIN_PREFIX	"veil_host: vm 7: "

unsigned long chain_log_lines;

void chain_log_reset(void)
{
	chain_log_lines = 0;
}

/*
 * The module's pr_warn_ratelimited(): one whole line, prefixed with the
 * module and the VM.  FUZZ_LOG=1 in the environment prints them.
 */
void veil_host_validate_log(const char *fmt, ...)
{
	static int verbose = -1;
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line) || line[n - 1] != '\n' ||
	    strncmp(line, CHAIN_PREFIX, strlen(CHAIN_PREFIX))) {
		fprintf(stderr, "host_chain: malformed log line: %s\n", line);
		abort();
	}
	if (verbose < 0)
		verbose = getenv("FUZZ_LOG") != NULL;
	if (verbose)
		fputs(line, stderr);
	chain_log_lines++;
}

bool chain_ram(const struct chain_vm *vm, u64 gfn, u64 npages)
{
	u64 end = gfn + npages;
	unsigned int i;

	while (gfn < end) {
		for (i = 0; i < vm->nr_slots; i++) {
			const struct chain_slot *s = &vm->slot[i];

			if (s->npages && gfn >= s->base && gfn - s->base < s->npages)
				break;
		}
		if (i == vm->nr_slots)
			return false;
		gfn = vm->slot[i].base + vm->slot[i].npages;
	}
	return true;
}

static bool chain_is_ram(void *ctx, u64 gfn, u64 npages)
{
	struct chain_vm *vm = ctx;

	/* What veil_host_validate.h promises the callback. */
	if (!npages || gfn + npages < gfn || gfn + npages > (1ULL << 40)) {
		fprintf(stderr, "host_chain: is_ram(0x%llx, %llu) outside its contract\n",
			(unsigned long long)gfn, (unsigned long long)npages);
		abort();
	}
	vm->ram_calls++;
	return chain_ram(vm, gfn, npages);
}

const struct veil_extent_page *chain_page(const struct chain_vm *vm, u64 gpa)
{
	u64 i = gpa >> PAGE_SHIFT;

	if (gpa & (PAGE_SIZE - 1) || i < 1 || i > vm->nr_pages)
		return NULL;
	return vm->page[i - 1];
}

struct veil_extent_page *chain_add_page(struct chain_vm *vm)
{
	struct veil_extent_page *p;

	if (vm->nr_pages == CHAIN_MAX_PAGES)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	vm->page[vm->nr_pages++] = p;
	return p;
}

void chain_free(struct chain_vm *vm)
{
	while (vm->nr_pages)
		free(vm->page[--vm->nr_pages]);
}

static struct veil_host_log chain_log_vm = { .id = CHAIN_VM_ID };

/* veil_host_read_chain(), with chain_page() for kvm_read_guest(). */
long chain_publish(struct chain_vm *vm, u64 gpa, u64 count, u32 guest_abi,
		   unsigned int max_mib, struct veil_host_record *out,
		   u64 *nr_pages)
{
	struct veil_host_validate v = {
		.log = &chain_log_vm,
		.guest_abi = guest_abi,
		.count = count,
		.max_mib = max_mib,
		.is_ram = chain_is_ram,
		.ctx = vm,
	};
	const struct veil_extent_page *page;
	u32 i, n;
	long r;

	while (v.idx < count) {
		r = veil_host_validate_link(&v, gpa);
		if (r)
			return r;
		page = chain_page(vm, gpa);
		if (!page) {
			veil_host_validate_log(CHAIN_PREFIX "PUBLISH: extent page 0x%llx is not guest RAM\n",
					       (unsigned long long)gpa);
			return -KVM_EFAULT;
		}
		r = veil_host_validate_page(&v, gpa, page, &n);
		if (r)
			return r;
		for (i = 0; i < n; i++) {
			r = veil_host_validate_extent(&v, &page->ext[i], &out[v.idx]);
			if (r)
				return r;
		}
		gpa = le64_to_cpu(page->next);
	}
	r = veil_host_validate_end(&v, gpa);
	if (r)
		return r;
	*nr_pages = v.nr_pages;
	return 0;
}

#define PUBLISH_MAX_MIB	4096	/* veil_host's default max_mib */

long publish_records(const struct veil_extent *rec, size_t n, __u32 guest_abi,
		     __u64 ram_gfn, __u64 ram_frames, __u64 *nr_pages)
{
	struct chain_vm vm = {
		.slot = { { .base = ram_gfn, .npages = ram_frames } },
		.nr_slots = 1,
	};
	struct veil_host_record *out;
	struct veil_extent_page *p;
	size_t i, k = 0;
	long r;

	if (n > (size_t)CHAIN_MAX_PAGES * VEIL_EXTENTS_PER_PAGE)
		return PUBLISH_TOO_MANY;
	while (k < n) {
		p = chain_add_page(&vm);
		for (i = 0; i < VEIL_EXTENTS_PER_PAGE && k < n; i++, k++)
			p->ext[i] = rec[k];
		p->count = htole32((u32)i);
	}
	/* Page i links to page i + 1, at GPA (i + 2) << PAGE_SHIFT. */
	for (i = 0; i + 1 < vm.nr_pages; i++)
		vm.page[i]->next = htole64((u64)(i + 2) << PAGE_SHIFT);

	out = malloc((n ? n : 1) * sizeof(*out));
	if (!out)
		abort();
	chain_log_reset();
	r = n ? chain_publish(&vm, 1 << PAGE_SHIFT, n, guest_abi, PUBLISH_MAX_MIB, out,
			      nr_pages) : 0;
	if (!n)
		*nr_pages = 0;
	for (k = 0; !r && k < n; k++) {
		u64 np = le64toh(rec[k].npages);
		bool part = np & VEIL_EXTENT_PARTIAL;

		if (out[k].gfn != le64toh(rec[k].gfn) ||
		    out[k].npages != (part ? 1 : np) ||
		    out[k].off != (part ? VEIL_EXTENT_OFF(np) : 0) ||
		    out[k].len != (part ? VEIL_EXTENT_LEN(np) : 0)) {
			fprintf(stderr, "host_chain: record %zu (0x%llx, 0x%llx) accepted as 0x%llx +%llu [%u, +%u)\n",
				k, (unsigned long long)le64toh(rec[k].gfn),
				(unsigned long long)np, (unsigned long long)out[k].gfn,
				(unsigned long long)out[k].npages, out[k].off, out[k].len);
			abort();
		}
	}
	free(out);
	chain_free(&vm);
	return r;
}
