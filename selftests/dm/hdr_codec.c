// SPDX-License-Identifier: GPL-2.0
/*
 * The veilcrypt header codec (lib/vcrypt/vcrypt_hdr.c, the file the kernel
 * target is built from) as a specification: the on-disk layout is
 * little-endian at fixed offsets, and every field that is wrong is named.
 */
#include <stddef.h>
#include <string.h>

#include "kselftest_harness.h"
#include "vcrypt_hdr.h"

static const struct vcrypt_hdr good = {
	.version = VEILCRYPT_VERSION,
	.seq = 7,
	.flags = VEILCRYPT_F_ENCRYPTED,
	.cipher_id = VEILCRYPT_CIPHER_AES_XTS_PLAIN64,
	.key_size = 64,
	.sector_size = 4096,
	.data_offset = 4 << 20,
	.data_size = 64 << 20,
	.compat = 0x10,
	.uuid = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
	.key_digest = { 0xaa, 0xbb },
	.mac = { 0xcc, 0xdd },
	.keyslots[3] = {
		.state = VEILCRYPT_SLOT_ACTIVE, .kind = VEILCRYPT_SLOT_KEYFILE,
		.kdf = VEILCRYPT_KDF_ARGON2ID, .kdf_iterations = 4,
		.kdf_memory = 65536, .kdf_parallel = 4,
		.area_cipher = VEILCRYPT_AREA_AES256_GCM,
		.stripes = VEILCRYPT_AF_STRIPES,
		.salt = { 0x51 }, .nonce = { 0x4e }, .tag = { 0x7a },
	},
	.bad_slot = -1,
};

static u32 get_le32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static void put_le32(u8 *p, u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void put_le64(u8 *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32(p + 4, (u32)(v >> 32));
}

/* Re-seal a header after changing a field, as a careful attacker would. */
static void reseal(u8 *buf)
{
	put_le32(buf + offsetof(struct veilcrypt_header, checksum),
		 vcrypt_crc32(buf, offsetof(struct veilcrypt_header, checksum)));
}

FIXTURE(hdr) {
	u8 buf[VEILCRYPT_HDR_SIZE];
	struct vcrypt_hdr out;
};

FIXTURE_SETUP(hdr)
{
	vcrypt_hdr_encode(&good, self->buf);
}

FIXTURE_TEARDOWN(hdr)
{
}

TEST(checksum_is_zlib_crc32)
{
	/* The standard CRC-32 check value: the kernel's crc32_le must agree. */
	EXPECT_EQ(0xcbf43926u, vcrypt_crc32("123456789", 9));
}

TEST_F(hdr, round_trip_keeps_every_field)
{
	ASSERT_EQ(VCRYPT_HDR_OK, vcrypt_hdr_decode(self->buf, &self->out));
	EXPECT_EQ(0, memcmp(&good, &self->out, sizeof(good)));
}

TEST_F(hdr, layout_is_little_endian_at_fixed_offsets)
{
	const u8 *ks = self->buf + 128 + 3 * 128;

	EXPECT_EQ(0, memcmp(self->buf, "VEILCRYP", 8));
	EXPECT_EQ(2u, get_le32(self->buf + 8));		/* version */
	EXPECT_EQ(4096u, get_le32(self->buf + 12));	/* hdr_size */
	EXPECT_EQ(7u, get_le32(self->buf + 16));	/* seq, low half */
	EXPECT_EQ(1u, get_le32(self->buf + 24));	/* flags */
	EXPECT_EQ(1u, get_le32(self->buf + 28));	/* cipher_id */
	EXPECT_EQ(64u, get_le32(self->buf + 32));	/* key_size */
	EXPECT_EQ(4096u, get_le32(self->buf + 36));	/* sector_size */
	EXPECT_EQ(4u << 20, get_le32(self->buf + 40));	/* data_offset */
	EXPECT_EQ(64u << 20, get_le32(self->buf + 48));	/* data_size */
	EXPECT_EQ(1, self->buf[56]);			/* uuid */
	EXPECT_EQ(0u, get_le32(self->buf + 72));	/* incompat */
	EXPECT_EQ(0x10u, get_le32(self->buf + 80));	/* compat */
	EXPECT_EQ(0xaa, self->buf[88]);			/* key_digest */
	EXPECT_EQ(1u, get_le32(ks));			/* keyslot 3: state */
	EXPECT_EQ(2u, get_le32(ks + 4));		/* kind */
	EXPECT_EQ(4u, get_le32(ks + 12));		/* kdf_iterations */
	EXPECT_EQ(65536u, get_le32(ks + 16));		/* kdf_memory */
	EXPECT_EQ(4000u, get_le32(ks + 28));		/* stripes */
	EXPECT_EQ(0x51, ks[32]);			/* salt */
	EXPECT_EQ(0x4e, ks[64]);			/* nonce */
	EXPECT_EQ(0x7a, ks[76]);			/* tag */
	EXPECT_EQ(0xcc, self->buf[4060]);		/* mac */
	EXPECT_EQ(vcrypt_crc32(self->buf, 4092), get_le32(self->buf + 4092));
	/* The metadata layout: keyslot areas after the header, backup after them. */
	EXPECT_EQ(4096u + 8 * 262144u, (unsigned int)VEILCRYPT_BACKUP_OFFSET);
	EXPECT_EQ(4096u + 3 * 262144u, (unsigned int)vcrypt_keyslot_area(3));
}

TEST_F(hdr, every_flipped_bit_is_caught_by_magic_or_checksum)
{
	unsigned int bit;
	int r;

	for (bit = 0; bit < VEILCRYPT_HDR_SIZE * 8; bit++) {
		self->buf[bit / 8] ^= 1 << (bit % 8);
		r = vcrypt_hdr_decode(self->buf, &self->out);
		self->buf[bit / 8] ^= 1 << (bit % 8);
		if (r != VCRYPT_HDR_EMAGIC && r != VCRYPT_HDR_ECHECKSUM) {
			TH_LOG("bit %u flipped: decode said %d", bit, r);
			ASSERT_TRUE(0);
		}
	}
}

/* One resealed corruption per case: the field at @off gets @val. */
struct corruption {
	const char *name;
	size_t off;
	int width;		/* 4 or 8 bytes, 1 for a single byte */
	u64 val;
	int want;
};

#define KS3	(128 + 3 * 128)

static const struct corruption corruptions[] = {
	{ "version", 8, 4, 1, VCRYPT_HDR_EVERSION },
	{ "hdr_size", 12, 4, 512, VCRYPT_HDR_EHDR_SIZE },
	{ "incompat", 72, 8, 1ULL << 40, VCRYPT_HDR_EINCOMPAT },
	{ "seq", 16, 8, 0, VCRYPT_HDR_ESEQ },
	{ "flags", 24, 4, 0x80, VCRYPT_HDR_EFLAGS },
	{ "cipher_id", 28, 4, 0, VCRYPT_HDR_ECIPHER_ID },
	{ "key_size", 32, 4, 65, VCRYPT_HDR_EKEY_SIZE },
	{ "key_size small", 32, 4, 8, VCRYPT_HDR_EKEY_SIZE },
	{ "sector_size", 36, 4, 1024, VCRYPT_HDR_ESECTOR_SIZE },
	{ "data_offset", 40, 8, 1 << 20, VCRYPT_HDR_EDATA_OFFSET },
	{ "data_offset unaligned", 40, 8, (4 << 20) + 512, VCRYPT_HDR_EDATA_OFFSET },
	{ "data_size", 48, 8, 0, VCRYPT_HDR_EDATA_SIZE },
	{ "data_size unaligned", 48, 8, 4096 + 512, VCRYPT_HDR_EDATA_SIZE },
	{ "data_offset+data_size", 48, 8, ~0ULL - 4095, VCRYPT_HDR_EDATA_END },
	{ "keyslot state", KS3, 4, 2, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot kind", KS3 + 4, 4, 9, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot kdf", KS3 + 8, 4, 2, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot kdf_iterations", KS3 + 12, 4, 0, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot kdf_memory", KS3 + 16, 4, (4U << 20) + 1, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot kdf_memory per lane", KS3 + 16, 4, 31, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot kdf_parallel", KS3 + 20, 4, 17, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot area_cipher", KS3 + 24, 4, 2, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot stripes", KS3 + 28, 4, 1, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot reserved", KS3 + 100, 1, 1, VCRYPT_HDR_EKEYSLOT },
	{ "keyslot inactive with bytes", 128 + 5 * 128 + 40, 1, 1, VCRYPT_HDR_EKEYSLOT },
	{ "reserved", 2000, 1, 1, VCRYPT_HDR_ERESERVED },
	{ "reserved0", 120, 1, 1, VCRYPT_HDR_ERESERVED },
};

TEST_F(hdr, each_resealed_bad_field_is_named)
{
	unsigned int i;

	for (i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
		const struct corruption *c = &corruptions[i];
		int r;

		vcrypt_hdr_encode(&good, self->buf);
		if (c->width == 8)
			put_le64(self->buf + c->off, c->val);
		else if (c->width == 4)
			put_le32(self->buf + c->off, (u32)c->val);
		else
			self->buf[c->off] = (u8)c->val;
		reseal(self->buf);
		r = vcrypt_hdr_decode(self->buf, &self->out);
		TH_LOG("%s: want %s, got %s", c->name, vcrypt_hdr_field(c->want),
		       vcrypt_hdr_field(r));
		EXPECT_EQ(c->want, r);
		EXPECT_NE(NULL, strstr(vcrypt_hdr_strerror(r), vcrypt_hdr_field(c->want)));
	}
}

TEST_F(hdr, zero_uuid_is_refused)
{
	memset(self->buf + 56, 0, VEILCRYPT_UUID_LEN);
	reseal(self->buf);
	EXPECT_EQ(VCRYPT_HDR_EUUID, vcrypt_hdr_decode(self->buf, &self->out));
}

TEST_F(hdr, plain_image_has_no_cipher_key_digest_mac_or_keyslot)
{
	struct vcrypt_hdr plain = good;

	plain.flags = 0;
	plain.cipher_id = 0;
	plain.key_size = 0;
	memset(plain.key_digest, 0, sizeof(plain.key_digest));
	memset(plain.mac, 0, sizeof(plain.mac));
	memset(plain.keyslots, 0, sizeof(plain.keyslots));
	vcrypt_hdr_encode(&plain, self->buf);
	ASSERT_EQ(VCRYPT_HDR_OK, vcrypt_hdr_decode(self->buf, &self->out));

	plain.cipher_id = VEILCRYPT_CIPHER_AES_XTS_PLAIN64;
	vcrypt_hdr_encode(&plain, self->buf);
	EXPECT_EQ(VCRYPT_HDR_ECIPHER_ID, vcrypt_hdr_decode(self->buf, &self->out));

	plain.cipher_id = 0;
	plain.key_size = 32;
	vcrypt_hdr_encode(&plain, self->buf);
	EXPECT_EQ(VCRYPT_HDR_EKEY_SIZE, vcrypt_hdr_decode(self->buf, &self->out));

	plain.key_size = 0;
	plain.key_digest[5] = 1;
	vcrypt_hdr_encode(&plain, self->buf);
	EXPECT_EQ(VCRYPT_HDR_EKEY_DIGEST, vcrypt_hdr_decode(self->buf, &self->out));

	plain.key_digest[5] = 0;
	plain.mac[9] = 1;
	vcrypt_hdr_encode(&plain, self->buf);
	EXPECT_EQ(VCRYPT_HDR_EMAC, vcrypt_hdr_decode(self->buf, &self->out));

	plain.mac[9] = 0;
	plain.keyslots[1] = good.keyslots[3];
	vcrypt_hdr_encode(&plain, self->buf);
	EXPECT_EQ(VCRYPT_HDR_EKEYSLOT, vcrypt_hdr_decode(self->buf, &self->out));
	EXPECT_EQ(1, self->out.bad_slot);
}

TEST_F(hdr, unknown_compat_bits_are_read_unknown_incompat_bits_refused)
{
	put_le64(self->buf + 80, ~0ULL);		/* compat */
	reseal(self->buf);
	EXPECT_EQ(VCRYPT_HDR_OK, vcrypt_hdr_decode(self->buf, &self->out));
	EXPECT_EQ(~0ULL, self->out.compat);
	put_le64(self->buf + 72, 1);			/* incompat */
	reseal(self->buf);
	EXPECT_EQ(VCRYPT_HDR_EINCOMPAT, vcrypt_hdr_probe(self->buf));
	EXPECT_EQ(VCRYPT_HDR_EINCOMPAT, vcrypt_hdr_decode(self->buf, &self->out));
}

TEST_F(hdr, version_1_header_is_refused_by_the_probe)
{
	put_le32(self->buf + 8, 1);
	reseal(self->buf);
	EXPECT_EQ(VCRYPT_HDR_EVERSION, vcrypt_hdr_probe(self->buf));
}

TEST_F(hdr, set_mac_changes_only_mac_and_checksum)
{
	u8 copy[VEILCRYPT_HDR_SIZE], mac[VEILCRYPT_DIGEST_LEN];
	unsigned int i;

	memcpy(copy, self->buf, sizeof(copy));
	memset(mac, 0x3c, sizeof(mac));
	vcrypt_hdr_set_mac(self->buf, mac);
	for (i = 0; i < VEILCRYPT_MAC_OFFSET; i++)
		ASSERT_EQ(copy[i], self->buf[i]);
	ASSERT_EQ(VCRYPT_HDR_OK, vcrypt_hdr_decode(self->buf, &self->out));
	EXPECT_EQ(0, memcmp(mac, self->out.mac, sizeof(mac)));
}

TEST_F(hdr, bad_magic_is_named_before_checksum)
{
	self->buf[0] = 'X';
	EXPECT_EQ(VCRYPT_HDR_EMAGIC, vcrypt_hdr_decode(self->buf, &self->out));
	EXPECT_NE(NULL, strstr(vcrypt_hdr_strerror(VCRYPT_HDR_EMAGIC), "magic"));
}

TEST_F(hdr, stale_checksum_is_named)
{
	self->buf[4092] ^= 1;
	EXPECT_EQ(VCRYPT_HDR_ECHECKSUM, vcrypt_hdr_decode(self->buf, &self->out));
	EXPECT_NE(NULL, strstr(vcrypt_hdr_strerror(VCRYPT_HDR_ECHECKSUM), "checksum"));
}

TEST_HARNESS_MAIN
