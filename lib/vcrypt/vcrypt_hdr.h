/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The veilcrypt image header codec.  vcrypt_hdr.c is compiled as it is into
 * dm-veilcrypt.ko, veil-disk, the dm selftests and the fuzz target; this
 * header gives it the few helpers that differ between the kernel and user
 * space.  The codec does no cryptography: the MAC is computed over the
 * encoded bytes by the kernel crypto API in the target and by OpenSSL in
 * veil-disk (uapi/linux/veilcrypt.h defines both).
 */
#ifndef _VCRYPT_HDR_H
#define _VCRYPT_HDR_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/crc32.h>
#include <asm/byteorder.h>

/* zlib's crc32: crc32_le with the initial and final inversion. */
static inline u32 vcrypt_crc32(const void *p, size_t len)
{
	return crc32_le(~0U, p, len) ^ ~0U;
}
#else
#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <endian.h>
#include <zlib.h>

#include <linux/types.h>

typedef __u8 u8;
typedef __u32 u32;
typedef __u64 u64;
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)
#define cpu_to_le32(x)	htole32(x)
#define cpu_to_le64(x)	htole64(x)

static inline u32 vcrypt_crc32(const void *p, size_t len)
{
	return (u32)crc32(0L, p, (unsigned int)len);
}
#endif

#include <linux/veilcrypt.h>

/* One keyslot descriptor in CPU byte order. */
struct vcrypt_keyslot {
	u32 state;
	u32 kind;
	u32 kdf;
	u32 kdf_iterations;
	u32 kdf_memory;
	u32 kdf_parallel;
	u32 area_cipher;
	u32 stripes;
	u8 salt[VEILCRYPT_SALT_LEN];
	u8 nonce[VEILCRYPT_NONCE_LEN];
	u8 tag[VEILCRYPT_TAG_LEN];
};

/* The header in CPU byte order, after vcrypt_hdr_decode() validated it. */
struct vcrypt_hdr {
	u64 seq;
	u64 data_offset;
	u64 data_size;
	u64 incompat;
	u64 compat;
	u32 version;
	u32 flags;
	u32 cipher_id;
	u32 key_size;
	u32 sector_size;
	u8 uuid[VEILCRYPT_UUID_LEN];
	u8 key_digest[VEILCRYPT_DIGEST_LEN];
	u8 mac[VEILCRYPT_DIGEST_LEN];
	struct vcrypt_keyslot keyslots[VEILCRYPT_KEYSLOTS];
	int bad_slot;		/* decode: the slot of VCRYPT_HDR_EKEYSLOT */
};

/* What the codec found wrong, first failing check first. */
enum vcrypt_hdr_err {
	VCRYPT_HDR_OK = 0,
	VCRYPT_HDR_EMAGIC,
	VCRYPT_HDR_ECHECKSUM,
	VCRYPT_HDR_EVERSION,
	VCRYPT_HDR_EHDR_SIZE,
	VCRYPT_HDR_EINCOMPAT,
	VCRYPT_HDR_ESEQ,
	VCRYPT_HDR_EFLAGS,
	VCRYPT_HDR_ECIPHER_ID,
	VCRYPT_HDR_EKEY_SIZE,
	VCRYPT_HDR_ESECTOR_SIZE,
	VCRYPT_HDR_EDATA_OFFSET,
	VCRYPT_HDR_EDATA_SIZE,
	VCRYPT_HDR_EDATA_END,
	VCRYPT_HDR_EUUID,
	VCRYPT_HDR_EKEY_DIGEST,
	VCRYPT_HDR_EMAC,
	VCRYPT_HDR_EKEYSLOT,
	VCRYPT_HDR_ERESERVED,
	VCRYPT_HDR_NERR
};

/* Checks that need no key: magic, checksum, version, size, incompat. */
int vcrypt_hdr_probe(const void *buf);
/* vcrypt_hdr_probe(), then every field (the MAC is the caller's check). */
int vcrypt_hdr_decode(const void *buf, struct vcrypt_hdr *h);
/* Encode @h, its mac field included, with the checksum last. */
void vcrypt_hdr_encode(const struct vcrypt_hdr *h, void *buf);
/* Put @mac into an encoded header and compute the checksum again. */
void vcrypt_hdr_set_mac(void *buf, const u8 *mac);
u64 vcrypt_hdr_seq(const void *buf);
const char *vcrypt_hdr_strerror(int err);
const char *vcrypt_hdr_field(int err);

/* Byte offset of keyslot @slot's area in the image. */
static inline u64 vcrypt_keyslot_area(unsigned int slot)
{
	return VEILCRYPT_KEYSLOTS_OFFSET +
	       (u64)slot * VEILCRYPT_KEYSLOT_AREA_SIZE;
}

#endif /* _VCRYPT_HDR_H */
