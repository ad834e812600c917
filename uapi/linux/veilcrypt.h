/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * veilcrypt: the on-disk metadata of a veil disk image, read by the
 * dm-veilcrypt target and written by veil-disk.
 *
 * Every field is little-endian.  The metadata is untrusted input: a reader
 * checks the header's MAC before it uses any field, and validates every
 * field after that.
 *
 *   +------------------------+ 0
 *   | primary header (4 KiB) |
 *   +------------------------+ VEILCRYPT_KEYSLOTS_OFFSET (4096)
 *   | keyslot area 0         |  VEILCRYPT_KEYSLOT_AREA_SIZE each: the
 *   | ...                    |  volume key, split into anti-forensic
 *   | keyslot area 7         |  stripes and encrypted under the slot's key
 *   +------------------------+ VEILCRYPT_BACKUP_OFFSET
 *   | backup header (4 KiB)  |
 *   +------------------------+ (gap)
 *   | data, data_size bytes, | data_offset (>= VEILCRYPT_MIN_DATA_OFFSET,
 *   | encrypted sector by    | a multiple of sector_size)
 *   | sector                 |
 *   +------------------------+
 *
 * Sector n of the data area (counted in sector_size units from data_offset)
 * is encrypted with IV n (the cipher's IV scheme says how n becomes an IV)
 * under the volume key, a random key of key_size bytes made at format time.
 *
 * Authentication (encrypted images).  From the volume key K and the UUID:
 *
 *   PRK        = HMAC-SHA256(key = uuid, K)                 (HKDF-Extract)
 *   key_digest = HMAC-SHA256(PRK, VEILCRYPT_DIGEST_INFO || 0x01)
 *   mac key    = HMAC-SHA256(PRK, VEILCRYPT_MAC_INFO || 0x01)
 *   mac        = HMAC-SHA256(mac key, header bytes [0, VEILCRYPT_MAC_OFFSET))
 *
 * that is HKDF-SHA256 (RFC 5869) with the UUID as salt, one output block
 * each.  The MAC covers every field, the keyslot descriptors included;
 * each keyslot area is in turn authenticated by the AES-GCM tag in its
 * descriptor.  A wrong key fails key_digest; a header changed by anyone
 * without the key fails the MAC.  Plain images have neither (all zero).
 *
 * Updates.  Both copies carry the same fields and a sequence number; a
 * writer first writes any new keyslot area, then the primary with seq + 1,
 * flushes, then the backup, flushes, and only then wipes the area of a
 * removed keyslot.  A reader takes the valid copy with the higher seq that
 * passes its MAC, so a crash at any point leaves the old or the new state.
 *
 * Features.  incompat bits name features a reader must know to use the
 * image: a reader refuses a header with an incompat bit it does not know.
 * compat bits may be ignored by a reader that does not know them.  A new
 * header layout changes version (v1 images, CRC only, are refused).
 */
#ifndef _UAPI_LINUX_VEILCRYPT_H
#define _UAPI_LINUX_VEILCRYPT_H

#include <linux/types.h>

#define VEILCRYPT_MAGIC			"VEILCRYP"
#define VEILCRYPT_MAGIC_LEN		8
#define VEILCRYPT_VERSION		2
#define VEILCRYPT_HDR_SIZE		4096
#define VEILCRYPT_UUID_LEN		16
#define VEILCRYPT_DIGEST_LEN		32	/* key_digest and mac */
#define VEILCRYPT_MAX_KEY_SIZE		64
#define VEILCRYPT_MIN_KEY_SIZE		16

/* Layout of the metadata, in bytes from the image start. */
#define VEILCRYPT_KEYSLOTS		8
#define VEILCRYPT_KEYSLOTS_OFFSET	4096
#define VEILCRYPT_KEYSLOT_AREA_SIZE	(256 * 1024)
#define VEILCRYPT_BACKUP_OFFSET		(VEILCRYPT_KEYSLOTS_OFFSET + \
					 VEILCRYPT_KEYSLOTS * VEILCRYPT_KEYSLOT_AREA_SIZE)
#define VEILCRYPT_MIN_DATA_OFFSET	(VEILCRYPT_BACKUP_OFFSET + VEILCRYPT_HDR_SIZE)

/* HKDF info strings (without their NUL). */
#define VEILCRYPT_DIGEST_INFO		"veilcrypt v2 key digest"
#define VEILCRYPT_MAC_INFO		"veilcrypt v2 header mac"

/* flags */
#define VEILCRYPT_F_ENCRYPTED		0x00000001U
#define VEILCRYPT_F_ALL			VEILCRYPT_F_ENCRYPTED

/* Feature bits: none defined yet in this version. */
#define VEILCRYPT_INCOMPAT_KNOWN	0ULL
#define VEILCRYPT_COMPAT_KNOWN		0ULL

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

/* Keyslots: state */
#define VEILCRYPT_SLOT_INACTIVE		0	/* the whole descriptor is zero */
#define VEILCRYPT_SLOT_ACTIVE		1
/* kind: what unlocks it (informational; every kind goes through the KDF) */
#define VEILCRYPT_SLOT_PASSPHRASE	1
#define VEILCRYPT_SLOT_KEYFILE		2
#define VEILCRYPT_SLOT_KEYRING		3
/* kdf: Argon2id (RFC 9106, version 0x13), 32-byte output */
#define VEILCRYPT_KDF_ARGON2ID		1
#define VEILCRYPT_KDF_MAX_ITERATIONS	1048576
#define VEILCRYPT_KDF_MIN_MEMORY	8		/* KiB per lane */
#define VEILCRYPT_KDF_MAX_MEMORY	(4U << 20)	/* KiB: 4 GiB */
#define VEILCRYPT_KDF_MAX_PARALLEL	16
/*
 * area_cipher: AES-256-GCM, key = the KDF output, 12-byte nonce, additional
 * data = uuid || le32 slot index, over the volume key split into stripes.
 */
#define VEILCRYPT_AREA_AES256_GCM	1
#define VEILCRYPT_AF_STRIPES		4000
#define VEILCRYPT_SALT_LEN		32
#define VEILCRYPT_NONCE_LEN		12
#define VEILCRYPT_TAG_LEN		16

struct veilcrypt_keyslot {
	__le32	state;				/* VEILCRYPT_SLOT_* */
	__le32	kind;				/* VEILCRYPT_SLOT_PASSPHRASE... */
	__le32	kdf;				/* VEILCRYPT_KDF_ARGON2ID */
	__le32	kdf_iterations;			/* 1..VEILCRYPT_KDF_MAX_ITERATIONS */
	__le32	kdf_memory;			/* KiB */
	__le32	kdf_parallel;			/* lanes, 1..16 */
	__le32	area_cipher;			/* VEILCRYPT_AREA_AES256_GCM */
	__le32	stripes;			/* VEILCRYPT_AF_STRIPES */
	__u8	salt[VEILCRYPT_SALT_LEN];
	__u8	nonce[VEILCRYPT_NONCE_LEN];
	__u8	tag[VEILCRYPT_TAG_LEN];
	__u8	reserved[36];			/* zero */
};

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
	__le64	incompat;			/* VEILCRYPT_INCOMPAT_* */
	__le64	compat;				/* VEILCRYPT_COMPAT_* */
	__u8	key_digest[VEILCRYPT_DIGEST_LEN];	/* zero for plain images */
	__u8	reserved0[8];			/* zero */
	struct veilcrypt_keyslot keyslots[VEILCRYPT_KEYSLOTS];
	__u8	reserved[2908];			/* zero */
	__u8	mac[VEILCRYPT_DIGEST_LEN];	/* zero for plain images */
	__le32	checksum;	/* crc32 (zlib's) of the bytes before it */
};

#define VEILCRYPT_MAC_OFFSET		4060	/* offsetof(..., mac) */

/* vcrypt_hdr.c asserts the sizes and offsets above. */

#endif /* _UAPI_LINUX_VEILCRYPT_H */
