// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veilcrypt cipher plug-ins for the selftests: header cipher ID 0x8001
 * is AES-CBC with plain64 IVs (dm-crypt's aes-cbc-plain64), so a test can
 * format an image with it, compare with dm-crypt, and check that the module
 * cannot be unloaded while a table uses it.  ID 0x8002 is AES-XTS behind
 * cryptd, which always completes asynchronously: it drives dm-veilcrypt's
 * asynchronous path, and still equals dm-crypt's aes-xts-plain64.
 */
#include <linux/module.h>

#include "../../../host-kmod/dm-veilcrypt/vcrypt_cipher.h"

static struct vcrypt_cipher vcrypt_test_cbc = {
	.id = 0x8001,
	.name = "test-aes-cbc-plain64",
	.alg = "cbc(aes)",
	.key_sizes = { 16, 24, 32 },
	.iv_scheme = VCRYPT_IV_PLAIN64,
	.owner = THIS_MODULE,
};

static struct vcrypt_cipher vcrypt_test_async_xts = {
	.id = 0x8002,
	.name = "test-cryptd-aes-xts-plain64",
	.alg = "cryptd(xts(ecb(aes-generic)))",
	.key_sizes = { 32, 64 },
	.iv_scheme = VCRYPT_IV_PLAIN64,
	.owner = THIS_MODULE,
};

static int __init vcrypt_test_plugin_init(void)
{
	int r;

	r = vcrypt_register_cipher(&vcrypt_test_cbc);
	if (r)
		return r;
	r = vcrypt_register_cipher(&vcrypt_test_async_xts);
	if (r)
		vcrypt_unregister_cipher(&vcrypt_test_cbc);
	return r;
}

static void __exit vcrypt_test_plugin_exit(void)
{
	/* Cannot be busy: a table holds a reference on this module. */
	WARN_ON(vcrypt_unregister_cipher(&vcrypt_test_async_xts));
	WARN_ON(vcrypt_unregister_cipher(&vcrypt_test_cbc));
}

module_init(vcrypt_test_plugin_init);
module_exit(vcrypt_test_plugin_exit);

MODULE_DESCRIPTION("dm-veilcrypt test cipher plug-ins (IDs 0x8001, 0x8002)");
MODULE_LICENSE("GPL");
