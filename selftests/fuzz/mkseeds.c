// SPDX-License-Identifier: GPL-2.0
/*
 * mkseeds DIR: writes the seed inputs of every fuzz target, a handful each,
 * into DIR/<target>/ (what `make seeds` keeps in corpus/).  Each seed
 * reaches one path through the code and is named after it; the input
 * formats are described at the top of each fuzz_<target>.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <linux/veil.h>

#include "fuzz.h"
#include "vcrypt_hdr.h"

struct seed {
	uint8_t b[8192];
	size_t n;
};

static const char *dir;

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->n + n > sizeof(s->b)) {
		fprintf(stderr, "mkseeds: seed too long\n");
		exit(1);
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put8(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void put16(struct seed *s, uint16_t v)
{
	put8(s, (uint8_t)v);
	put8(s, (uint8_t)(v >> 8));
}

static void put32(struct seed *s, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	put(s, b, 4);
}

static void put64(struct seed *s, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	put(s, b, 8);
}

static void save(const char *target, const char *name, struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f)) {
		perror(path);
		exit(1);
	}
	memset(s, 0, sizeof(*s));
}

/* vcrypt_hdr: the fields of struct vcrypt_hdr, in the order the target reads. */
static void hdr_fields(struct seed *s, const struct vcrypt_hdr *h, unsigned int slot)
{
	const struct vcrypt_keyslot *k = &h->keyslots[slot];

	put64(s, h->seq);
	put64(s, h->data_offset);
	put64(s, h->data_size);
	put64(s, h->incompat);
	put64(s, h->compat);
	put32(s, h->version);
	put32(s, h->flags);
	put32(s, h->cipher_id);
	put32(s, h->key_size);
	put32(s, h->sector_size);
	put(s, h->uuid, sizeof(h->uuid));
	put(s, h->key_digest, sizeof(h->key_digest));
	put(s, h->mac, sizeof(h->mac));
	put8(s, (uint8_t)slot);
	put32(s, k->state);
	put32(s, k->kind);
	put32(s, k->kdf);
	put32(s, k->kdf_iterations);
	put32(s, k->kdf_memory);
	put32(s, k->kdf_parallel);
	put32(s, k->area_cipher);
	put32(s, k->stripes);
	put(s, k->salt, sizeof(k->salt));
	put(s, k->nonce, sizeof(k->nonce));
	put(s, k->tag, sizeof(k->tag));
}

static void seeds_vcrypt_hdr(void)
{
	static const struct vcrypt_hdr enc = {
		.version = VEILCRYPT_VERSION, .seq = 3,
		.flags = VEILCRYPT_F_ENCRYPTED,
		.cipher_id = VEILCRYPT_CIPHER_AES_XTS_PLAIN64, .key_size = 64,
		.sector_size = 4096, .data_offset = 4 << 20, .data_size = 1 << 30,
		.compat = 2,
		.uuid = { 0x5e, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 },
		.key_digest = { 0xaa, 0x55, 0x0f },
		.mac = { 0x3c, [31] = 0xc3 },
		.keyslots[5] = {
			.state = VEILCRYPT_SLOT_ACTIVE, .kind = VEILCRYPT_SLOT_PASSPHRASE,
			.kdf = VEILCRYPT_KDF_ARGON2ID, .kdf_iterations = 4,
			.kdf_memory = 1 << 20, .kdf_parallel = 4,
			.area_cipher = VEILCRYPT_AREA_AES256_GCM,
			.stripes = VEILCRYPT_AF_STRIPES,
			.salt = { 1, 2, 3 }, .nonce = { 4, 5 }, .tag = { 6 },
		},
	};
	static const struct vcrypt_hdr plain = {
		.version = VEILCRYPT_VERSION, .seq = 1, .sector_size = 512,
		.data_offset = VEILCRYPT_MIN_DATA_OFFSET, .data_size = 512,
		.uuid = { [15] = 1 },
	};
	uint8_t hdr[VEILCRYPT_HDR_SIZE];
	struct seed s = { 0 };

	put8(&s, 2);
	hdr_fields(&s, &enc, 5);
	save("vcrypt_hdr", "fields_encrypted", &s);

	put8(&s, 2);
	hdr_fields(&s, &plain, 0);
	save("vcrypt_hdr", "fields_plain", &s);

	/* A header whose data ends just below 2^55 bytes. */
	put8(&s, 2);
	hdr_fields(&s, &(struct vcrypt_hdr){ .version = VEILCRYPT_VERSION, .seq = ~0ULL,
		   .sector_size = 4096, .data_offset = VEILCRYPT_MIN_DATA_OFFSET,
		   .data_size = (1ULL << 55) - VEILCRYPT_MIN_DATA_OFFSET - 4096,
		   .uuid = { 0xff } }, 0);
	save("vcrypt_hdr", "fields_data_end", &s);

	/* The fields, then one edit in the reserved bytes, checksum again. */
	put8(&s, 3);
	hdr_fields(&s, &enc, 5);
	put16(&s, 2000);
	put8(&s, 1);
	save("vcrypt_hdr", "edited_reserved", &s);

	/* An edit in a keyslot's reserved bytes. */
	put8(&s, 3);
	hdr_fields(&s, &enc, 5);
	put16(&s, 128 + 5 * 128 + 100);
	put8(&s, 1);
	save("vcrypt_hdr", "edited_keyslot", &s);

	/* Raw bytes, checksum computed again: everything up to the reserved bytes. */
	vcrypt_hdr_encode(&enc, hdr);
	put8(&s, 1);
	put(&s, hdr, offsetof(struct veilcrypt_header, reserved));
	save("vcrypt_hdr", "raw_resealed", &s);

	/* Raw bytes as written, checksum included. */
	vcrypt_hdr_encode(&plain, hdr);
	put8(&s, 0);
	put(&s, hdr, sizeof(hdr));
	save("vcrypt_hdr", "raw_plain", &s);
}

/* extents: one operation byte, then its arguments. */
#define OP(op, cat, flags)	((uint8_t)((op) | (cat) << 3 | (flags) << 6))
enum { ADD, BYTES, KBYTES, PBYTES, KRANGE, RESERVE, RCU, PARAM };

static void add(struct seed *s, int cat, uint8_t pfn, uint8_t n)
{
	put8(s, OP(ADD, cat, 0));
	put8(s, pfn);
	put8(s, n);
}

static void bytes(struct seed *s, int cat, uint8_t pfn, uint16_t off, uint16_t len)
{
	put8(s, OP(BYTES, cat, 0));
	put8(s, pfn);
	put16(s, off);
	put16(s, len);
}

/* region: 0 direct map, 1 vmalloc, 2 no struct page */
static void kbytes(struct seed *s, int op, int cat, int region, uint8_t page,
		   uint16_t off, uint16_t len)
{
	put8(s, OP(op, cat, region));
	put8(s, page);
	put16(s, off);
	put16(s, len);
}

static void seeds_extents(void)
{
	struct seed s = { 0 };

	/* Runs that touch, overlap, and byte ranges that make a frame whole. */
	put8(&s, 0);
	put8(&s, 0);
	add(&s, 0, 5, 3);
	add(&s, 0, 8, 2);
	add(&s, 0, 6, 1);
	add(&s, 1, 20, 1);
	bytes(&s, 1, 30, 0, 100);
	bytes(&s, 1, 30, 100, 3996);
	bytes(&s, 1, 31, 10, 20);
	bytes(&s, 1, 31, 30, 5);
	bytes(&s, 2, 21, 4000, 96);
	add(&s, 2, 22, 1);
	save("extents", "merge", &s);

	/* Kernel objects across pages, near the top of guest memory. */
	put8(&s, 2 | 4);
	put8(&s, 0);
	kbytes(&s, KBYTES, 3, 0, 3, 4000, 300);
	kbytes(&s, KBYTES, 3, 1, 5, 0, 9000);
	kbytes(&s, KBYTES, 4, 2, 1, 0, 100);
	kbytes(&s, KRANGE, 5, 0, 10, 100, 5000);
	kbytes(&s, PBYTES, 3, 0, 40, 5000, 7000);
	save("extents", "kernel_objects", &s);

	/* An RCU section over the stack and FPU sets, after a reservation. */
	put8(&s, 1);
	put8(&s, 0);
	put8(&s, OP(RESERVE, 5, 0));
	put8(&s, 40);
	put8(&s, OP(RCU, 0, 0));
	put8(&s, 2);
	kbytes(&s, KBYTES, 5, 0, 12, 128, 168);
	kbytes(&s, KBYTES, 6, 1, 7, 512, 3000);
	put8(&s, OP(RCU, 0, 0));
	add(&s, 0, 1, 4);
	save("extents", "rcu", &s);

	/* A host that speaks ABI 1: partial runs left out of the PUBLISH. */
	put8(&s, 8);
	put8(&s, 0);
	add(&s, 0, 2, 2);
	bytes(&s, 3, 2, 10, 10);
	bytes(&s, 3, 9, 10, 10);
	add(&s, 7, 40, 24);
	save("extents", "abi1", &s);

	/* The second allocation fails: the second category's. */
	put8(&s, 0);
	put8(&s, 2);
	add(&s, 0, 1, 1);
	add(&s, 1, 3, 1);
	add(&s, 2, 5, 1);
	save("extents", "alloc_fails", &s);

	/*
	 * The fourth fails: the merged set's first grow, which the runs of
	 * the next category try again.
	 */
	put8(&s, 0);
	put8(&s, 4);
	add(&s, 0, 1, 1);
	add(&s, 1, 3, 1);
	add(&s, 2, 5, 1);
	save("extents", "alloc_fails_merged", &s);

	/* A byte range that crosses its frame: a WARN, and nothing added. */
	put8(&s, 0);
	put8(&s, 0);
	bytes(&s, 0, 7, 4000, 200);
	bytes(&s, 0, 7, 0, 0);
	put8(&s, OP(PARAM, 0, 0));
	save("extents", "warn", &s);
}

/* host_validate: the 80-byte header, then extent pages. */
static void publish_hdr(struct seed *s, uint8_t abi, uint8_t mib, uint16_t count,
			uint64_t gpa, uint64_t ram, uint32_t frames)
{
	int i;

	put8(s, 0);
	put8(s, abi);
	put8(s, mib - 1);
	put8(s, 1);
	put16(s, count);
	put16(s, 0);
	put64(s, gpa);
	for (i = 0; i < 4; i++) {
		put64(s, i ? 0 : ram);
		put32(s, i ? 0 : frames);
		put32(s, 0);
	}
}

static void page_hdr(struct seed *s, uint64_t next, uint32_t count)
{
	put64(s, next);
	put32(s, count);
	put32(s, 0);
}

static void rec(struct seed *s, uint64_t gfn, uint64_t npages)
{
	put64(s, gfn);
	put64(s, npages);
}

static void register_seed(struct seed *s, uint8_t max_abi, uint64_t gpa, uint64_t abi,
			  uint32_t magic, uint32_t version)
{
	put8(s, 1);
	put8(s, max_abi);
	put8(s, 1);
	put(s, (uint8_t[5]){ 0 }, 5);
	put64(s, gpa);
	put64(s, abi);
	put32(s, magic);
	put32(s, version);
	put(s, (uint8_t[48]){ 0 }, 48);
}

static void seeds_host_validate(void)
{
	struct seed s = { 0 };

	publish_hdr(&s, 2, 1, 4, 0x1000, 0x100, 0x1000);
	page_hdr(&s, 0, 4);
	rec(&s, 0x100, 2);
	rec(&s, 0x102, VEIL_EXTENT_PART(0, 100));
	rec(&s, 0x102, VEIL_EXTENT_PART(200, 10));
	rec(&s, 0x200, 16);
	save("host_validate", "one_page", &s);

	publish_hdr(&s, 2, 64, 5, 0x1000, 0x100, 0x1000);
	page_hdr(&s, 0x2000, 3);
	rec(&s, 0x100, 1);
	rec(&s, 0x101, VEIL_EXTENT_PART(4000, 96));
	rec(&s, 0x102, 1);
	page_hdr(&s, 0, 2);
	rec(&s, 0x103, VEIL_EXTENT_PART(0, 1));
	rec(&s, 0x10ff, 1);
	save("host_validate", "two_pages", &s);

	/* A page that links to itself: longer than announced. */
	publish_hdr(&s, 2, 1, 1, 0x1000, 0x100, 0x10);
	page_hdr(&s, 0x1000, 1);
	rec(&s, 0x100, 1);
	save("host_validate", "loop", &s);

	publish_hdr(&s, 1, 1, 2, 0x1000, 0x100, 0x10);
	page_hdr(&s, 0, 2);
	rec(&s, 0x100, 1);
	rec(&s, 0x101, VEIL_EXTENT_PART(8, 8));
	save("host_validate", "abi1_partial", &s);

	/* 300 frames over a cap of 1 MiB (256 frames). */
	publish_hdr(&s, 2, 1, 1, 0x1000, 0x100, 0x1000);
	page_hdr(&s, 0, 1);
	rec(&s, 0x100, 300);
	save("host_validate", "over_cap", &s);

	/* Near the top of guest physical memory, past its RAM. */
	publish_hdr(&s, 2, 1, 2, 0x1000, (1ULL << 40) - 8, 8);
	page_hdr(&s, 0, 2);
	rec(&s, (1ULL << 40) - 8, 4);
	rec(&s, (1ULL << 40) - 4, 5);
	save("host_validate", "top_of_memory", &s);

	register_seed(&s, 2, 0x5000, 2, VEIL_CONTROL_MAGIC, 2);
	save("host_validate", "register", &s);

	register_seed(&s, 1, 0x5000, 2, VEIL_CONTROL_MAGIC, 2);
	save("host_validate", "register_abi_too_new", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	seeds_vcrypt_hdr();
	seeds_extents();
	seeds_host_validate();
	return 0;
}
