// SPDX-License-Identifier: GPL-2.0
/*
 * A dm-veilcrypt cipher plug-in for the selftests: registers header cipher
 * ID 0x8001 as AES-CBC with plain64 IVs (dm-crypt's aes-cbc-plain64), so a
 * test can format an image with it, compare with dm-crypt, and check that
 * the module cannot be unloaded while a table uses it.
 */
#include <linux/module.h>

#include "../../../host-kmod/vcrypt_cipher.h"

#define VCRYPT_TEST_CIPHER_ID	0x8001

static struct vcrypt_cipher vcrypt_test_cipher = {
	.id = VCRYPT_TEST_CIPHER_ID,
	.name = "test-aes-cbc-plain64",
	.alg = "cbc(aes)",
	.key_sizes = { 16, 24, 32 },
	.iv_scheme = VCRYPT_IV_PLAIN64,
	.owner = THIS_MODULE,
};

static int __init vcrypt_test_plugin_init(void)
{
	return vcrypt_register_cipher(&vcrypt_test_cipher);
}

static void __exit vcrypt_test_plugin_exit(void)
{
	/* Cannot be busy: a table holds a reference on this module. */
	WARN_ON(vcrypt_unregister_cipher(&vcrypt_test_cipher));
}

module_init(vcrypt_test_plugin_init);
module_exit(vcrypt_test_plugin_exit);

MODULE_DESCRIPTION("dm-veilcrypt test cipher plug-in (aes-cbc-plain64, ID 0x8001)");
MODULE_LICENSE("GPL");
