// SPDX-License-Identifier: GPL-2.0
/*
 * vcrypt_speed: the crypto API's own speed for a dm-veilcrypt cipher, the
 * reference the dm benchmark compares veilcrypt with.  One request per
 * sector, as dm-veilcrypt and dm-crypt issue them, over a 64 KiB buffer,
 * for @msecs each way.  Prints one line:
 *
 *   vcrypt_speed: <alg> <driver> <sector_size> encrypt=<MB/s> decrypt=<MB/s>
 */
#include <linux/module.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <crypto/skcipher.h>

#define VCRYPT_SPEED_ORDER	4	/* 64 KiB */

static char *alg = "xts(aes)";
module_param(alg, charp, 0444);
MODULE_PARM_DESC(alg, "crypto API algorithm (default xts(aes))");
static unsigned int key_size = 64;
module_param(key_size, uint, 0444);
MODULE_PARM_DESC(key_size, "key bytes (default 64)");
static unsigned int sector_size = 4096;
module_param(sector_size, uint, 0444);
MODULE_PARM_DESC(sector_size, "bytes per request: 512 or 4096 (default)");
static unsigned int msecs = 2000;
module_param(msecs, uint, 0444);
MODULE_PARM_DESC(msecs, "milliseconds per direction (default 2000)");

static int vcrypt_speed_run(struct crypto_skcipher *tfm, u8 *buf, bool enc,
			    u64 *mbps)
{
	const unsigned int len = PAGE_SIZE << VCRYPT_SPEED_ORDER;
	struct skcipher_request *req;
	DECLARE_CRYPTO_WAIT(wait);
	struct scatterlist sg;
	u64 bytes = 0, start, ns, sector = 0;
	unsigned long end;
	unsigned int off;
	u8 iv[32];
	int r = 0;

	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				      crypto_req_done, &wait);
	start = ktime_get_ns();
	end = jiffies + msecs_to_jiffies(msecs);
	while (time_before(jiffies, end) && !r) {
		for (off = 0; off < len && !r; off += sector_size) {
			memset(iv, 0, sizeof(iv));
			*(__le64 *)iv = cpu_to_le64(sector++);
			sg_init_one(&sg, buf + off, sector_size);
			skcipher_request_set_crypt(req, &sg, &sg, sector_size, iv);
			r = crypto_wait_req(enc ? crypto_skcipher_encrypt(req) :
						  crypto_skcipher_decrypt(req),
					    &wait);
		}
		bytes += len;
		cond_resched();
	}
	ns = ktime_get_ns() - start;
	skcipher_request_free(req);
	*mbps = ns ? div64_u64(bytes * 1000, ns) : 0;
	return r;
}

static int __init vcrypt_speed_init(void)
{
	struct crypto_skcipher *tfm;
	u64 enc = 0, dec = 0;
	u8 key[64];
	u8 *buf;
	int r;

	if (key_size > sizeof(key) || (sector_size != 512 && sector_size != 4096))
		return -EINVAL;
	tfm = crypto_alloc_skcipher(alg, 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	buf = (u8 *)__get_free_pages(GFP_KERNEL, VCRYPT_SPEED_ORDER);
	if (!buf) {
		r = -ENOMEM;
		goto out_tfm;
	}
	get_random_bytes(key, key_size);
	get_random_bytes(buf, PAGE_SIZE << VCRYPT_SPEED_ORDER);
	r = crypto_skcipher_setkey(tfm, key, key_size) ?:
	    vcrypt_speed_run(tfm, buf, true, &enc) ?:
	    vcrypt_speed_run(tfm, buf, false, &dec);
	if (!r)
		pr_info("vcrypt_speed: %s %s %u encrypt=%llu decrypt=%llu\n", alg,
			crypto_tfm_alg_driver_name(crypto_skcipher_tfm(tfm)),
			sector_size, enc, dec);
	memzero_explicit(key, sizeof(key));
	free_pages((unsigned long)buf, VCRYPT_SPEED_ORDER);
out_tfm:
	crypto_free_skcipher(tfm);
	return r;
}

static void __exit vcrypt_speed_exit(void)
{
}

module_init(vcrypt_speed_init);
module_exit(vcrypt_speed_exit);

MODULE_DESCRIPTION("dm-veilcrypt benchmark: raw crypto API speed of a cipher");
MODULE_LICENSE("GPL");
