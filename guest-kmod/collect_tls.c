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
 *   round keys are the key itself.  Only a context that is key material
 *   alone is taken:
 *   - AES-GCM of the x86 AES-NI driver ("__generic-gcm-*"), reached
 *     through the SIMD wrapper and cryptd that front it;
 *   - the AES block cipher under the generic gcm template's ctr
 *     ("gcm_base(ctr(aes-generic),ghash-generic)", what a kernel without
 *     the AES-NI driver builds).  Its GHASH table is left: it is derived
 *     from the key (the hash key is AES of a zero block), which it does not
 *     give back, and it lets whoever holds it forge records, not read them;
 *   - the ChaCha20 key under the chacha20poly1305 template
 *     ("rfc7539(chacha20-simd,poly1305-*)", TLS_CIPHER_CHACHA20_POLY1305):
 *     the key words of the stream cipher's context (the x86 or the generic
 *     one), not the round count after them, which a restored guest's
 *     cipher reads.  The Poly1305 key is made anew for every record, in
 *     the request, and kept nowhere.
 *   The contexts of the wrappers and templates themselves hold pointers
 *   that the restored guest follows when it frees them, so they are left
 *   out, and so is any implementation not named here.
 *
 * Only a socket that is the process's alone is taken: one whose file no
 * other descriptor refers to (collect_file.c).  A process outside the set
 * that shares the socket would, in a restored guest, go on encrypting
 * with a zeroed key schedule, which anyone can undo.
 *
 * The socket's file is held until THAW or RESTORE: the TLS context and its
 * transforms live as long as the socket is open.  Device offload (TLS_HW)
 * is not looked at for keys: they are in the NIC's driver.
 *
 * Data in clear that the context keeps, taken as the socket's queues are
 * (whoever else holds the socket, as for its receive queue):
 * - records received and decrypted but not read whole (a read shorter
 *   than the record, MSG_PEEK) wait on the receive context's rx_list, in
 *   buffers of their own (software and device offload alike);
 * - a record being filled (a send with MSG_MORE, or one that did not fill
 *   it) keeps the plaintext the process sent, to be encrypted in place
 *   when the record is closed; records not yet handed to TCP (its send
 *   buffer full) are taken too, as one an asynchronous cipher has not
 *   finished is still clear.  The pages are page fragments of the sending
 *   thread, which may have moved on to another page since (collect_stack.c
 *   takes only its current one); each is held.  Pages a send took from
 *   the process's memory or a file without a copy are left to those
 *   collectors.
 *
 * When an excluded process closes the socket (or its exit does), the
 * socket's TLS teardown frees rx_list and the record being filled with
 * what they hold in clear (records already closed are sent, or freed
 * encrypted): kprobes on tls_sw_release_resources_rx() and _tx(), which
 * run under the socket's lock just before, zero them first (with
 * zero_freed).  The functions are the tls module's, which may be loaded
 * after the first exclusion, or unloaded and loaded again: the kprobes
 * are registered at the first exclusion if the module is there, and else
 * when it comes (a module notifier), and let go of when it goes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/skmsg.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>
#include <crypto/aead.h>
#include <crypto/chacha.h>
#include <crypto/cryptd.h>
#include <crypto/internal/aead.h>
#include <crypto/internal/cipher.h>
#include <crypto/internal/skcipher.h>

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

/* crypto/gcm.c's context, private to it; the same on 6.1 and 6.12. */
struct veil_guest_gcm_ctx {
	struct crypto_skcipher *ctr;
	struct crypto_ahash *ghash;
};

/* Block ciphers whose context is their key schedule and nothing else. */
static const char *const veil_guest_key_ciphers[] = {
	"aes-generic", "aes-fixed-time", "aes-aesni",
};

/*
 * The generic gcm template: its ctr is the ctr template's simple instance
 * (crypto/skcipher.c), whose context is the block cipher, whose context
 * is the key schedule.
 */
static void veil_guest_tls_gcm(struct crypto_aead *tfm, struct veil_guest_collect *c)
{
	struct crypto_skcipher *ctr = ((struct veil_guest_gcm_ctx *)crypto_aead_ctx(tfm))->ctr;
	const struct crypto_alg *alg;
	struct crypto_tfm *cipher;
	int i;

	if (!ctr || strncmp(crypto_skcipher_tfm(ctr)->__crt_alg->cra_name, "ctr(", 4) ||
	    !veil_guest_fn_is(crypto_skcipher_alg(ctr)->init, "skcipher_init_tfm_simple"))
		return;
	cipher = crypto_cipher_tfm(skcipher_cipher_simple(ctr));
	alg = cipher->__crt_alg;
	for (i = 0; i < ARRAY_SIZE(veil_guest_key_ciphers); i++) {
		if (!strcmp(alg->cra_driver_name, veil_guest_key_ciphers[i])) {
			veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_KERNEL,
						    crypto_tfm_ctx(cipher), alg->cra_ctxsize);
			return;
		}
	}
}

/* crypto/chacha20poly1305.c's context, private to it; the same on 6.1 and 6.12. */
struct veil_guest_chachapoly_ctx {
	struct crypto_skcipher *chacha;
	struct crypto_ahash *poly;
	unsigned int saltlen;
	u8 salt[];
};

/* Stream ciphers whose context starts with the key, CHACHA_KEY_SIZE bytes. */
static const char *const veil_guest_key_streams[] = {
	"chacha20-simd", "chacha20-generic",
};

/*
 * The chacha20poly1305 template: its chacha is the stream cipher itself,
 * whose context (crypto/internal/chacha.h) is the key as eight
 * little-endian words, then the round count.  The template's salt is for
 * IPsec's variant (rfc7539esp); kernel TLS's has none.
 */
static void veil_guest_tls_chachapoly(struct crypto_aead *tfm, struct veil_guest_collect *c)
{
	const struct veil_guest_chachapoly_ctx *ctx = crypto_aead_ctx(tfm);
	const struct crypto_alg *alg;
	int i;

	if (!ctx->chacha)
		return;
	alg = crypto_skcipher_tfm(ctx->chacha)->__crt_alg;
	if (alg->cra_ctxsize < CHACHA_KEY_SIZE)
		return;
	for (i = 0; i < ARRAY_SIZE(veil_guest_key_streams); i++) {
		if (!strcmp(alg->cra_driver_name, veil_guest_key_streams[i])) {
			veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_KERNEL,
						    crypto_skcipher_ctx(ctx->chacha),
						    CHACHA_KEY_SIZE);
			return;
		}
	}
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
		if (veil_guest_fn_is(crypto_aead_alg(tfm)->init, "crypto_gcm_init_tfm")) {
			veil_guest_tls_gcm(tfm, c);
			return;
		}
		if (veil_guest_fn_is(crypto_aead_alg(tfm)->init, "chachapoly_init")) {
			veil_guest_tls_chachapoly(tfm, c);
			return;
		}
		tfm = veil_guest_aead_inner(tfm);
	}
}

/*
 * net/tls's record, private to it: its first members, the same on 6.1
 * and 6.12.  Only records of the TX context's open_rec and tx_list are
 * looked at through it.
 */
struct veil_guest_tls_rec {
	struct list_head list;
	int tx_ready;
	int tx_flags;
	struct sk_msg msg_plaintext;
};

/*
 * The bytes of @msg's pages that are the kernel's own: held and published
 * with @c, or zeroed without.
 */
static void veil_guest_tls_msg(struct sk_msg *msg, struct veil_guest_collect *c)
{
	u32 i = msg->sg.start, n;
	struct scatterlist *sge;
	struct page *page;

	for (n = 0; i != msg->sg.end && i < NR_MSG_FRAG_IDS && n < NR_MSG_FRAG_IDS; n++) {
		sge = sk_msg_elem(msg, i);
		page = sg_page(sge);
		if (page && sge->length && veil_guest_folio_kernel_own(page_folio(page))) {
			if (!c) {
				veil_guest_zero_page_bytes(page, sge->offset, sge->length);
			} else {
				veil_guest_hold_page(&c->holds, page);
				veil_guest_add_page_bytes(c, VEIL_GUEST_CAT_SOCKET, page,
							  sge->offset, sge->length);
			}
		}
		sk_msg_iter_var_next(i);
	}
}

/* Plaintext the TX context keeps (see the top); under the socket's lock. */
static void veil_guest_tls_tx_records(struct tls_context *ctx, struct veil_guest_collect *c)
{
	struct tls_sw_context_tx *tx = tls_sw_ctx_tx(ctx);
	struct veil_guest_tls_rec *rec;

	if (tx->open_rec)
		veil_guest_tls_msg(&((struct veil_guest_tls_rec *)tx->open_rec)->msg_plaintext, c);
	list_for_each_entry(rec, &tx->tx_list, list)
		veil_guest_tls_msg(&rec->msg_plaintext, c);
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
	if (tx && ctx->priv_ctx_tx)
		veil_guest_tls_tx_records(ctx, c);
	if ((rx || ctx->rx_conf == TLS_HW) && ctx->priv_ctx_rx)
		veil_guest_collect_queue(&tls_sw_ctx_rx(ctx)->rx_list, NULL, true, c);
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

/* The TLS context of @sk, closed by an excluded process, with zero_freed on. */
static struct tls_context *veil_guest_tls_closing(struct sock *sk)
{
	bool privileged;

	if (!sk || !veil_guest_zero_freed_on() || !veil_guest_sel_current(&privileged))
		return NULL;
	return tls_get_ctx(sk);
}

/* tls_sw_release_resources_rx(sk): rx_list is purged next. */
static int veil_guest_tls_release_rx_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct tls_context *ctx;
	struct sk_buff *skb;

	ctx = veil_guest_tls_closing((struct sock *)regs_get_kernel_argument(regs, 0));
	if (!ctx || !ctx->priv_ctx_rx)
		return 0;
	skb_queue_walk(&tls_sw_ctx_rx(ctx)->rx_list, skb)
		veil_guest_skb_zero_unread(skb, 0);
	return 0;
}

/* tls_sw_release_resources_tx(sk): the open record is freed unsent. */
static int veil_guest_tls_release_tx_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct veil_guest_tls_rec *rec;
	struct tls_context *ctx;

	ctx = veil_guest_tls_closing((struct sock *)regs_get_kernel_argument(regs, 0));
	if (!ctx || !ctx->priv_ctx_tx)
		return 0;
	rec = (struct veil_guest_tls_rec *)tls_sw_ctx_tx(ctx)->open_rec;
	if (rec)
		veil_guest_tls_msg(&rec->msg_plaintext, NULL);
	return 0;
}

static struct kprobe veil_guest_tls_release_rx_kp = {
	.symbol_name = "tls_sw_release_resources_rx",
	.pre_handler = veil_guest_tls_release_rx_hit,
};

static struct kprobe veil_guest_tls_release_tx_kp = {
	.symbol_name = "tls_sw_release_resources_tx",
	.pre_handler = veil_guest_tls_release_tx_hit,
};

VEIL_GUEST_PROBES_IN(veil_guest_tls_probes, true,
		     "what kernel TLS kept in clear for an excluded process is freed unzeroed when it closes the socket",
		     &veil_guest_tls_release_rx_kp, &veil_guest_tls_release_tx_kp);

/* Set at the first exclusion: the probes are wanted whenever tls is loaded. */
static bool veil_guest_tls_wanted;

/* At each exclusion: from now on, whenever the tls module is loaded. */
void veil_guest_tls_arm(void)
{
	WRITE_ONCE(veil_guest_tls_wanted, true);
	veil_guest_probes_arm(&veil_guest_tls_probes);
}

static int veil_guest_tls_module_event(struct notifier_block *nb, unsigned long state,
				       void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, "tls"))
		return NOTIFY_DONE;
	if (state == MODULE_STATE_LIVE && READ_ONCE(veil_guest_tls_wanted))
		veil_guest_probes_arm(&veil_guest_tls_probes);
	else if (state == MODULE_STATE_GOING)
		veil_guest_probes_disarm(&veil_guest_tls_probes);
	return NOTIFY_DONE;
}

static struct notifier_block veil_guest_tls_module_nb = {
	.notifier_call = veil_guest_tls_module_event,
};

int veil_guest_tls_init(void)
{
	return register_module_notifier(&veil_guest_tls_module_nb);
}

void veil_guest_tls_exit(void)
{
	unregister_module_notifier(&veil_guest_tls_module_nb);
	veil_guest_probes_disarm(&veil_guest_tls_probes);
}

#else

void veil_guest_collect_tls(struct sock *sk, struct file *file, struct veil_guest_collect *c)
{
}

void veil_guest_tls_arm(void)
{
}

int veil_guest_tls_init(void)
{
	return 0;
}

void veil_guest_tls_exit(void)
{
}

#endif
