// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel TLS: a process that hands its session keys to the kernel
 * (setsockopt TLS_TX / TLS_RX on a TCP socket, as OpenSSL and GnuTLS do
 * with kTLS on) and wipes its own copies leaves them in two places a walk
 * of its memory and queues does not see:
 *
 * - the socket's TLS context keeps what setsockopt() was given (key, IV,
 *   salt, record sequence) for each direction, in crypto_send and
 *   crypto_recv: those bytes are taken, not the version and cipher words
 *   before them, which the socket's teardown in a restored guest reads;
 * - the AEAD transform of software kTLS holds the expanded key, whose first
 *   round keys are the key itself.  Only a transform whose context is key
 *   material alone is taken: AES-GCM of the x86 AES-NI driver ("__generic-
 *   gcm-*"), reached through the SIMD wrapper and cryptd that front it.
 *   The contexts of those two and of other implementations hold pointers
 *   that the restored guest follows when it frees them, so they are left
 *   out (and with them the keys of, for example, the generic gcm template).
 *
 * Only a socket that is the process's alone is taken: one whose file no
 * other descriptor refers to (collect_file.c).  A process outside the set
 * that shares the socket would, in a restored guest, go on encrypting
 * with a zeroed key schedule, which anyone can undo.
 *
 * The socket's file is held until THAW or RESTORE: the TLS context and its
 * transforms live as long as the socket is open.  Device offload (TLS_HW)
 * is not looked at: its keys are in the NIC's driver.
 */
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>
#include <crypto/aead.h>
#include <crypto/cryptd.h>
#include <crypto/internal/aead.h>

#include "veil_guest.h"

#if IS_ENABLED(CONFIG_TLS)

/* How many transforms deep the wrappers go: SIMD, cryptd, the driver. */
#define VEIL_GUEST_AEAD_DEPTH	3

/*
 * Whether @fn, a function of the crypto API, is the one named @name: %ps
 * gives "name" or, for a module's function, "name [module]".
 */
static bool veil_guest_fn_is(const void *fn, const char *name)
{
	size_t len = strlen(name);
	char buf[64];

	if (!fn)
		return false;
	snprintf(buf, sizeof(buf), "%ps", fn);
	return !strncmp(buf, name, len) && (buf[len] == '\0' || buf[len] == ' ');
}

/*
 * The transform @tfm wraps: the SIMD wrapper's context is one pointer to
 * its cryptd transform (crypto/simd.c), and cryptd tells its child itself.
 */
static struct crypto_aead *veil_guest_aead_inner(struct crypto_aead *tfm)
{
	struct aead_alg *alg = crypto_aead_alg(tfm);
	struct crypto_aead *(*child_of)(struct cryptd_aead *tfm);
	struct crypto_aead *child;
	struct cryptd_aead *cryptd;

	if (veil_guest_fn_is(alg->init, "simd_aead_init")) {
		cryptd = *(struct cryptd_aead **)crypto_aead_ctx(tfm);
		return cryptd ? &cryptd->base : NULL;
	}
	if (!veil_guest_fn_is(alg->init, "cryptd_aead_init_tfm"))
		return NULL;
	/* Asked at run time: veil_guest does not depend on cryptd. */
	child_of = symbol_get(cryptd_aead_child);
	if (!child_of)
		return NULL;
	child = child_of(container_of(tfm, struct cryptd_aead, base));
	symbol_put(cryptd_aead_child);
	return child;
}

static void veil_guest_tls_aead(struct crypto_aead *tfm, struct veil_guest_collect *c)
{
	const struct crypto_alg *base;
	int depth;

	for (depth = 0; tfm && depth < VEIL_GUEST_AEAD_DEPTH; depth++) {
		base = &crypto_aead_alg(tfm)->base;
		if (!strncmp(base->cra_driver_name, "__generic-gcm-", 14)) {
			veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_KERNEL,
						    crypto_aead_ctx(tfm),
						    base->cra_ctxsize);
			return;
		}
		tfm = veil_guest_aead_inner(tfm);
	}
}

/* The key bytes of one direction's crypto_info: all but its header. */
static void veil_guest_tls_info(union tls_crypto_context *cc, struct veil_guest_collect *c)
{
	veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_KERNEL, (u8 *)cc + sizeof(cc->info),
				    sizeof(*cc) - sizeof(cc->info));
}

/* Called with @sk, a TCP socket of @file, locked. */
void veil_guest_collect_tls(struct sock *sk, struct file *file, struct veil_guest_collect *c)
{
	const struct tcp_ulp_ops *ulp = inet_csk(sk)->icsk_ulp_ops;
	struct tls_context *ctx;
	bool tx, rx;

	if (!ulp || strcmp(ulp->name, "tls"))
		return;
	ctx = tls_get_ctx(sk);
	if (!ctx)
		return;
	tx = ctx->tx_conf == TLS_SW;
	rx = ctx->rx_conf == TLS_SW;
	if ((!tx && !rx) || !veil_guest_file_only_here(file, c))
		return;
	if (!veil_guest_hold_file(&c->holds, file))
		return;
	if (tx) {
		veil_guest_tls_info(&ctx->crypto_send, c);
		if (ctx->priv_ctx_tx)
			veil_guest_tls_aead(tls_sw_ctx_tx(ctx)->aead_send, c);
	}
	if (rx) {
		veil_guest_tls_info(&ctx->crypto_recv, c);
		if (ctx->priv_ctx_rx)
			veil_guest_tls_aead(tls_sw_ctx_rx(ctx)->aead_recv, c);
	}
}

#else

void veil_guest_collect_tls(struct sock *sk, struct file *file, struct veil_guest_collect *c)
{
}

#endif
