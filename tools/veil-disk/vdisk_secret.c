// SPDX-License-Identifier: GPL-2.0
/*
 * veil-disk's secrets: passphrases (from the terminal without echo, or one
 * line of standard input), key files (every byte, read to the end) and
 * keyring keys of type user.  They and the volume key live in one locked
 * allocation that is wiped when veil-disk exits, however it exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "vdisk.h"

struct vault *vault;

static void vault_wipe(void)
{
	if (vault)
		OPENSSL_cleanse(vault, sizeof(*vault));
}

/* Locked, never dumped, wiped at exit. */
int vault_init(void)
{
	void *p = mmap(NULL, sizeof(*vault), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		err("cannot allocate memory for keys: %s", strerror(errno));
		return -1;
	}
	if (mlock(p, sizeof(*vault)))
		warn("warning: cannot lock key memory: %s", strerror(errno));
	madvise(p, sizeof(*vault), MADV_DONTDUMP);
	vault = p;
	atexit(vault_wipe);
	return 0;
}

void secret_clear(struct secret *s)
{
	OPENSSL_cleanse(s->buf, sizeof(s->buf));
	s->len = 0;
	s->kind = 0;
}

/* Every byte of @fd up to @cap; more than @cap is an error. */
static int read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	ssize_t r;
	uint8_t extra;

	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == cap) {
		do {
			r = read(fd, &extra, 1);
		} while (r < 0 && errno == EINTR);
		if (r > 0)
			return -EFBIG;
	}
	*len = n;
	return 0;
}

/* Exactly @len bytes from @path (a volume key file). */
int read_file_exact(const char *path, uint8_t *buf, size_t len)
{
	uint8_t tmp[VEILCRYPT_MAX_KEY_SIZE + 1];
	size_t n = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err("%s: %s", path, strerror(errno));
		return VEIL_EXIT_NOT_FOUND;
	}
	r = read_all(fd, tmp, sizeof(tmp), &n);
	close(fd);
	if (r || n != len) {
		err("%s: want exactly %zu bytes, %s", path, len,
		    r == -EFBIG || n > len ? "it is longer" :
		    r ? strerror(-r) : "it is shorter");
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return VEIL_EXIT_USAGE;
	}
	memcpy(buf, tmp, len);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return VEIL_EXIT_OK;
}

static int secret_from_file(struct secret *s, const char *path)
{
	int fd = 0, r;

	if (strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err("%s: %s", path, strerror(errno));
			return errno == ENOENT ? VEIL_EXIT_NOT_FOUND : VEIL_EXIT_FAILED;
		}
	}
	r = read_all(fd, s->buf, sizeof(s->buf), &s->len);
	if (fd)
		close(fd);
	if (r) {
		err("%s: %s", path, r == -EFBIG ? "key file larger than 8 KiB" :
		    strerror(-r));
		return r == -EFBIG ? VEIL_EXIT_USAGE : VEIL_EXIT_FAILED;
	}
	if (!s->len) {
		err("%s: empty key file", path);
		return VEIL_EXIT_USAGE;
	}
	s->kind = VEILCRYPT_SLOT_KEYFILE;
	return VEIL_EXIT_OK;
}

static int secret_from_keyring(struct secret *s, const char *type_desc)
{
	int r;

	if (strncmp(type_desc, "user:", 5) || !type_desc[5]) {
		err("--key-desc wants user:DESCRIPTION, got '%s' (veil-disk reads only user keys)",
		    type_desc);
		return VEIL_EXIT_USAGE;
	}
	r = keyring_read_user(type_desc + 5, s->buf, sizeof(s->buf), &s->len);
	if (r)
		return r;
	if (!s->len) {
		err("keyring key '%s' is empty", type_desc + 5);
		return VEIL_EXIT_USAGE;
	}
	s->kind = VEILCRYPT_SLOT_KEYRING;
	return VEIL_EXIT_OK;
}

/* One line from @f without its newline; 0 on success. */
static int read_line(FILE *f, struct secret *s)
{
	int c;

	s->len = 0;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (s->len == 512)
			return -EFBIG;
		s->buf[s->len++] = (uint8_t)c;
	}
	if (c == EOF && !s->len)
		return -ENODATA;
	return 0;
}

static int prompt_tty(struct secret *s, const char *prompt)
{
	struct termios old, quiet;
	FILE *tty;
	int r;

	tty = fopen("/dev/tty", "r+e");
	if (!tty)
		return -errno;
	fprintf(tty, "%s: ", prompt);
	fflush(tty);
	if (tcgetattr(fileno(tty), &old)) {
		fclose(tty);
		return -errno;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	r = read_line(tty, s);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return r;
}

static int secret_passphrase(struct secret *s, const char *prompt, bool confirm)
{
	static struct secret again;
	bool tty = isatty(0);
	int r;

	r = tty ? prompt_tty(s, prompt) : read_line(stdin, s);
	if (!r && tty && confirm) {
		r = prompt_tty(&again, "Verify passphrase");
		if (!r && (again.len != s->len || memcmp(again.buf, s->buf, s->len)))
			r = -EINVAL;
		secret_clear(&again);
	}
	if (r) {
		err("%s: %s", prompt, r == -ENODATA ? "no passphrase on standard input" :
		    r == -EFBIG ? "longer than 512 bytes" :
		    r == -EINVAL ? "the two entries differ" : strerror(-r));
		secret_clear(s);
		return VEIL_EXIT_USAGE;
	}
	if (!s->len) {
		err("%s: empty passphrase", prompt);
		return VEIL_EXIT_USAGE;
	}
	s->kind = VEILCRYPT_SLOT_PASSPHRASE;
	return VEIL_EXIT_OK;
}

int secret_read(struct secret *s, const struct secret_source *src,
		const char *prompt, bool confirm)
{
	secret_clear(s);
	if (src->key_file && src->key_desc) {
		err("give a key file or a keyring key, not both");
		return VEIL_EXIT_USAGE;
	}
	if (src->key_file)
		return secret_from_file(s, src->key_file);
	if (src->key_desc)
		return secret_from_keyring(s, src->key_desc);
	return secret_passphrase(s, prompt, confirm);
}
