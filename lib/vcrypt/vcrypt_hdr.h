/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The veilcrypt image header codec.  vcrypt_hdr.c is compiled into both
 * dm-veilcrypt.ko and veil-disk; this header gives it the few helpers that
 * differ between the kernel and user space.
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

/* The header in CPU byte order, after vcrypt_hdr_decode() validated it. */
struct vcrypt_hdr {
	u64 seq;
	u64 data_offset;
	u64 data_size;
	u32 version;
	u32 flags;
	u32 cipher_id;
	u32 key_size;
	u32 sector_size;
	u8 uuid[VEILCRYPT_UUID_LEN];
	u8 key_check[VEILCRYPT_KCV_LEN];
};

/* What vcrypt_hdr_decode() found wrong, first failing check first. */
enum vcrypt_hdr_err {
	VCRYPT_HDR_OK = 0,
	VCRYPT_HDR_EMAGIC,
	VCRYPT_HDR_ECHECKSUM,
	VCRYPT_HDR_EVERSION,
	VCRYPT_HDR_EHDR_SIZE,
	VCRYPT_HDR_ESEQ,
	VCRYPT_HDR_EFLAGS,
	VCRYPT_HDR_ECIPHER_ID,
	VCRYPT_HDR_EKEY_SIZE,
	VCRYPT_HDR_ESECTOR_SIZE,
	VCRYPT_HDR_EDATA_OFFSET,
	VCRYPT_HDR_EDATA_SIZE,
	VCRYPT_HDR_EDATA_END,
	VCRYPT_HDR_EUUID,
	VCRYPT_HDR_EKEY_CHECK,
	VCRYPT_HDR_ERESERVED,
	VCRYPT_HDR_NERR
};

int vcrypt_hdr_decode(const void *buf, struct vcrypt_hdr *h);
void vcrypt_hdr_encode(const struct vcrypt_hdr *h, void *buf);
const char *vcrypt_hdr_strerror(int err);
const char *vcrypt_hdr_field(int err);

#endif /* _VCRYPT_HDR_H */
