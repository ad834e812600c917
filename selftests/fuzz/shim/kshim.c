// SPDX-License-Identifier: GPL-2.0
/* The state behind kshim.h. */
#include <stdio.h>

#include "kshim.h"

unsigned long kshim_warnings;
unsigned long kshim_allocs;
unsigned long kshim_alloc_fail_at;
bool kshim_atomic;
u64 kshim_pfn_base;

void *kvmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	kshim_allocs++;
	if (kshim_atomic && (gfp & __GFP_DIRECT_RECLAIM)) {
		fprintf(stderr, "kshim: allocation that may sleep (gfp 0x%x) under RCU\n", gfp);
		abort();
	}
	if (size && n > SIZE_MAX / size)
		return NULL;
	if (kshim_allocs == kshim_alloc_fail_at)
		return NULL;
	return malloc(n * size ? n * size : 1);
}

void kvfree(const void *p)
{
	free((void *)p);
}
