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
 *                data_offset, data_size; u32 version, flags, cipher_id,
 *                key_size, sector_size; uuid; key_check), encoded, then
 *                { u16 offset, u8 value } byte edits;
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
#define FIELDS_LEN	92

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
#define OFF_KCV		72
#define OFF_RESERVED	104
#define OFF_CHECKSUM	4092

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
static_assert(offsetof(struct veilcrypt_header, key_check) == OFF_KCV, "layout");
static_assert(offsetof(struct veilcrypt_header, reserved) == OFF_RESERVED, "layout");
static_assert(offsetof(struct veilcrypt_header, checksum) == OFF_CHECKSUM, "layout");

typedef unsigned __int128 u128;

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

#define BIT_ERR(e)	(1U << (e))

/* Every rule of the ABI the header breaks, as a set of VCRYPT_HDR_E*. */
static unsigned int ref_violations(const uint8_t *b)
{
	uint32_t version = get_le32(b + OFF_VERSION), flags = get_le32(b + OFF_FLAGS);
	uint32_t cipher = get_le32(b + OFF_CIPHER), key = get_le32(b + OFF_KEY_SIZE);
	uint32_t sector = get_le32(b + OFF_SECTOR);
	uint64_t off = get_le64(b + OFF_DATA_OFF), size = get_le64(b + OFF_DATA_SIZE);
	bool enc = flags & VEILCRYPT_F_ENCRYPTED, sector_ok = sector == 512 || sector == 4096;
	unsigned int v = 0;

	if (memcmp(b, "VEILCRYP", 8))
		v |= BIT_ERR(VCRYPT_HDR_EMAGIC);
	if (get_le32(b + OFF_CHECKSUM) != (uint32_t)crc32(0, b, OFF_CHECKSUM))
		v |= BIT_ERR(VCRYPT_HDR_ECHECKSUM);
	if (version != 1)
		v |= BIT_ERR(VCRYPT_HDR_EVERSION);
	if (get_le32(b + OFF_HDR_SIZE) != 4096)
		v |= BIT_ERR(VCRYPT_HDR_EHDR_SIZE);
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
	if (off < 8192 || (sector_ok && off % sector))
		v |= BIT_ERR(VCRYPT_HDR_EDATA_OFFSET);
	if (!size || (sector_ok && size % sector))
		v |= BIT_ERR(VCRYPT_HDR_EDATA_SIZE);
	/* The end, in bytes, must fit in 64-bit 512-byte sectors. */
	if ((u128)off + size >= (u128)1 << 55)
		v |= BIT_ERR(VCRYPT_HDR_EDATA_END);
	if (all_zero(b + OFF_UUID, VEILCRYPT_UUID_LEN))
		v |= BIT_ERR(VCRYPT_HDR_EUUID);
	if (!enc && !all_zero(b + OFF_KCV, VEILCRYPT_KCV_LEN))
		v |= BIT_ERR(VCRYPT_HDR_EKEY_CHECK);
	if (!all_zero(b + OFF_RESERVED, OFF_CHECKSUM - OFF_RESERVED))
		v |= BIT_ERR(VCRYPT_HDR_ERESERVED);
	return v;
}

static bool same_fields(const struct vcrypt_hdr *a, const struct vcrypt_hdr *b)
{
	return a->seq == b->seq && a->data_offset == b->data_offset &&
	       a->data_size == b->data_size && a->version == b->version &&
	       a->flags == b->flags && a->cipher_id == b->cipher_id &&
	       a->key_size == b->key_size && a->sector_size == b->sector_size &&
	       !memcmp(a->uuid, b->uuid, sizeof(a->uuid)) &&
	       !memcmp(a->key_check, b->key_check, sizeof(a->key_check));
}

static void fields_from(struct vcrypt_hdr *h, const uint8_t *d, size_t n)
{
	uint8_t f[FIELDS_LEN] = { 0 };

	memcpy(f, d, min_size(n, sizeof(f)));
	h->seq = get_le64(f);
	h->data_offset = get_le64(f + 8);
	h->data_size = get_le64(f + 16);
	h->version = get_le32(f + 24);
	h->flags = get_le32(f + 28);
	h->cipher_id = get_le32(f + 32);
	h->key_size = get_le32(f + 36);
	h->sector_size = get_le32(f + 40);
	memcpy(h->uuid, f + 44, sizeof(h->uuid));
	memcpy(h->key_check, f + 60, sizeof(h->key_check));
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
		for (i = 1 + FIELDS_LEN; i + 3 <= size; i += 3) {
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
