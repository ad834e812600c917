// SPDX-License-Identifier: GPL-2.0
/*
 * vault: a process that keeps a secret, for the end-to-end tests and the
 * demo.  The secret is 64 printable bytes derived from a seed at run time,
 * so it is in no file of the test images.
 *
 *   vault hold SEED [MIB]  keep the secret in anonymous memory (twice), a
 *                          file in /tmp, a pipe, and unread in both ends
 *                          of a UNIX stream and datagram socket pair, a
 *                          TCP connection over loopback and a pty of its
 *                          own (raw mode), and in four vector registers
 *                          while it sleeps;
 *                          check it every 100 ms and exit 3 the moment any
 *                          copy it can see is damaged; with MIB, also fill
 *                          that much anonymous memory with data that does
 *                          not compress (for benchmarks); SIGUSR1 makes
 *                          it check all of that memory, print "bulk check
 *                          N: P pages intact" and exit 3 if any is damaged;
 *                          secrets of their own (seeds SEED.key, SEED.tls,
 *                          SEED.closed, SEED.msg) go where only the kernel
 *                          keeps them, its own copies wiped: a user key in
 *                          its process keyring (read back every 100 ms),
 *                          the key of a kernel TLS connection to itself
 *                          (a record sent through it every 100 ms) when
 *                          the kernel has TLS; the first SIGUSR2 (after
 *                          its exclusion) makes it write a file and close
 *                          it, and queue a System V message; each later
 *                          one receives the message, checks it and queues
 *                          it again
 *   vault app SEED         a libveil application: keep the secret in one
 *                          protected page, print each checkpoint event,
 *                          check the secret every 100 ms and exit 3 if it
 *                          is damaged, but after RESTORED say whether the
 *                          page was zeroed and derive the secret again
 *   vault find SEED FILE   print how many times the secret occurs in FILE
 *   vault pieces SEED FILE print how many times its four 16-byte pieces do
 *   vault show SEED        print the secret (for a person, never in tests)
 *   vault lib FILE         map FILE read-only, touch and read every page of
 *                          it, keep it open and wait (what a process that
 *                          links a shared library does to its page cache)
 *   vault as UID PROG ARG...  run PROG as user and group UID, no other
 *                          group (a guest user without privileges)
 *   vault feed PORT|FIFO   write bytes that are never zero to a sink until
 *                          the connection (loopback TCP PORT) or the named
 *                          FIFO (an absolute path) holds all it can; wait
 *   vault sink PORT|FIFO   take the feeder's connection, or make the FIFO
 *                          and open it; read nothing until SIGUSR1, then
 *                          read to the end and say how many bytes came,
 *                          how many zero, and how it ended
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <linux/tls.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "libveil.h"

#define SECRET_LEN 64

static void make_secret(const char *seed, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (const char *p = seed; *p; p++)
		x = (x ^ (unsigned char)*p) * 0x100000001b3ULL;
	for (int i = 0; i < SECRET_LEN; i++) {
		uint64_t z;

		x += 0x9e3779b97f4a7c15ULL;
		z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		out[i] = abc[z % (sizeof(abc) - 1)];
	}
}

/* The secret a vault keeps in one place of the kernel: seed "SEED.WHAT". */
static void make_secret_of(const char *seed, const char *what, char *out)
{
	char name[256];

	snprintf(name, sizeof(name), "%s.%s", seed, what);
	make_secret(name, out);
}

/*
 * How many times the secret, or with piece > 0 any of its piece-byte
 * aligned pieces (as in vector registers), occurs in FILE.
 */
static int cmd_find(const char *seed, const char *path, int piece)
{
	char secret[SECRET_LEN];
	int len = piece ? piece : SECRET_LEN;
	struct stat st;
	long long count = 0;
	const char *data;
	int fd;

	make_secret(seed, secret);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "vault: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (st.st_size >= len) {
		data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			fprintf(stderr, "vault: mmap %s: %s\n", path, strerror(errno));
			return 2;
		}
		for (int off = 0; off < SECRET_LEN; off += len)
			for (const char *p = data, *end = data + st.st_size - len + 1;
			     (p = memchr(p, secret[off], end - p)); p++)
				if (!memcmp(p, secret + off, len))
					count++;
	}
	printf("%lld\n", count);
	return 0;
}

/* Writes the secret somewhere the kernel keeps it until it is read. */
static int stash(int fd, const char *secret, const char *what)
{
	if (write(fd, secret, SECRET_LEN) != SECRET_LEN) {
		fprintf(stderr, "vault: writing to the %s: %s\n", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* The secret written, and left unread, both ways on a connected pair. */
static int stash_pair(int a, int b, const char *secret, const char *what)
{
	return stash(a, secret, what) || stash(b, secret, what) ? -1 : 0;
}

/* A TCP connection to itself over loopback: fd[0] connected, fd[1] accepted. */
static int tcp_pair(int fd[2])
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int l;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sin, &len))
		return -1;
	fd[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fd[0] < 0 || connect(fd[0], (struct sockaddr *)&sin, sizeof(sin)))
		return -1;
	fd[1] = accept(l, NULL, NULL);
	close(l);
	return fd[1] < 0 ? -1 : 0;
}

/* Is the secret still the first unread data on fd?  Reads nothing. */
static int peek_ok(int fd, const char *secret)
{
	char got[SECRET_LEN];

	return recv(fd, got, SECRET_LEN, MSG_PEEK | MSG_DONTWAIT) == SECRET_LEN &&
	       !memcmp(got, secret, SECRET_LEN);
}

/* A pty in raw mode (no echo, no signal characters): fd[0] master, fd[1] slave. */
static int pty_pair(int fd[2])
{
	struct termios tio;
	char *name;

	fd[0] = posix_openpt(O_RDWR | O_NOCTTY);
	if (fd[0] < 0 || grantpt(fd[0]) || unlockpt(fd[0]))
		return -1;
	name = ptsname(fd[0]);
	fd[1] = name ? open(name, O_RDWR | O_NOCTTY) : -1;
	if (fd[1] < 0 || tcgetattr(fd[1], &tio))
		return -1;
	cfmakeraw(&tio);
	return tcsetattr(fd[1], TCSANOW, &tio);
}

/* Is exactly the secret's length waiting to be read on a TTY? */
static int tty_ok(int fd)
{
	int n = -1;

	return !ioctl(fd, FIONREAD, &n) && n == SECRET_LEN;
}

/* Is the secret still queued, unread, on every socket end and the pty? */
static int queued_ok(const int us[2], const int ud[2], const int tcp[2],
		     const int pty[2], const char *secret)
{
	const int socks[] = { us[0], us[1], ud[0], ud[1], tcp[0], tcp[1] };
	int i;

	for (i = 0; i < 6; i++)
		if (!peek_ok(socks[i], secret))
			return 0;
	return tty_ok(pty[0]) && tty_ok(pty[1]);
}

/*
 * Sleeps 100 ms with the secret in xmm0-xmm3, through a raw system call so
 * that no library code touches them: while the vault is frozen for a
 * checkpoint they are in its saved FPU state.  Cleared afterwards.
 */
static void sleep_holding_registers(const char *secret)
{
	struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	long ret;

	__asm__ volatile("movdqu 0(%1), %%xmm0\n\t"
			 "movdqu 16(%1), %%xmm1\n\t"
			 "movdqu 32(%1), %%xmm2\n\t"
			 "movdqu 48(%1), %%xmm3\n\t"
			 "syscall\n\t"
			 "pxor %%xmm0, %%xmm0\n\t"
			 "pxor %%xmm1, %%xmm1\n\t"
			 "pxor %%xmm2, %%xmm2\n\t"
			 "pxor %%xmm3, %%xmm3"
			 : "=a"(ret)
			 : "r"(secret), "0"((long)SYS_nanosleep), "D"(&ts), "S"(NULL)
			 : "rcx", "r11", "xmm0", "xmm1", "xmm2", "xmm3", "memory");
	(void)ret;
}

/* A user key in the process keyring holds SEED.key; -1 on error. */
static long key_stash(const char *seed)
{
	char desc[64], s[SECRET_LEN];
	long key;

	make_secret_of(seed, "key", s);
	snprintf(desc, sizeof(desc), "vault:%s", seed);
	key = syscall(SYS_add_key, "user", desc, s, SECRET_LEN, KEY_SPEC_PROCESS_KEYRING);
	explicit_bzero(s, sizeof(s));
	return key;
}

/* Does the key still hold SEED.key?  Reads it back, and wipes both copies. */
static int key_ok(long key, const char *seed)
{
	char got[SECRET_LEN], want[SECRET_LEN];
	int ok;

	ok = syscall(SYS_keyctl, KEYCTL_READ, key, got, sizeof(got)) == SECRET_LEN;
	make_secret_of(seed, "key", want);
	ok = ok && !memcmp(got, want, SECRET_LEN);
	explicit_bzero(got, sizeof(got));
	explicit_bzero(want, sizeof(want));
	return ok;
}

/*
 * A TCP connection over loopback whose ends speak kernel TLS 1.2 with
 * AES-256-GCM, keyed with the first 32 bytes of SEED.tls: fd[0] sends,
 * fd[1] receives.  Returns 0, 1 when the kernel has no TLS (why in
 * *err), or -1.
 */
static int tls_pair(const char *seed, int fd[2], int *err)
{
	struct tls12_crypto_info_aes_gcm_256 ci;
	struct timeval tv = { .tv_sec = 10 };
	char s[SECRET_LEN];
	int bad;

	if (tcp_pair(fd))
		return -1;
	if (setsockopt(fd[0], IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"))) {
		*err = errno;
		return 1;
	}
	memset(&ci, 0, sizeof(ci));
	ci.info.version = TLS_1_2_VERSION;
	ci.info.cipher_type = TLS_CIPHER_AES_GCM_256;
	make_secret_of(seed, "tls", s);
	memcpy(ci.key, s, sizeof(ci.key));
	bad = setsockopt(fd[1], IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")) ||
	      setsockopt(fd[0], SOL_TLS, TLS_TX, &ci, sizeof(ci)) ||
	      setsockopt(fd[1], SOL_TLS, TLS_RX, &ci, sizeof(ci)) ||
	      setsockopt(fd[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*err = errno;
	explicit_bzero(&ci, sizeof(ci));
	explicit_bzero(s, sizeof(s));
	return bad ? -1 : 0;
}

/* One record through the TLS connection: both ends' keys still work. */
static int tls_ok(const int fd[2])
{
	static unsigned int n;
	char out[32], in[32];
	int len;

	len = snprintf(out, sizeof(out), "record %u", ++n);
	return send(fd[0], out, len, 0) == len && recv(fd[1], in, sizeof(in), 0) == len &&
	       !memcmp(in, out, len);
}

struct vault_msg {
	long mtype;
	char text[SECRET_LEN];
};

/*
 * After the exclusion: SEED.closed written to a file that is then closed,
 * SEED.msg queued on a new System V message queue (its id in *msq).
 */
static int late_stash(const char *seed, int *msq)
{
	struct vault_msg m = { .mtype = 1 };
	char path[256];
	int fd, bad;

	snprintf(path, sizeof(path), "/tmp/vault-%s-closed.dat", seed);
	make_secret_of(seed, "closed", m.text);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	bad = fd < 0 || stash(fd, m.text, "closed file") || close(fd);
	make_secret_of(seed, "msg", m.text);
	*msq = msgget(IPC_PRIVATE, 0600);
	bad = bad || *msq < 0 || msgsnd(*msq, &m, SECRET_LEN, 0);
	explicit_bzero(&m, sizeof(m));
	return bad ? -1 : 0;
}

/* Receives the queued message, compares it with SEED.msg and queues it again. */
static int msg_ok(int msq, const char *seed)
{
	struct vault_msg got, want = { .mtype = 1 };
	int ok;

	ok = msgrcv(msq, &got, SECRET_LEN, 0, IPC_NOWAIT) == SECRET_LEN;
	make_secret_of(seed, "msg", want.text);
	ok = ok && !memcmp(got.text, want.text, SECRET_LEN) &&
	     !msgsnd(msq, &want, SECRET_LEN, 0);
	explicit_bzero(&got, sizeof(got));
	explicit_bzero(&want, sizeof(want));
	return ok;
}

static volatile sig_atomic_t late_requests;

static void late_request(int sig)
{
	(void)sig;
	late_requests++;
}

/* MiB of non-zero, incompressible anonymous memory, kept until exit. */
static uint64_t *bulk;
static size_t bulk_len;
static uint64_t bulk_seed;
static volatile sig_atomic_t bulk_check_due;

static void bulk_sequence(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
}

static int fill(const char *seed, unsigned long mib)
{
	uint64_t x;

	if (!mib)
		return 0;
	bulk_len = mib << 20;
	bulk_seed = 0x2545f4914f6cdd1dULL ^ (uintptr_t)seed[0];
	bulk = mmap(NULL, bulk_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bulk == MAP_FAILED) {
		fprintf(stderr, "vault: cannot map %lu MiB: %s\n", mib, strerror(errno));
		return -1;
	}
	x = bulk_seed;
	for (size_t i = 0; i < bulk_len / sizeof(*bulk); i++) {
		bulk_sequence(&x);
		bulk[i] = x | 1;
	}
	return 0;
}

static void bulk_check_request(int sig)
{
	(void)sig;
	bulk_check_due = 1;
}

/* Pages of the bulk memory that no longer hold what fill() wrote. */
static size_t bulk_damaged(void)
{
	uint64_t x = bulk_seed;
	size_t i, bad = 0, page_bad = 0;

	for (i = 0; i < bulk_len / sizeof(*bulk); i++) {
		bulk_sequence(&x);
		page_bad |= bulk[i] != (x | 1);
		if ((i + 1) % (4096 / sizeof(*bulk)) == 0) {
			bad += page_bad;
			page_bad = 0;
		}
	}
	return bad;
}

static int cmd_hold(const char *seed, unsigned long mib)
{
	char path[256], check[SECRET_LEN];
	int pipefd[2], us[2], ud[2], tcp[2], pty[2], tls[2], fd, i, bad;
	int ktls, tls_err = 0, msq = -1, late_done = 0;
	char *mem;
	long key;

	if (fill(seed, mib))
		return 2;
	mem = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	/* one copy at the start of a 2 MiB region, one near its end */
	make_secret(seed, mem);
	make_secret(seed, mem + (2 << 20) - 4096);

	snprintf(path, sizeof(path), "/tmp/vault-%s.dat", seed);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || stash(fd, mem, "file"))
		return 2;
	if (pipe(pipefd) || stash(pipefd[1], mem, "pipe"))
		return 2;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, us) ||
	    stash_pair(us[0], us[1], mem, "UNIX stream socket") ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, ud) ||
	    stash_pair(ud[0], ud[1], mem, "UNIX datagram socket"))
		return 2;
	if (tcp_pair(tcp)) {
		fprintf(stderr, "vault: TCP over loopback: %s\n", strerror(errno));
		return 2;
	}
	if (stash_pair(tcp[0], tcp[1], mem, "TCP connection"))
		return 2;
	if (pty_pair(pty)) {
		fprintf(stderr, "vault: pty: %s\n", strerror(errno));
		return 2;
	}
	if (stash_pair(pty[0], pty[1], mem, "pty"))
		return 2;
	key = key_stash(seed);
	if (key < 0) {
		fprintf(stderr, "vault: add_key: %s\n", strerror(errno));
		return 2;
	}
	ktls = tls_pair(seed, tls, &tls_err);
	if (ktls < 0) {
		fprintf(stderr, "vault: kernel TLS: %s\n", strerror(tls_err ? tls_err : errno));
		return 2;
	}
	printf("vault %d: a user key in its keyring; kernel TLS: %s\n", getpid(),
	       ktls ? strerror(tls_err) : "a connection to itself");
	signal(SIGUSR2, late_request);

	/*
	 * TCP over loopback and the pty deliver asynchronously (softirq, the
	 * pty's flip-buffer work): wait until everything has arrived before
	 * checking it.
	 */
	for (i = 0; !queued_ok(us, ud, tcp, pty, mem); i++) {
		if (i == 500) {
			fprintf(stderr, "vault: the queued secret did not arrive in 5 s\n");
			return 2;
		}
		usleep(10000);
	}
	printf("vault %d holds its secret\n", getpid());
	fflush(stdout);
	if (bulk)
		signal(SIGUSR1, bulk_check_request);
	i = 0;
	for (;;) {
		if (bulk_check_due) {
			size_t bad = bulk_damaged();

			bulk_check_due = 0;
			if (bad) {
				fprintf(stderr, "vault %d: %zu of %zu bulk pages damaged\n",
					getpid(), bad, bulk_len / 4096);
				return 3;
			}
			printf("vault %d: bulk check %d: %zu pages intact\n", getpid(),
			       ++i, bulk_len / 4096);
			fflush(stdout);
		}
		if (late_requests && msq < 0) {
			if (late_stash(seed, &msq)) {
				fprintf(stderr, "vault: the closed file or the message: %s\n",
					strerror(errno));
				return 2;
			}
			late_done = 1;
			printf("vault %d stashed after its exclusion: a closed file, a System V message\n",
			       getpid());
			fflush(stdout);
		}
		if (late_requests > late_done) {
			late_done = late_requests;
			if (!msg_ok(msq, seed)) {
				fprintf(stderr, "vault %d: the System V message was damaged\n",
					getpid());
				return 3;
			}
			printf("vault %d: System V message intact\n", getpid());
			fflush(stdout);
		}
		if (!key_ok(key, seed) || (!ktls && !tls_ok(tls))) {
			fprintf(stderr, "vault %d: the secret was damaged (%s: %s)\n", getpid(),
				key_ok(key, seed) ? "its kernel TLS connection" : "its key",
				strerror(errno));
			return 3;
		}
		make_secret(seed, check);
		bad = !queued_ok(us, ud, tcp, pty, check);
		if (bad || memcmp(mem, check, SECRET_LEN) ||
		    memcmp(mem + (2 << 20) - 4096, check, SECRET_LEN) ||
		    pread(fd, check, SECRET_LEN, 0) != SECRET_LEN ||
		    memcmp(mem, check, SECRET_LEN)) {
			fprintf(stderr, "vault %d: the secret was damaged%s\n", getpid(),
				bad ? " (in a socket or its pty)" : "");
			return 3;
		}
		sleep_holding_registers(mem);
	}
}

/*
 * Reads every queued event; after RESTORED, says whether the page was
 * zeroed and derives the secret again.
 */
static void app_events(struct veil *v, const char *seed, char *mem)
{
	struct veil_event ev;
	int i, zero;

	while (veil_read_event(v, &ev) == 1) {
		printf("event %s\n", veil_event_name(ev.type));
		if (ev.type == VEIL_EVENT_RESTORED) {
			for (i = 0, zero = 1; i < SECRET_LEN; i++)
				zero &= !mem[i];
			printf("restored: the protected page %s\n",
			       zero ? "was zeroed" : "still holds the secret");
			make_secret(seed, mem);
		}
		fflush(stdout);
	}
}

/*
 * Everything that holds the secret lives in the protected page: the secret
 * and the buffer it is checked against.  A process resumed from a
 * sanitized checkpoint goes on wherever it was stopped, possibly in the
 * middle of the check, with the page already zero; RESTORED is queued
 * before it runs again, so a failed check looks at the events first.
 */
static int cmd_app(const char *seed)
{
	char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem = page, *check = page + 2048;
	struct pollfd pfd;
	struct veil *v;

	if (page == MAP_FAILED)
		return 2;
	v = veil_open();
	if (!v || veil_protect(v, page, 4096) || veil_event_fd(v) < 0 ||
	    fcntl(veil_event_fd(v), F_SETFL, O_NONBLOCK)) {
		fprintf(stderr, "vault: libveil: %s\n", strerror(errno));
		return 2;
	}
	make_secret(seed, mem);
	pfd.fd = veil_event_fd(v);
	pfd.events = POLLIN;
	printf("vault %d holds its secret in a page protected by libveil\n", getpid());
	fflush(stdout);
	for (;;) {
		poll(&pfd, 1, 100);
		app_events(v, seed, mem);
		make_secret(seed, check);
		if (!memcmp(mem, check, SECRET_LEN))
			continue;
		app_events(v, seed, mem);
		make_secret(seed, check);
		if (memcmp(mem, check, SECRET_LEN)) {
			fprintf(stderr, "vault %d: the secret was damaged\n", getpid());
			return 3;
		}
	}
}

/*
 * The feeder's end: a connection to a sink on loopback port @where, or the
 * write end of the FIFO @where (an absolute path) a sink has open.
 */
static int feed_open(const char *where)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int s;

	if (where[0] == '/')
		return open(where, O_WRONLY | O_NONBLOCK);
	sin.sin_port = htons(strtoul(where, NULL, 10));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)) ||
	    fcntl(s, F_SETFL, O_NONBLOCK))
		return -1;
	return s;
}

/*
 * feed: writes until the connection or FIFO holds all it can (the sink
 * reads nothing yet), then waits.  Its unsent and unacknowledged data are
 * in its socket's queues, or in the pipe, which a veil checkpoint zeroes.
 */
static int cmd_feed(const char *where)
{
	static char buf[65536];
	long total = 0;
	ssize_t n;
	int s;

	memset(buf, 0xa5, sizeof(buf));
	s = feed_open(where);
	if (s < 0) {
		fprintf(stderr, "vault feed: %s: %s\n", where, strerror(errno));
		return 2;
	}
	while ((n = write(s, buf, sizeof(buf))) > 0 || errno == EINTR)
		total += n > 0 ? n : 0;
	printf("feed %d: %ld bytes written\n", getpid(), total);
	fflush(stdout);
	for (;;)
		pause();
}

static volatile sig_atomic_t sink_go;

static void sink_start(int sig)
{
	(void)sig;
	sink_go = 1;
}

/*
 * The sink's end, in blocking mode: the read end of the FIFO @where (made
 * here, open before any feeder comes), or the one connection a listener
 * on loopback port @where accepts.  Says "listening" once a feeder can
 * come.
 */
static int sink_open(const char *where)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int l, c, one = 1;

	if (where[0] == '/') {
		unlink(where);
		if (mkfifo(where, 0600))
			return -1;
		c = open(where, O_RDONLY | O_NONBLOCK);
		if (c < 0 || fcntl(c, F_SETFL, 0))
			return -1;
		printf("sink %d listening\n", getpid());
		fflush(stdout);
		return c;
	}
	sin.sin_port = htons(strtoul(where, NULL, 10));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 1))
		return -1;
	printf("sink %d listening\n", getpid());
	fflush(stdout);
	return accept(l, NULL, NULL);
}

/*
 * sink: reads nothing until SIGUSR1; then reads to the end and says how
 * many bytes came, how many of them zero (the feeder writes none), and
 * how the connection or pipe ended.
 */
static int cmd_sink(const char *where)
{
	static char buf[65536];
	long total = 0, zero = 0;
	ssize_t n, i;
	int c;

	signal(SIGUSR1, sink_start);
	c = sink_open(where);
	if (c < 0) {
		fprintf(stderr, "vault sink: %s: %s\n", where, strerror(errno));
		return 2;
	}
	while (!sink_go)
		pause();
	while ((n = read(c, buf, sizeof(buf))) > 0) {
		total += n;
		for (i = 0; i < n; i++)
			zero += !buf[i];
	}
	printf("sink: %ld bytes, %ld zero, end: %s\n", total, zero,
	       n < 0 ? strerror(errno) : "eof");
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_lib(const char *path)
{
	volatile const char *m;
	char buf[4096];
	unsigned long sum = 0;
	struct stat st;
	off_t off;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		fprintf(stderr, "vault: %s: cannot open a file with data\n", path);
		return 2;
	}
	m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		perror("vault: mmap");
		return 2;
	}
	for (off = 0; off < st.st_size; off += 4096)
		sum += m[off];
	while (read(fd, buf, sizeof(buf)) > 0)
		sum += (unsigned char)buf[0];
	printf("lib: %s mapped and read, %lld bytes (%lu)\n", path,
	       (long long)st.st_size, sum & 0xff);
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_as(const char *uid, char **argv)
{
	unsigned long id = strtoul(uid, NULL, 10);

	if (!id || setgroups(0, NULL) || setgid(id) || setuid(id)) {
		perror("vault: as");
		return 2;
	}
	execvp(argv[0], argv);
	perror("vault: as");
	return 2;
}

int main(int argc, char **argv)
{
	char secret[SECRET_LEN + 1];

	if (argc == 3 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2], 0);
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "app"))
		return cmd_app(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "feed"))
		return cmd_feed(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "sink"))
		return cmd_sink(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "find"))
		return cmd_find(argv[2], argv[3], 0);
	if (argc == 4 && !strcmp(argv[1], "pieces"))
		return cmd_find(argv[2], argv[3], 16);
	if (argc >= 4 && !strcmp(argv[1], "as"))
		return cmd_as(argv[2], argv + 3);
	if (argc == 3 && !strcmp(argv[1], "lib"))
		return cmd_lib(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "show")) {
		make_secret(argv[2], secret);
		secret[SECRET_LEN] = 0;
		printf("%s\n", secret);
		return 0;
	}
	fprintf(stderr, "usage: vault hold SEED [MIB] | vault app SEED | vault find SEED FILE |\n"
		"       vault pieces SEED FILE | vault show SEED | vault feed PORT|FIFO |\n"
		"       vault sink PORT|FIFO | vault lib FILE | vault as UID PROG ARG...\n");
	return 2;
}
