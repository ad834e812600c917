// SPDX-License-Identifier: GPL-2.0
/*
 * SANITIZE + RESTORE of 64 MiB, 512 MiB and 2 GiB of excluded frames,
 * against a plain memcpy of the same bytes in the same VM: copy out and
 * zero (what SANITIZE does), copy back (what RESTORE does).  Prints one
 * row per size: times, the ratio memcpy/veil (goal >= 0.5), and the host
 * memory SANITIZE took per excluded byte.  Measures; never fails on speed.
 */
#include <time.h>

#include "vmm.h"

#define BIG_GPA		(1ULL << 32)
#define EXTENT_PAGES	512		/* 2 MiB extents with 4 KiB holes */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long mem_available_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int bench(uint64_t bytes)
{
	uint64_t pages = bytes >> 12, n_ext, i, got = 0;
	struct kvm_userspace_memory_region region;
	double t0, t_copy, t_san, t_res;
	long before_kib, after_kib;
	struct veil_extent *ext;
	uint8_t *big, *copy;
	struct vmm v;
	int veil;

	/* Slot 1: the excluded memory, with a page between extents. */
	uint64_t slot_pages = pages + pages / EXTENT_PAGES + 1;

	if (vmm_create(&v, 0))
		return -1;
	big = mmap(NULL, slot_pages << 12, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big == MAP_FAILED)
		return -1;
	for (i = 0; i < slot_pages << 12; i += 4096)
		*(uint64_t *)(big + i) = i | 1;
	region = (struct kvm_userspace_memory_region) {
		.slot = 1, .guest_phys_addr = BIG_GPA,
		.memory_size = slot_pages << 12, .userspace_addr = (unsigned long)big,
	};
	if (ioctl(v.vm, KVM_SET_USER_MEMORY_REGION, &region))
		return -1;

	n_ext = (pages + EXTENT_PAGES - 1) / EXTENT_PAGES;
	ext = calloc(n_ext, sizeof(*ext));
	for (i = 0; i < n_ext; i++) {
		ext[i].gfn = (BIG_GPA >> 12) + i * (EXTENT_PAGES + 1);
		ext[i].npages = pages - got < EXTENT_PAGES ? pages - got : EXTENT_PAGES;
		got += ext[i].npages;
	}
	/* Extent pages from VMM_EXTENT_GPA: 255 records each, within 1 MiB. */
	if (vmm_register(&v) || vmm_publish(&v, ext, n_ext, 1)) {
		fprintf(stderr, "bench: REGISTER/PUBLISH of %llu extents refused\n",
			(unsigned long long)n_ext);
		return -1;
	}

	/* memcpy baseline over the same frames, extent by extent. */
	copy = malloc(bytes);
	if (!copy)
		return -1;
	memset(copy, 0, bytes);
	t0 = now();
	for (i = 0, got = 0; i < n_ext; i++) {
		uint8_t *p = big + ((ext[i].gfn - (BIG_GPA >> 12)) << 12);
		size_t len = ext[i].npages << 12;

		memcpy(copy + got, p, len);
		memset(p, 0, len);
		got += len;
	}
	for (i = 0, got = 0; i < n_ext; i++) {
		uint8_t *p = big + ((ext[i].gfn - (BIG_GPA >> 12)) << 12);
		size_t len = ext[i].npages << 12;

		memcpy(p, copy + got, len);
		got += len;
	}
	t_copy = now() - t0;
	free(copy);

	veil = veil_attach(&v);
	if (veil < 0)
		return -1;
	before_kib = mem_available_kib();
	t0 = now();
	if (veil_sanitize(veil, VEIL_IOC_SANITIZE, NULL))
		return -1;
	t_san = now() - t0;
	after_kib = mem_available_kib();
	t0 = now();
	if (veil_sanitize(veil, VEIL_IOC_RESTORE, NULL))
		return -1;
	t_res = now() - t0;

	printf("# %8llu MiB  %8.3f s  %8.3f s  %8.3f s  %6.2f  %6.3f\n",
	       (unsigned long long)(bytes >> 20), t_copy, t_san, t_res,
	       t_copy / (t_san + t_res),
	       (double)(before_kib - after_kib) * 1024 / bytes);
	close(veil);
	munmap(big, slot_pages << 12);
	free(ext);
	vmm_destroy(&v);
	return 0;
}

int main(void)
{
	static const uint64_t sizes_mib[] = { 64, 512, 2048 };
	size_t i;

	if (veil_module_load()) {
		printf("bench: cannot load veil_host\n");
		return 4;
	}
	/* TAP, so that the runner knows it completed; the table in comments. */
	printf("TAP version 13\n1..3\n");
	printf("#  excluded     memcpy   SANITIZE    RESTORE  ratio  host B/B\n");
	for (i = 0; i < 3; i++) {
		if (bench(sizes_mib[i] << 20)) {
			printf("not ok %zu sanitize_restore_%llu_mib # %s\n", i + 1,
			       (unsigned long long)sizes_mib[i], strerror(errno));
			return 1;
		}
		printf("ok %zu sanitize_restore_%llu_mib\n", i + 1,
		       (unsigned long long)sizes_mib[i]);
	}
	return 0;
}
