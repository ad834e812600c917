/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A stand-in for the guest memory and the loop of veil_host_read_chain()
 * (host-kmod/veil_host_hc.c), around the checks of
 * host-kmod/veil_host_validate.c: what a PUBLISH of a chain of extent
 * pages gets from the host.
 */
#ifndef _FUZZ_HOST_CHAIN_H
#define _FUZZ_HOST_CHAIN_H

#include "veil_host_validate.h"
#include "publish.h"

#define CHAIN_MAX_PAGES		64
#define CHAIN_MAX_SLOTS		4

/* Guest RAM: [base, base + npages) in frames. */
struct chain_slot {
	u64 base;
	u64 npages;
};

struct chain_vm {
	/* extent page i is at GPA (i + 1) << PAGE_SHIFT */
	struct veil_extent_page *page[CHAIN_MAX_PAGES];
	unsigned int nr_pages;
	struct chain_slot slot[CHAIN_MAX_SLOTS];
	unsigned int nr_slots;
	unsigned long ram_calls;	/* calls of the is_ram callback */
};

/* Lines the checks logged since the last chain_log_reset(). */
extern unsigned long chain_log_lines;
void chain_log_reset(void);

/* Whether [gfn, gfn + npages) lies in the slots, as the memslot walk has it. */
bool chain_ram(const struct chain_vm *vm, u64 gfn, u64 npages);
/* The extent page at @gpa, or NULL where the chain leaves guest memory. */
const struct veil_extent_page *chain_page(const struct chain_vm *vm, u64 gpa);
/* Allocates page i zeroed (pages 0 .. i - 1 first). */
struct veil_extent_page *chain_add_page(struct chain_vm *vm);
void chain_free(struct chain_vm *vm);

/*
 * The PUBLISH of @count records from the chain at @gpa, as the host
 * module checks it; @out has room for @count records.
 */
long chain_publish(struct chain_vm *vm, u64 gpa, u64 count, u32 guest_abi,
		   unsigned int max_mib, struct veil_host_record *out,
		   u64 *nr_pages);

#endif
