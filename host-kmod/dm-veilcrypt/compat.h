/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels dm-veilcrypt builds for (6.1, 6.12).
 * Nothing version-specific lives anywhere else in this folder.
 */
#ifndef _VCRYPT_COMPAT_H
#define _VCRYPT_COMPAT_H

#include <linux/version.h>
#include <linux/crypto.h>

/*
 * 6.3 changed crypto_completion_t from taking the crypto_async_request to
 * taking its ->data directly.  vcrypt_crypt_done() has the new form;
 * before 6.3 a trampoline unwraps the request.
 */
void vcrypt_crypt_done(void *data, int err);
#if KERNEL_VERSION(6, 3, 0) > LINUX_VERSION_CODE
static inline void vcrypt_crypt_done_req(struct crypto_async_request *req,
					 int err)
{
	vcrypt_crypt_done(req->data, err);
}

#define vcrypt_crypt_done_fn vcrypt_crypt_done_req
#else
#define vcrypt_crypt_done_fn vcrypt_crypt_done
#endif

#endif /* _VCRYPT_COMPAT_H */
