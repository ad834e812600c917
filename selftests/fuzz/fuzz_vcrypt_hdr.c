// SPDX-License-Identifier: GPL-2.0
/*
 * vcrypt_hdr: the disk image header codec (lib/vcrypt/vcrypt_hdr.c) that
 * dm-veilcrypt.ko and veil-disk share.  Every header is also judged by the
 * rules of uapi/linux/veilcrypt.h, read here byte by byte at the offsets
 * the ABI fixes: a header decodes iff it breaks none of them, and a
 * refusal names a field that is indeed wrong.  A header that decodes
 * encodes back to the very same 4096 bytes, and decodes again to the same
 * fields.
 *
 * Byte 0 of the input says how the rest becomes a header:
 *   bit 1 clear: the header's bytes as they are (zero past the input);
 *   bit 1 set:   its fields, in struct vcrypt_hdr order (u64 seq,
 *                data_offset, data_size, incompat, compat; u32 version,
 *                flags, cipher_id, key_size, sector_size; uuid;
 *                key_digest; mac), then a slot number (u8, modulo 8) and
 *                that keyslot's fields in struct vcrypt_keyslot order
 *                (u32 state, kind, kdf, kdf_iterations, kdf_memory,
 *                kdf_parallel, area_cipher, stripes; salt; nonce; tag),
 *                encoded, then { u16 offset, u8 value } byte edits;
 *   bit 0 set:   the checksum is computed again last, so that the field
 *                checks behind it are reached.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "vcrypt_hdr.h"

#define HDR_LEN		VEILCRYPT_HDR_SIZE
#define FIELDS_LEN	140
#define SLOT_LEN	92

/* The layout uapi/linux/veilcrypt.h fixes. */
#define OFF_VERSION	8
#define OFF_HDR_SIZE	12
#define OFF_SEQ		16
#define OFF_FLAGS	24
#define OFF_CIPHER	28
#define OFF_KEY_SIZE	32
#define OFF_SECTOR	36
#define OFF_DATA_OFF	40
#define OFF_DATA_SIZE	48
#define OFF_UUID	56
#define OFF_INCOMPAT	72
#define OFF_COMPAT	80
#define OFF_DIGEST	88
#define OFF_RESERVED0	120
#define OFF_KEYSLOTS	128
#define OFF_RESERVED	1152
#define OFF_MAC		4060
#define OFF_CHECKSUM	4092
#define SLOT_SIZE	128
#define MIN_DATA_OFF	(4096 + 8 * 262144 + 4096)

static_assert(offsetof(struct veilcrypt_header, version) == OFF_VERSION, "layout");
static_assert(offsetof(struct veilcrypt_header, hdr_size) == OFF_HDR_SIZE, "layout");
static_assert(offsetof(struct veilcrypt_header, seq) == OFF_SEQ, "layout");
static_assert(offsetof(struct veilcrypt_header, flags) == OFF_FLAGS, "layout");
static_assert(offsetof(struct veilcrypt_header, cipher_id) == OFF_CIPHER, "layout");
static_assert(offsetof(struct veilcrypt_header, key_size) == OFF_KEY_SIZE, "layout");
static_assert(offsetof(struct veilcrypt_header, sector_size) == OFF_SECTOR, "layout");
static_assert(offsetof(struct veilcrypt_header, data_offset) == OFF_DATA_OFF, "layout");
static_assert(offsetof(struct veilcrypt_header, data_size) == OFF_DATA_SIZE, "layout");
static_assert(offsetof(struct veilcrypt_header, uuid) == OFF_UUID, "layout");
static_assert(offsetof(struct veilcrypt_header, incompat) == OFF_INCOMPAT, "layout");
static_assert(offsetof(struct veilcrypt_header, compat) == OFF_COMPAT, "layout");
static_assert(offsetof(struct veilcrypt_header, key_digest) == OFF_DIGEST, "layout");
static_assert(offsetof(struct veilcrypt_header, reserved0) == OFF_RESERVED0, "layout");
static_assert(offsetof(struct veilcrypt_header, keyslots) == OFF_KEYSLOTS, "layout");
static_assert(offsetof(struct veilcrypt_header, reserved) == OFF_RESERVED, "layout");
static_assert(offsetof(struct veilcrypt_header, mac) == OFF_MAC, "layout");
static_assert(offsetof(struct veilcrypt_header, checksum) == OFF_CHECKSUM, "layout");
static_assert(sizeof(struct veilcrypt_keyslot) == SLOT_SIZE, "layout");
static_assert(VEILCRYPT_MIN_DATA_OFFSET == MIN_DATA_OFF, "layout");

typedef unsigned __int128 u128;

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

#define BIT_ERR(e)	(1U << (e))

/* The keyslot at @k breaks a rule: inactive means all zero. */
static bool ref_slot_bad(const uint8_t *k, bool enc)
{
	uint32_t state = get_le32(k), par = get_le32(k + 20), mem = get_le32(k + 16);
	uint32_t iter = get_le32(k + 12);

	if (state == 0)
		return !all_zero(k, SLOT_SIZE);
	if (state != 1 || !enc)
		return true;
	if (get_le32(k + 4) < 1 || get_le32(k + 4) > 3 || get_le32(k + 8) != 1)
		return true;
	if (iter < 1 || iter > 1048576 || par < 1 || par > 16)
		return true;
	if ((uint64_t)mem < 8ULL * par || mem > 4194304)
		return true;
	if (get_le32(k + 24) != 1 || get_le32(k + 28) != 4000)
		return true;
	return all_zero(k + 32, 32) || all_zero(k + 64, 12) || !all_zero(k + 92, 36);
}

/* Every rule of the ABI the header breaks, as a set of VCRYPT_HDR_E*. */
static unsigned int ref_violations(const uint8_t *b)
{
	uint32_t version = get_le32(b + OFF_VERSION), flags = get_le32(b + OFF_FLAGS);
	uint32_t cipher = get_le32(b + OFF_CIPHER), key = get_le32(b + OFF_KEY_SIZE);
	uint32_t sector = get_le32(b + OFF_SECTOR);
	uint64_t off = get_le64(b + OFF_DATA_OFF), size = get_le64(b + OFF_DATA_SIZE);
	bool enc = flags & VEILCRYPT_F_ENCRYPTED, sector_ok = sector == 512 || sector == 4096;
	unsigned int v = 0, i;

	if (memcmp(b, "VEILCRYP", 8))
		v |= BIT_ERR(VCRYPT_HDR_EMAGIC);
	if (get_le32(b + OFF_CHECKSUM) != (uint32_t)crc32(0, b, OFF_CHECKSUM))
		v |= BIT_ERR(VCRYPT_HDR_ECHECKSUM);
	if (version != 2)
		v |= BIT_ERR(VCRYPT_HDR_EVERSION);
	if (get_le32(b + OFF_HDR_SIZE) != 4096)
		v |= BIT_ERR(VCRYPT_HDR_EHDR_SIZE);
	if (get_le64(b + OFF_INCOMPAT))
		v |= BIT_ERR(VCRYPT_HDR_EINCOMPAT);
	if (!get_le64(b + OFF_SEQ))
		v |= BIT_ERR(VCRYPT_HDR_ESEQ);
	if (flags & ~1U)
		v |= BIT_ERR(VCRYPT_HDR_EFLAGS);
	if (enc != (cipher != 0))
		v |= BIT_ERR(VCRYPT_HDR_ECIPHER_ID);
	if (enc ? key < 16 || key > 64 : key != 0)
		v |= BIT_ERR(VCRYPT_HDR_EKEY_SIZE);
	if (!sector_ok)
		v |= BIT_ERR(VCRYPT_HDR_ESECTOR_SIZE);
	if (off < MIN_DATA_OFF || (sector_ok && off % sector))
		v |= BIT_ERR(VCRYPT_HDR_EDATA_OFFSET);
	if (!size || (sector_ok && size % sector))
		v |= BIT_ERR(VCRYPT_HDR_EDATA_SIZE);
	/* The end, in bytes, must fit in 64-bit 512-byte sectors. */
	if ((u128)off + size >= (u128)1 << 55)
		v |= BIT_ERR(VCRYPT_HDR_EDATA_END);
	if (all_zero(b + OFF_UUID, VEILCRYPT_UUID_LEN))
		v |= BIT_ERR(VCRYPT_HDR_EUUID);
	if (!enc && !all_zero(b + OFF_DIGEST, 32))
		v |= BIT_ERR(VCRYPT_HDR_EKEY_DIGEST);
	if (!enc && !all_zero(b + OFF_MAC, 32))
		v |= BIT_ERR(VCRYPT_HDR_EMAC);
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++)
		if (ref_slot_bad(b + OFF_KEYSLOTS + i * SLOT_SIZE, enc))
			v |= BIT_ERR(VCRYPT_HDR_EKEYSLOT);
	if (!all_zero(b + OFF_RESERVED0, OFF_KEYSLOTS - OFF_RESERVED0) ||
	    !all_zero(b + OFF_RESERVED, OFF_MAC - OFF_RESERVED))
		v |= BIT_ERR(VCRYPT_HDR_ERESERVED);
	return v;
}

static bool same_fields(const struct vcrypt_hdr *a, const struct vcrypt_hdr *b)
{
	return a->seq == b->seq && a->data_offset == b->data_offset &&
	       a->data_size == b->data_size && a->version == b->version &&
	       a->incompat == b->incompat && a->compat == b->compat &&
	       a->flags == b->flags && a->cipher_id == b->cipher_id &&
	       a->key_size == b->key_size && a->sector_size == b->sector_size &&
	       !memcmp(a->uuid, b->uuid, sizeof(a->uuid)) &&
	       !memcmp(a->key_digest, b->key_digest, sizeof(a->key_digest)) &&
	       !memcmp(a->mac, b->mac, sizeof(a->mac)) &&
	       !memcmp(a->keyslots, b->keyslots, sizeof(a->keyslots));
}

static void slot_from(struct vcrypt_keyslot *k, const uint8_t *f)
{
	k->state = get_le32(f);
	k->kind = get_le32(f + 4);
	k->kdf = get_le32(f + 8);
	k->kdf_iterations = get_le32(f + 12);
	k->kdf_memory = get_le32(f + 16);
	k->kdf_parallel = get_le32(f + 20);
	k->area_cipher = get_le32(f + 24);
	k->stripes = get_le32(f + 28);
	memcpy(k->salt, f + 32, sizeof(k->salt));
	memcpy(k->nonce, f + 64, sizeof(k->nonce));
	memcpy(k->tag, f + 76, sizeof(k->tag));
}

static void fields_from(struct vcrypt_hdr *h, const uint8_t *d, size_t n)
{
	uint8_t f[FIELDS_LEN + 1 + SLOT_LEN] = { 0 };

	memcpy(f, d, min_size(n, sizeof(f)));
	h->seq = get_le64(f);
	h->data_offset = get_le64(f + 8);
	h->data_size = get_le64(f + 16);
	h->incompat = get_le64(f + 24);
	h->compat = get_le64(f + 32);
	h->version = get_le32(f + 40);
	h->flags = get_le32(f + 44);
	h->cipher_id = get_le32(f + 48);
	h->key_size = get_le32(f + 52);
	h->sector_size = get_le32(f + 56);
	memcpy(h->uuid, f + 60, sizeof(h->uuid));
	memcpy(h->key_digest, f + 76, sizeof(h->key_digest));
	memcpy(h->mac, f + 108, sizeof(h->mac));
	slot_from(&h->keyslots[f[FIELDS_LEN] % VEILCRYPT_KEYSLOTS], f + FIELDS_LEN + 1);
}

static void check_strings(int err)
{
	const char *s = vcrypt_hdr_strerror(err), *f = vcrypt_hdr_field(err);

	check(s && *s && f && *f, "no message or field name for error %d", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vcrypt_hdr in, out, again;
	bool edited = false;
	unsigned int viol;
	uint8_t *buf, *buf2;
	size_t i;
	int err;

	if (!size)
		return 0;
	/* Exactly one header each, so that ASan sees any read past it. */
	buf = calloc(1, HDR_LEN);
	buf2 = calloc(1, HDR_LEN);
	if (!buf || !buf2)
		abort();
	memset(&in, 0, sizeof(in));
	if (data[0] & 2) {
		fields_from(&in, data + 1, size - 1);
		vcrypt_hdr_encode(&in, buf);
		/* encode() writes an inactive slot as zeros, whatever it holds. */
		for (i = 0; i < VEILCRYPT_KEYSLOTS; i++)
			if (in.keyslots[i].state == VEILCRYPT_SLOT_INACTIVE)
				memset(&in.keyslots[i], 0, sizeof(in.keyslots[i]));
		for (i = 1 + FIELDS_LEN + 1 + SLOT_LEN; i + 3 <= size; i += 3) {
			buf[get_le16(data + i) % HDR_LEN] = data[i + 2];
			edited = true;
		}
	} else {
		memcpy(buf, data + 1, min_size(size - 1, HDR_LEN));
	}
	if (data[0] & 1)
		put_le32(buf + OFF_CHECKSUM, (uint32_t)crc32(0, buf, OFF_CHECKSUM));

	memset(&out, 0, sizeof(out));
	err = vcrypt_hdr_decode(buf, &out);
	viol = ref_violations(buf);
	check(err >= VCRYPT_HDR_OK && err < VCRYPT_HDR_NERR, "decode returned %d", err);
	check_strings(err);
	check_strings((int8_t)data[0]);
	if (!viol) {
		check(err == VCRYPT_HDR_OK, "a header that keeps every rule refused: %s",
		      vcrypt_hdr_strerror(err));
	} else {
		check(err != VCRYPT_HDR_OK, "a header that breaks rules 0x%x accepted", viol);
		check(viol & BIT_ERR(err), "refused for %s, but the broken rules are 0x%x",
		      vcrypt_hdr_field(err), viol);
		/* The magic first, then the checksum, then the fields. */
		if (viol & BIT_ERR(VCRYPT_HDR_EMAGIC))
			check(err == VCRYPT_HDR_EMAGIC, "bad magic refused for %s",
			      vcrypt_hdr_field(err));
		else if (viol & BIT_ERR(VCRYPT_HDR_ECHECKSUM))
			check(err == VCRYPT_HDR_ECHECKSUM, "bad checksum refused for %s",
			      vcrypt_hdr_field(err));
	}
	if (err == VCRYPT_HDR_OK) {
		vcrypt_hdr_encode(&out, buf2);
		check(!memcmp(buf, buf2, HDR_LEN), "a valid header does not encode back to itself");
		memset(&again, 0, sizeof(again));
		check(vcrypt_hdr_decode(buf2, &again) == VCRYPT_HDR_OK &&
		      same_fields(&out, &again), "a re-encoded header decodes differently");
		if ((data[0] & 2) && !edited)
			check(same_fields(&in, &out), "encoded fields decode differently");
	}
	free(buf2);
	free(buf);
	return 0;
}
