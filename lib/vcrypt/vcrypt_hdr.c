// SPDX-License-Identifier: GPL-2.0
/*
 * The veilcrypt image header codec, shared by dm-veilcrypt.ko, veil-disk,
 * the dm selftests and the fuzz target: decode validates every field of an
 * untrusted 4 KiB header, encode writes one with its checksum.  Nothing
 * here allocates, sleeps or depends on the environment beyond vcrypt_hdr.h.
 */
#include "vcrypt_hdr.h"

static_assert(sizeof(struct veilcrypt_keyslot) == 128);
static_assert(sizeof(struct veilcrypt_header) == VEILCRYPT_HDR_SIZE);
static_assert(offsetof(struct veilcrypt_header, keyslots) == 128);
static_assert(offsetof(struct veilcrypt_header, mac) == VEILCRYPT_MAC_OFFSET);
static_assert(offsetof(struct veilcrypt_header, checksum) == VEILCRYPT_HDR_SIZE - 4);
static_assert(VEILCRYPT_AF_STRIPES * VEILCRYPT_MAX_KEY_SIZE <= VEILCRYPT_KEYSLOT_AREA_SIZE);
static_assert(VEILCRYPT_MIN_DATA_OFFSET % 4096 == 0);

#define VCRYPT_HDR_CSUM_LEN	offsetof(struct veilcrypt_header, checksum)

static const char * const vcrypt_hdr_fields[VCRYPT_HDR_NERR] = {
	[VCRYPT_HDR_OK]			= "none",
	[VCRYPT_HDR_EMAGIC]		= "magic",
	[VCRYPT_HDR_ECHECKSUM]		= "checksum",
	[VCRYPT_HDR_EVERSION]		= "version",
	[VCRYPT_HDR_EHDR_SIZE]		= "hdr_size",
	[VCRYPT_HDR_EINCOMPAT]		= "incompat",
	[VCRYPT_HDR_ESEQ]		= "seq",
	[VCRYPT_HDR_EFLAGS]		= "flags",
	[VCRYPT_HDR_ECIPHER_ID]		= "cipher_id",
	[VCRYPT_HDR_EKEY_SIZE]		= "key_size",
	[VCRYPT_HDR_ESECTOR_SIZE]	= "sector_size",
	[VCRYPT_HDR_EDATA_OFFSET]	= "data_offset",
	[VCRYPT_HDR_EDATA_SIZE]		= "data_size",
	[VCRYPT_HDR_EDATA_END]		= "data_offset+data_size",
	[VCRYPT_HDR_EUUID]		= "uuid",
	[VCRYPT_HDR_EKEY_DIGEST]	= "key_digest",
	[VCRYPT_HDR_EMAC]		= "mac",
	[VCRYPT_HDR_EKEYSLOT]		= "keyslot",
	[VCRYPT_HDR_ERESERVED]		= "reserved",
};

/* Static strings: the target hands them to device-mapper as ti->error. */
static const char * const vcrypt_hdr_errors[VCRYPT_HDR_NERR] = {
	[VCRYPT_HDR_OK]			= "Header valid",
	[VCRYPT_HDR_EMAGIC]		= "Invalid header magic (not a veilcrypt image)",
	[VCRYPT_HDR_ECHECKSUM]		= "Invalid header checksum",
	[VCRYPT_HDR_EVERSION]		= "Unsupported header version",
	[VCRYPT_HDR_EHDR_SIZE]		= "Invalid header hdr_size",
	[VCRYPT_HDR_EINCOMPAT]		= "Header incompat features unknown to this reader",
	[VCRYPT_HDR_ESEQ]		= "Invalid header seq (zero)",
	[VCRYPT_HDR_EFLAGS]		= "Unknown header flags",
	[VCRYPT_HDR_ECIPHER_ID]		= "Invalid header cipher_id for the flags",
	[VCRYPT_HDR_EKEY_SIZE]		= "Invalid header key_size",
	[VCRYPT_HDR_ESECTOR_SIZE]	= "Invalid header sector_size (512 or 4096)",
	[VCRYPT_HDR_EDATA_OFFSET]	= "Invalid header data_offset",
	[VCRYPT_HDR_EDATA_SIZE]		= "Invalid header data_size",
	[VCRYPT_HDR_EDATA_END]		= "Header data_offset+data_size overflows",
	[VCRYPT_HDR_EUUID]		= "Invalid header uuid (zero)",
	[VCRYPT_HDR_EKEY_DIGEST]	= "Invalid header key_digest (set on a plain image)",
	[VCRYPT_HDR_EMAC]		= "Invalid header mac (set on a plain image)",
	[VCRYPT_HDR_EKEYSLOT]		= "Invalid header keyslot",
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

static int vcrypt_all_zero(const void *p, size_t len)
{
	const u8 *b = p;
	u8 acc = 0;
	size_t i;

	for (i = 0; i < len; i++)
		acc |= b[i];
	return acc == 0;
}

u64 vcrypt_hdr_seq(const void *buf)
{
	const struct veilcrypt_header *d = buf;

	return le64_to_cpu(d->seq);
}

int vcrypt_hdr_probe(const void *buf)
{
	const struct veilcrypt_header *d = buf;

	if (memcmp(d->magic, VEILCRYPT_MAGIC, VEILCRYPT_MAGIC_LEN))
		return VCRYPT_HDR_EMAGIC;
	if (le32_to_cpu(d->checksum) != vcrypt_crc32(d, VCRYPT_HDR_CSUM_LEN))
		return VCRYPT_HDR_ECHECKSUM;
	if (le32_to_cpu(d->version) != VEILCRYPT_VERSION)
		return VCRYPT_HDR_EVERSION;
	if (le32_to_cpu(d->hdr_size) != VEILCRYPT_HDR_SIZE)
		return VCRYPT_HDR_EHDR_SIZE;
	if (le64_to_cpu(d->incompat) & ~VEILCRYPT_INCOMPAT_KNOWN)
		return VCRYPT_HDR_EINCOMPAT;
	return VCRYPT_HDR_OK;
}

static void vcrypt_keyslot_decode(const struct veilcrypt_keyslot *d,
				  struct vcrypt_keyslot *s)
{
	s->state = le32_to_cpu(d->state);
	s->kind = le32_to_cpu(d->kind);
	s->kdf = le32_to_cpu(d->kdf);
	s->kdf_iterations = le32_to_cpu(d->kdf_iterations);
	s->kdf_memory = le32_to_cpu(d->kdf_memory);
	s->kdf_parallel = le32_to_cpu(d->kdf_parallel);
	s->area_cipher = le32_to_cpu(d->area_cipher);
	s->stripes = le32_to_cpu(d->stripes);
	memcpy(s->salt, d->salt, sizeof(s->salt));
	memcpy(s->nonce, d->nonce, sizeof(s->nonce));
	memcpy(s->tag, d->tag, sizeof(s->tag));
}

/* An inactive slot is all zero; an active one has every field in range. */
static int vcrypt_keyslot_valid(const struct veilcrypt_keyslot *d,
				const struct vcrypt_keyslot *s, int encrypted)
{
	if (s->state == VEILCRYPT_SLOT_INACTIVE)
		return vcrypt_all_zero(d, sizeof(*d));
	if (s->state != VEILCRYPT_SLOT_ACTIVE || !encrypted)
		return 0;
	if (s->kind < VEILCRYPT_SLOT_PASSPHRASE || s->kind > VEILCRYPT_SLOT_KEYRING)
		return 0;
	if (s->kdf != VEILCRYPT_KDF_ARGON2ID || !s->kdf_iterations ||
	    s->kdf_iterations > VEILCRYPT_KDF_MAX_ITERATIONS)
		return 0;
	if (!s->kdf_parallel || s->kdf_parallel > VEILCRYPT_KDF_MAX_PARALLEL ||
	    s->kdf_memory < VEILCRYPT_KDF_MIN_MEMORY * s->kdf_parallel ||
	    s->kdf_memory > VEILCRYPT_KDF_MAX_MEMORY)
		return 0;
	if (s->area_cipher != VEILCRYPT_AREA_AES256_GCM ||
	    s->stripes != VEILCRYPT_AF_STRIPES)
		return 0;
	if (vcrypt_all_zero(s->salt, sizeof(s->salt)) ||
	    vcrypt_all_zero(s->nonce, sizeof(s->nonce)))
		return 0;
	return vcrypt_all_zero(d->reserved, sizeof(d->reserved));
}

static int vcrypt_hdr_check_fields(const struct veilcrypt_header *d,
				   struct vcrypt_hdr *h)
{
	int encrypted, has_cipher;
	unsigned int i;
	u64 end;

	if (h->seq == 0)
		return VCRYPT_HDR_ESEQ;
	if (h->flags & ~VEILCRYPT_F_ALL)
		return VCRYPT_HDR_EFLAGS;
	encrypted = !!(h->flags & VEILCRYPT_F_ENCRYPTED);
	has_cipher = h->cipher_id != VEILCRYPT_CIPHER_NONE;
	if (encrypted != has_cipher)
		return VCRYPT_HDR_ECIPHER_ID;
	if (encrypted ? (h->key_size < VEILCRYPT_MIN_KEY_SIZE ||
			 h->key_size > VEILCRYPT_MAX_KEY_SIZE)
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
	if (!encrypted && !vcrypt_all_zero(h->key_digest, sizeof(h->key_digest)))
		return VCRYPT_HDR_EKEY_DIGEST;
	if (!encrypted && !vcrypt_all_zero(h->mac, sizeof(h->mac)))
		return VCRYPT_HDR_EMAC;
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++) {
		if (!vcrypt_keyslot_valid(&d->keyslots[i], &h->keyslots[i],
					  encrypted)) {
			h->bad_slot = i;
			return VCRYPT_HDR_EKEYSLOT;
		}
	}
	if (!vcrypt_all_zero(d->reserved0, sizeof(d->reserved0)) ||
	    !vcrypt_all_zero(d->reserved, sizeof(d->reserved)))
		return VCRYPT_HDR_ERESERVED;
	return VCRYPT_HDR_OK;
}

/*
 * Decode and validate one header copy.  Returns VCRYPT_HDR_OK and fills @h,
 * or the first field found wrong (and @h is undefined).  Whether the MAC
 * verifies, the cipher exists, the key fits it and the device is large
 * enough are the caller's checks: they depend on more than the header.
 */
int vcrypt_hdr_decode(const void *buf, struct vcrypt_hdr *h)
{
	const struct veilcrypt_header *d = buf;
	unsigned int i;
	int r;

	h->bad_slot = -1;
	r = vcrypt_hdr_probe(buf);
	if (r != VCRYPT_HDR_OK)
		return r;

	h->version = le32_to_cpu(d->version);
	h->seq = le64_to_cpu(d->seq);
	h->flags = le32_to_cpu(d->flags);
	h->cipher_id = le32_to_cpu(d->cipher_id);
	h->key_size = le32_to_cpu(d->key_size);
	h->sector_size = le32_to_cpu(d->sector_size);
	h->data_offset = le64_to_cpu(d->data_offset);
	h->data_size = le64_to_cpu(d->data_size);
	h->incompat = le64_to_cpu(d->incompat);
	h->compat = le64_to_cpu(d->compat);
	memcpy(h->uuid, d->uuid, sizeof(h->uuid));
	memcpy(h->key_digest, d->key_digest, sizeof(h->key_digest));
	memcpy(h->mac, d->mac, sizeof(h->mac));
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++)
		vcrypt_keyslot_decode(&d->keyslots[i], &h->keyslots[i]);
	return vcrypt_hdr_check_fields(d, h);
}

static void vcrypt_keyslot_encode(const struct vcrypt_keyslot *s,
				  struct veilcrypt_keyslot *d)
{
	d->state = cpu_to_le32(s->state);
	d->kind = cpu_to_le32(s->kind);
	d->kdf = cpu_to_le32(s->kdf);
	d->kdf_iterations = cpu_to_le32(s->kdf_iterations);
	d->kdf_memory = cpu_to_le32(s->kdf_memory);
	d->kdf_parallel = cpu_to_le32(s->kdf_parallel);
	d->area_cipher = cpu_to_le32(s->area_cipher);
	d->stripes = cpu_to_le32(s->stripes);
	memcpy(d->salt, s->salt, sizeof(d->salt));
	memcpy(d->nonce, s->nonce, sizeof(d->nonce));
	memcpy(d->tag, s->tag, sizeof(d->tag));
}

/* Encode @h into the 4 KiB @buf, reserved bytes zero, checksum last. */
void vcrypt_hdr_encode(const struct vcrypt_hdr *h, void *buf)
{
	struct veilcrypt_header *d = buf;
	unsigned int i;

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
	d->incompat = cpu_to_le64(h->incompat);
	d->compat = cpu_to_le64(h->compat);
	memcpy(d->uuid, h->uuid, sizeof(d->uuid));
	memcpy(d->key_digest, h->key_digest, sizeof(d->key_digest));
	for (i = 0; i < VEILCRYPT_KEYSLOTS; i++)
		if (h->keyslots[i].state != VEILCRYPT_SLOT_INACTIVE)
			vcrypt_keyslot_encode(&h->keyslots[i], &d->keyslots[i]);
	vcrypt_hdr_set_mac(buf, h->mac);
}

void vcrypt_hdr_set_mac(void *buf, const u8 *mac)
{
	struct veilcrypt_header *d = buf;

	memcpy(d->mac, mac, sizeof(d->mac));
	d->checksum = cpu_to_le32(vcrypt_crc32(d, VCRYPT_HDR_CSUM_LEN));
}
