/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * veilcrypt: the on-disk header of a veil disk image, read by the
 * dm-veilcrypt target and written by veil-disk.
 *
 * An image starts with two copies of the same 4 KiB header: the primary at
 * byte 0 and the backup at byte VEILCRYPT_BACKUP_OFFSET.  Every field is
 * little-endian.  The header is untrusted input: a reader validates every
 * field before it uses any of them.
 *
 *   +--------------------+ 0
 *   | primary header     |
 *   +--------------------+ 4096
 *   | backup header      |
 *   +--------------------+ data_offset (>= 8192, multiple of sector_size)
 *   | data, data_size    |
 *   | bytes, encrypted   |
 *   | sector by sector   |
 *   +--------------------+
 *
 * Sector n of the data area (counted in sector_size units from data_offset)
 * is encrypted with IV n (the cipher's IV scheme says how n becomes an IV).
 */
#ifndef _UAPI_LINUX_VEILCRYPT_H
#define _UAPI_LINUX_VEILCRYPT_H

#include <linux/types.h>

#define VEILCRYPT_MAGIC			"VEILCRYP"
#define VEILCRYPT_MAGIC_LEN		8
#define VEILCRYPT_VERSION		1
#define VEILCRYPT_HDR_SIZE		4096
#define VEILCRYPT_BACKUP_OFFSET		4096
#define VEILCRYPT_MIN_DATA_OFFSET	8192
#define VEILCRYPT_UUID_LEN		16
#define VEILCRYPT_KCV_LEN		32
#define VEILCRYPT_MAX_KEY_SIZE		64

/* flags */
#define VEILCRYPT_F_ENCRYPTED		0x00000001U
#define VEILCRYPT_F_ALL			VEILCRYPT_F_ENCRYPTED

/*
 * Cipher IDs.  0 is "none" (plain images only).  IDs below
 * VEILCRYPT_CIPHER_PLUGIN_MIN are built into dm-veilcrypt; a plug-in
 * module registers its own ID at or above it.
 */
#define VEILCRYPT_CIPHER_NONE			0
#define VEILCRYPT_CIPHER_AES_XTS_PLAIN64	1	/* xts(aes), 32 or 64 */
#define VEILCRYPT_CIPHER_AES_CBC_ESSIV_SHA256	2	/* essiv(cbc(aes),sha256) */
#define VEILCRYPT_CIPHER_SERPENT_XTS_PLAIN64	3	/* xts(serpent), 32 or 64 */
#define VEILCRYPT_CIPHER_ADIANTUM_PLAIN64	4	/* adiantum(xchacha12,aes) */
#define VEILCRYPT_CIPHER_PLUGIN_MIN		0x100

/*
 * Key-check value: HMAC-SHA256 keyed with the volume key over
 * VEILCRYPT_KCV_LABEL (without its NUL) followed by the 16-byte UUID.
 * A wrong key is refused at table load instead of returning garbage.
 */
#define VEILCRYPT_KCV_LABEL		"veilcrypt key check v1"

struct veilcrypt_header {
	__u8	magic[VEILCRYPT_MAGIC_LEN];	/* VEILCRYPT_MAGIC */
	__le32	version;			/* VEILCRYPT_VERSION */
	__le32	hdr_size;			/* VEILCRYPT_HDR_SIZE */
	__le64	seq;				/* > 0; higher copy wins */
	__le32	flags;				/* VEILCRYPT_F_* */
	__le32	cipher_id;			/* VEILCRYPT_CIPHER_* or plug-in */
	__le32	key_size;			/* bytes; 0 for plain images */
	__le32	sector_size;			/* 512 or 4096 */
	__le64	data_offset;			/* bytes from the image start */
	__le64	data_size;			/* bytes of data */
	__u8	uuid[VEILCRYPT_UUID_LEN];	/* not all zero */
	__u8	key_check[VEILCRYPT_KCV_LEN];	/* zero for plain images */
	__u8	reserved[3988];			/* zero */
	__le32	checksum;	/* crc32 (zlib's) of the bytes before it */
};

/* vcrypt_hdr.c asserts sizeof(struct veilcrypt_header) == 4096. */

#endif /* _UAPI_LINUX_VEILCRYPT_H */
