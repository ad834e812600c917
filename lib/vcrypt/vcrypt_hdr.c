// SPDX-License-Identifier: GPL-2.0
/*
 * The veilcrypt image header codec, shared by dm-veilcrypt.ko and
 * veil-disk: decode validates every field of an untrusted 4 KiB header,
 * encode writes one with its checksum.  Nothing here allocates, sleeps or
 * depends on the environment beyond vcrypt_hdr.h.
 */
#include "vcrypt_hdr.h"

static_assert(sizeof(struct veilcrypt_header) == VEILCRYPT_HDR_SIZE);
static_assert(offsetof(struct veilcrypt_header, checksum) == VEILCRYPT_HDR_SIZE - 4);

#define VCRYPT_HDR_CSUM_LEN	offsetof(struct veilcrypt_header, checksum)

static const char * const vcrypt_hdr_fields[VCRYPT_HDR_NERR] = {
	[VCRYPT_HDR_OK]			= "none",
	[VCRYPT_HDR_EMAGIC]		= "magic",
	[VCRYPT_HDR_ECHECKSUM]		= "checksum",
	[VCRYPT_HDR_EVERSION]		= "version",
	[VCRYPT_HDR_EHDR_SIZE]		= "hdr_size",
	[VCRYPT_HDR_ESEQ]		= "seq",
	[VCRYPT_HDR_EFLAGS]		= "flags",
	[VCRYPT_HDR_ECIPHER_ID]		= "cipher_id",
	[VCRYPT_HDR_EKEY_SIZE]		= "key_size",
	[VCRYPT_HDR_ESECTOR_SIZE]	= "sector_size",
	[VCRYPT_HDR_EDATA_OFFSET]	= "data_offset",
	[VCRYPT_HDR_EDATA_SIZE]		= "data_size",
	[VCRYPT_HDR_EDATA_END]		= "data_offset+data_size",
	[VCRYPT_HDR_EUUID]		= "uuid",
	[VCRYPT_HDR_EKEY_CHECK]		= "key_check",
	[VCRYPT_HDR_ERESERVED]		= "reserved",
};

/* Static strings: the target hands them to device-mapper as ti->error. */
static const char * const vcrypt_hdr_errors[VCRYPT_HDR_NERR] = {
	[VCRYPT_HDR_OK]			= "Header valid",
	[VCRYPT_HDR_EMAGIC]		= "Invalid header magic (not a veilcrypt image)",
	[VCRYPT_HDR_ECHECKSUM]		= "Invalid header checksum",
	[VCRYPT_HDR_EVERSION]		= "Unsupported header version",
	[VCRYPT_HDR_EHDR_SIZE]		= "Invalid header hdr_size",
	[VCRYPT_HDR_ESEQ]		= "Invalid header seq (zero)",
	[VCRYPT_HDR_EFLAGS]		= "Unknown header flags",
	[VCRYPT_HDR_ECIPHER_ID]		= "Invalid header cipher_id for the flags",
	[VCRYPT_HDR_EKEY_SIZE]		= "Invalid header key_size",
	[VCRYPT_HDR_ESECTOR_SIZE]	= "Invalid header sector_size (512 or 4096)",
	[VCRYPT_HDR_EDATA_OFFSET]	= "Invalid header data_offset",
	[VCRYPT_HDR_EDATA_SIZE]		= "Invalid header data_size",
	[VCRYPT_HDR_EDATA_END]		= "Header data_offset+data_size overflows",
	[VCRYPT_HDR_EUUID]		= "Invalid header uuid (zero)",
	[VCRYPT_HDR_EKEY_CHECK]		= "Invalid header key_check (set on a plain image)",
	[VCRYPT_HDR_ERESERVED]		= "Header reserved bytes not zero",
};

const char *vcrypt_hdr_strerror(int err)
{
	if (err < 0 || err >= VCRYPT_HDR_NERR)
		return "Invalid header";
	return vcrypt_hdr_errors[err];
}

const char *vcrypt_hdr_field(int err)
{
	if (err < 0 || err >= VCRYPT_HDR_NERR)
		return "unknown";
	return vcrypt_hdr_fields[err];
}

static int vcrypt_all_zero(const u8 *p, size_t len)
{
	size_t i;
	u8 acc = 0;

	for (i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

/*
 * Decode and validate one header copy.  Returns VCRYPT_HDR_OK and fills @h,
 * or the first field found wrong (and @h is undefined).  Whether the cipher
 * exists, the key fits it and the device is large enough are the caller's
 * checks: they depend on more than the header.
 */
int vcrypt_hdr_decode(const void *buf, struct vcrypt_hdr *h)
{
	const struct veilcrypt_header *d = buf;
	int encrypted, has_cipher;
	u64 end;

	if (memcmp(d->magic, VEILCRYPT_MAGIC, VEILCRYPT_MAGIC_LEN))
		return VCRYPT_HDR_EMAGIC;
	if (le32_to_cpu(d->checksum) != vcrypt_crc32(d, VCRYPT_HDR_CSUM_LEN))
		return VCRYPT_HDR_ECHECKSUM;

	h->version = le32_to_cpu(d->version);
	h->seq = le64_to_cpu(d->seq);
	h->flags = le32_to_cpu(d->flags);
	h->cipher_id = le32_to_cpu(d->cipher_id);
	h->key_size = le32_to_cpu(d->key_size);
	h->sector_size = le32_to_cpu(d->sector_size);
	h->data_offset = le64_to_cpu(d->data_offset);
	h->data_size = le64_to_cpu(d->data_size);
	memcpy(h->uuid, d->uuid, sizeof(h->uuid));
	memcpy(h->key_check, d->key_check, sizeof(h->key_check));

	if (h->version != VEILCRYPT_VERSION)
		return VCRYPT_HDR_EVERSION;
	if (le32_to_cpu(d->hdr_size) != VEILCRYPT_HDR_SIZE)
		return VCRYPT_HDR_EHDR_SIZE;
	if (h->seq == 0)
		return VCRYPT_HDR_ESEQ;
	if (h->flags & ~VEILCRYPT_F_ALL)
		return VCRYPT_HDR_EFLAGS;
	encrypted = !!(h->flags & VEILCRYPT_F_ENCRYPTED);
	has_cipher = h->cipher_id != VEILCRYPT_CIPHER_NONE;
	if (encrypted != has_cipher)
		return VCRYPT_HDR_ECIPHER_ID;
	if (encrypted ? (h->key_size < 16 || h->key_size > VEILCRYPT_MAX_KEY_SIZE)
		      : h->key_size != 0)
		return VCRYPT_HDR_EKEY_SIZE;
	if (h->sector_size != 512 && h->sector_size != 4096)
		return VCRYPT_HDR_ESECTOR_SIZE;
	if (h->data_offset < VEILCRYPT_MIN_DATA_OFFSET ||
	    h->data_offset % h->sector_size)
		return VCRYPT_HDR_EDATA_OFFSET;
	if (h->data_size == 0 || h->data_size % h->sector_size)
		return VCRYPT_HDR_EDATA_SIZE;
	/* Both in bytes; the end must also fit in 512-byte sectors. */
	end = h->data_offset + h->data_size;
	if (end < h->data_offset || end > (~(u64)0 >> 9))
		return VCRYPT_HDR_EDATA_END;
	if (vcrypt_all_zero(h->uuid, sizeof(h->uuid)))
		return VCRYPT_HDR_EUUID;
	if (!encrypted && !vcrypt_all_zero(h->key_check, sizeof(h->key_check)))
		return VCRYPT_HDR_EKEY_CHECK;
	if (!vcrypt_all_zero(d->reserved, sizeof(d->reserved)))
		return VCRYPT_HDR_ERESERVED;
	return VCRYPT_HDR_OK;
}

/* Encode @h into the 4 KiB @buf, reserved bytes zero, checksum last. */
void vcrypt_hdr_encode(const struct vcrypt_hdr *h, void *buf)
{
	struct veilcrypt_header *d = buf;

	memset(d, 0, sizeof(*d));
	memcpy(d->magic, VEILCRYPT_MAGIC, VEILCRYPT_MAGIC_LEN);
	d->version = cpu_to_le32(h->version);
	d->hdr_size = cpu_to_le32(VEILCRYPT_HDR_SIZE);
	d->seq = cpu_to_le64(h->seq);
	d->flags = cpu_to_le32(h->flags);
	d->cipher_id = cpu_to_le32(h->cipher_id);
	d->key_size = cpu_to_le32(h->key_size);
	d->sector_size = cpu_to_le32(h->sector_size);
	d->data_offset = cpu_to_le64(h->data_offset);
	d->data_size = cpu_to_le64(h->data_size);
	memcpy(d->uuid, h->uuid, sizeof(d->uuid));
	memcpy(d->key_check, h->key_check, sizeof(d->key_check));
	d->checksum = cpu_to_le32(vcrypt_crc32(d, VCRYPT_HDR_CSUM_LEN));
}
