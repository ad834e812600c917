// SPDX-License-Identifier: GPL-2.0
/*
 * veil-disk benchmark: the kernel's speed for each cipher veil-disk knows,
 * for both sector sizes, measured through AF_ALG (the kernel crypto API
 * from user space, as cryptsetup benchmark does) with one request per
 * sector and the sector number as IV, as dm-veilcrypt asks it; and the
 * Argon2id cost a new keyslot would get on this machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_alg.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "vdisk.h"

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

#define BENCH_BUF	(1 << 20)

/* A transform socket for @alg with @key, or -1 (errno set). */
static int alg_open(const char *alg, const uint8_t *key, uint32_t key_len)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "skcipher" };
	int tfm, op;

	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", alg);
	tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (tfm < 0)
		return -1;
	if (bind(tfm, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(tfm, SOL_ALG, ALG_SET_KEY, key, key_len)) {
		close(tfm);
		return -1;
	}
	op = accept4(tfm, NULL, 0, SOCK_CLOEXEC);
	close(tfm);
	return op;
}

/* One sector through the kernel: encrypt or decrypt in place. */
static int alg_sector(int op, bool enc, uint64_t sector, uint32_t iv_size,
		      uint8_t *buf, uint32_t len)
{
	char cbuf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + 32)];
	struct iovec iov = { buf, len };
	struct msghdr msg = { 0 };
	struct af_alg_iv *iv;
	struct cmsghdr *c;
	ssize_t n;

	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf;
	msg.msg_controllen = CMSG_SPACE(sizeof(uint32_t)) +
			     CMSG_SPACE(sizeof(struct af_alg_iv) + iv_size);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_OP;
	c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
	*(uint32_t *)CMSG_DATA(c) = enc ? ALG_OP_ENCRYPT : ALG_OP_DECRYPT;
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_IV;
	c->cmsg_len = CMSG_LEN(sizeof(struct af_alg_iv) + iv_size);
	iv = (struct af_alg_iv *)CMSG_DATA(c);
	iv->ivlen = iv_size;
	memcpy(iv->iv, &sector, sizeof(sector));	/* plain64: little-endian */
	if (sendmsg(op, &msg, 0) != (ssize_t)len)
		return -1;
	n = read(op, buf, len);
	return n == (ssize_t)len ? 0 : -1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* MiB/s of @enc over a 1 MiB buffer for about @msecs, or -1. */
static double bench_one(int op, bool enc, uint32_t iv_size, uint32_t ss,
			uint8_t *buf, uint32_t msecs)
{
	double t0 = now_s(), t;
	uint64_t bytes = 0, sector = 0;
	uint32_t off;

	do {
		for (off = 0; off < BENCH_BUF; off += ss, sector++)
			if (alg_sector(op, enc, sector, iv_size, buf + off, ss))
				return -1;
		bytes += BENCH_BUF;
		t = now_s() - t0;
	} while (t * 1000 < msecs);
	return bytes / t / (1 << 20);
}

int cmd_benchmark(const struct bench_opts *o)
{
	static const uint32_t sizes[] = { 512, 4096 };
	json_t *rows = json_array(), *kdf;
	uint8_t key[VEILCRYPT_MAX_KEY_SIZE];
	struct vcrypt_keyslot ks = { 0 };
	uint8_t *buf = malloc(BENCH_BUF);
	double enc, dec;
	size_t i, j, k;
	long ms;
	int op, r;

	if (!buf || !rows || RAND_bytes(buf, BENCH_BUF) != 1 ||
	    RAND_bytes(key, sizeof(key)) != 1) {
		err("benchmark: no memory or no random bytes");
		return VEIL_EXIT_FAILED;
	}
	if (o->cipher && !cipher_by_name(o->cipher)) {
		err("unknown cipher '%s'", o->cipher);
		return VEIL_EXIT_USAGE;
	}
	if (!o->json)
		printf("# one kernel crypto request per sector (AF_ALG), MiB/s\n"
		       "#%31s %8s %6s %10s %10s\n", "cipher", "key bits", "sector",
		       "encrypt", "decrypt");
	for (i = 0; i < nciphers; i++) {
		const struct cipher_info *c = &ciphers[i];

		if (o->cipher ? cipher_by_name(o->cipher) != c :
		    (i && ciphers[i - 1].id == c->id))
			continue;	/* aliases once */
		for (k = 0; k < 4 && c->key_sizes[k]; k++) {
			op = alg_open(c->alg, key, c->key_sizes[k]);
			for (j = 0; j < 2; j++) {
				if (o->sector_size && sizes[j] != o->sector_size)
					continue;
				enc = dec = -1;
				if (op >= 0) {
					enc = bench_one(op, true, c->iv_size, sizes[j], buf, o->msecs);
					dec = bench_one(op, false, c->iv_size, sizes[j], buf, o->msecs);
				}
				if (o->json) {
					json_array_append_new(rows, json_pack("{s:s, s:s, s:i, s:i, s:o, s:o}",
						"cipher", c->name, "kernel_alg", c->alg,
						"key_bits", (int)c->key_sizes[k] * 8,
						"sector_size", (int)sizes[j],
						"encrypt_mib_s", enc < 0 ? json_null() : json_real(enc),
						"decrypt_mib_s", dec < 0 ? json_null() : json_real(dec)));
				} else if (enc < 0 || dec < 0) {
					printf("%32s %8u %6u %10s %10s\n", c->name,
					       c->key_sizes[k] * 8, sizes[j], "n/a", "n/a");
				} else {
					printf("%32s %8u %6u %10.1f %10.1f\n", c->name,
					       c->key_sizes[k] * 8, sizes[j], enc, dec);
				}
			}
			if (op >= 0)
				close(op);
		}
	}
	free(buf);

	r = pbkdf_choose(&o->pbkdf, &ks);
	if (r) {
		json_decref(rows);
		return r;
	}
	ms = pbkdf_time_ms(&ks);
	if (o->json) {
		kdf = json_pack("{s:s, s:i, s:i, s:i, s:I}", "kdf", "argon2id",
				"iterations", (int)ks.kdf_iterations,
				"memory_kib", (int)ks.kdf_memory,
				"parallel", (int)ks.kdf_parallel, "ms", (json_int_t)ms);
		json_result(json_pack("{s:o, s:o}", "ciphers", rows, "pbkdf", kdf));
	} else {
		json_decref(rows);
		printf("# a new keyslot: argon2id %u iterations, %u KiB, %u lanes: %ld ms\n",
		       ks.kdf_iterations, ks.kdf_memory, ks.kdf_parallel, ms);
	}
	return VEIL_EXIT_OK;
}
