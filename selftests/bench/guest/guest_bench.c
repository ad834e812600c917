// SPDX-License-Identifier: GPL-2.0
/*
 * PREPARE of 64 MiB, 512 MiB and 2 GiB of an excluded process's anonymous
 * memory, driven through the control page as a host would (test hook),
 * against one read pass over the same memory by the process itself.
 * PREPARE freezes the process, collects its frames and builds the extent
 * chain; with no host the PUBLISH hypercall is not made.  Prints one row
 * per size and per page size (4 KiB pages, then transparent huge pages when
 * the kernel has them): the PREPARE latency (request to acknowledgment,
 * the control page polled every 1 ms by the guest, whose timer may round
 * that up to a tick, and the acknowledgment every 0.1 ms by this program),
 * the dry-run collection alone, the read pass, the ratio read pass /
 * PREPARE (goal >= 0.5) and the scan rate.
 *
 * First, what the socket read probes of zero_freed cost (kprobes on
 * unix_wfree, skb_attempt_defer_free and the others, armed at the first
 * exclusion): a reader takes a stream for a while from a writer on a UNIX
 * socket pair and on TCP over loopback, in messages of 1 KiB and 64 KiB,
 * with the module freshly loaded (the probes not armed yet), then with an
 * idle process excluded (armed: what every process of the guest pays),
 * then with the reader excluded (each buffer it reads is zeroed, or its
 * pages kept until they are free).  The writer runs on the first CPU, the
 * reader on the second (the probes run in the reader's context).  After
 * one pass of every flow to warm the caches up, five rounds, the module
 * loaded anew for each; prints the median of the reader's CPU time per
 * KiB read (throughput under TCG depends too much on how the two vCPUs
 * are scheduled) and its ratio to the first.
 * Measures; never fails on speed.
 */
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

#include "veil_test.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct shared {
	volatile int ready;
	volatile double read_s;
	volatile uint64_t sum;
};

/*
 * veil_request() with a 0.1 ms poll of the acknowledgment (that one polls
 * every 10 ms, which would swamp the latency measured here).
 */
static int request(int fd, __u32 op, struct veil_guest_status *st)
{
	__u64 seq = 0;
	int i, err;

	err = veil_host_write(fd, VEIL_GUEST_HW_REQ, 0, op, &seq);
	for (i = 0; !err && i < 200000; i++) {
		err = veil_status(fd, st);
		if (!err && st->ack_seq == seq)
			return 0;
		usleep(100);
	}
	return err ? err : -ETIMEDOUT;
}

static int write_param(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* The excluded process: fill the memory, time one read pass over it, wait. */
static void child(struct shared *sh, size_t bytes, int huge)
{
	uint64_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t sum = 0;
	size_t i, n = bytes / sizeof(*p);
	double t0;

	if (p == MAP_FAILED)
		_exit(2);
	madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (i = 0; i < n; i += 512)
		p[i] = i | 1;
	t0 = now();
	for (i = 0; i < n; i++)
		sum += p[i];
	sh->read_s = now() - t0;
	sh->sum = sum;
	sh->ready = 1;
	for (;;)
		pause();
}

static int bench(int fd, size_t mib, int huge)
{
	struct shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct veil_guest_status st;
	struct veil_extents e;
	double t0, t_prep, t_dry;
	int i, err = -1;
	pid_t pid;

	if (sh == MAP_FAILED)
		return -1;
	pid = fork();
	if (!pid)
		child(sh, mib << 20, huge);
	if (pid < 0)
		return -1;
	for (i = 0; i < 600000 && !sh->ready; i++)
		usleep(1000);
	if (!sh->ready || veil_exclude_pid(fd, pid, 0))
		goto out;

	t0 = now();
	if (veil_get_extents(fd, &e))
		goto out;
	t_dry = now() - t0;

	t0 = now();
	if (request(fd, VEIL_REQ_PREPARE, &st) || st.last_error)
		goto out;
	t_prep = now() - t0;
	if (request(fd, VEIL_REQ_THAW, &st))
		goto out;

	printf("# %8zu MiB  %4s  %9.3f  %9.3f  %9.3f  %6.2f  %7.2f  %8llu  %8llu\n",
	       mib, huge ? "THP" : "4K", t_prep * 1e3, t_dry * 1e3, sh->read_s * 1e3,
	       sh->read_s / t_prep, mib / 1024.0 / t_prep,
	       (unsigned long long)st.published_pages,
	       (unsigned long long)e.hdr.total);
	/* Everything the process touched must have been collected. */
	err = st.published_pages >= (mib << 20) / 4096 ? 0 : -2;
	free(e.ext);
out:
	veil_include_pid(fd, pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	munmap(sh, 4096);
	return err;
}

#define SOCK_SECONDS	1.0
#define SOCK_ROUNDS	5
#define SOCK_BUF	65536

struct sock_flow {
	const char *name;
	int domain;
	size_t msg;
};

static const struct sock_flow sock_flows[] = {
	{ "unix-1k", AF_UNIX, 1024 }, { "unix-64k", AF_UNIX, 65536 },
	{ "tcp-1k", AF_INET, 1024 }, { "tcp-64k", AF_INET, 65536 },
};

#define NR_FLOWS	(sizeof(sock_flows) / sizeof(sock_flows[0]))

enum { UNARMED, ARMED, EXCLUDED, NR_ARMS };

static const char *const arm_names[NR_ARMS] = {
	"not armed", "armed", "reader excluded",
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the calling process on CPU @cpu, if there is one. */
static void on_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu >= sysconf(_SC_NPROCESSORS_ONLN))
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The reader: waits for go, reads for SOCK_SECONDS, reports its CPU time
 * in ns per KiB read.
 */
static void sock_reader(int rd, int go, volatile double *ns_kib)
{
	static char buf[SOCK_BUF];
	uint64_t bytes = 0;
	double t0, c0;
	ssize_t n;
	char g;

	on_cpu(1);
	if (read(go, &g, 1) != 1)
		_exit(2);
	t0 = now();
	c0 = cpu_now();
	do {
		n = read(rd, buf, sizeof(buf));
		if (n <= 0)
			_exit(2);
		bytes += n;
	} while (now() - t0 < SOCK_SECONDS);
	*ns_kib = (cpu_now() - c0) * 1e9 / (bytes / 1024.0);
	_exit(0);
}

/*
 * The reader's CPU ns per KiB of @f's stream, the reader excluded if
 * @exclude; <0: failed.
 */
static double sock_rate(int fd, const struct sock_flow *f, int exclude)
{
	static char msg[SOCK_BUF];
	volatile double *ns_kib = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t reader = -1, writer = -1;
	int sv[2], go[2], st = -1;
	double rate = -1;

	if (ns_kib == MAP_FAILED)
		return -1;
	*ns_kib = -1;
	if (f->domain == AF_UNIX ? socketpair(AF_UNIX, SOCK_STREAM, 0, sv) :
	    veil_tcp_pair(0, &sv[0], &sv[1]))
		goto out_map;
	if (pipe(go))
		goto out_sock;
	writer = fork();
	if (!writer) {
		on_cpu(0);
		signal(SIGPIPE, SIG_IGN);
		memset(msg, 0x33, f->msg);
		while (write(sv[0], msg, f->msg) > 0)
			;
		_exit(0);
	}
	reader = fork();
	if (!reader)
		sock_reader(sv[1], go[0], ns_kib);
	if (writer < 0 || reader < 0 || (exclude && veil_exclude_pid(fd, reader, 0)) ||
	    write(go[1], "g", 1) != 1)
		goto out;
	if (waitpid(reader, &st, 0) == reader && WIFEXITED(st) && !WEXITSTATUS(st))
		rate = *ns_kib;
	reader = -1;
out:
	if (reader > 0) {
		kill(reader, SIGKILL);
		waitpid(reader, NULL, 0);
	}
	if (writer > 0) {
		kill(writer, SIGKILL);
		waitpid(writer, NULL, 0);
	}
	close(go[0]);
	close(go[1]);
out_sock:
	close(sv[0]);
	close(sv[1]);
out_map:
	munmap((void *)ns_kib, 4096);
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * One round: the module loaded anew, each flow not armed, then with an
 * idle process excluded, then with the reader excluded.  Fills
 * rate[flow][arm]; returns 0 or -1.
 */
static int sock_round(double rate[NR_FLOWS][NR_ARMS])
{
	pid_t idle = -1;
	size_t i;
	int fd = -1, arm, err = -1;

	if (veil_unload() || veil_load())
		return -1;
	fd = veil_dev_open();
	if (fd < 0)
		return -1;
	for (arm = 0; arm < NR_ARMS; arm++) {
		if (arm == ARMED) {
			idle = fork();
			if (!idle) {
				for (;;)
					pause();
			}
			if (idle < 0 || veil_exclude_pid(fd, idle, 0))
				goto out;
		}
		for (i = 0; i < NR_FLOWS; i++) {
			rate[i][arm] = sock_rate(fd, &sock_flows[i], arm == EXCLUDED);
			if (rate[i][arm] < 0)
				goto out;
		}
	}
	err = 0;
out:
	if (idle > 0) {
		veil_include_pid(fd, idle);
		kill(idle, SIGKILL);
		waitpid(idle, NULL, 0);
	}
	close(fd);
	return err;
}

/* Prints the table and a TAP line per flow; returns the next test number. */
static int sock_bench(int n)
{
	static double rate[SOCK_ROUNDS][NR_FLOWS][NR_ARMS];
	double med[NR_ARMS], v[SOCK_ROUNDS];
	int r, arm, bad = 0;
	size_t i;

	/* The first connections of a boot are slower: a pass not counted. */
	for (i = 0; i < NR_FLOWS && !bad; i++)
		bad = sock_rate(-1, &sock_flows[i], 0) < 0;
	for (r = 0; r < SOCK_ROUNDS && !bad; r++)
		bad = sock_round(rate[r]);
	printf("#  socket reads  reader CPU ns/KiB: %s / %s / %s   ratio to not armed\n",
	       arm_names[UNARMED], arm_names[ARMED], arm_names[EXCLUDED]);
	for (i = 0; i < NR_FLOWS; i++) {
		for (arm = 0; arm < NR_ARMS && !bad; arm++) {
			for (r = 0; r < SOCK_ROUNDS; r++)
				v[r] = rate[r][i][arm];
			qsort(v, SOCK_ROUNDS, sizeof(v[0]), cmp_double);
			med[arm] = v[SOCK_ROUNDS / 2];
		}
		if (!bad)
			printf("#  %-10s  %9.1f / %9.1f / %9.1f   %5.2f / %5.2f\n", sock_flows[i].name,
			       med[UNARMED], med[ARMED], med[EXCLUDED], med[ARMED] / med[UNARMED],
			       med[EXCLUDED] / med[UNARMED]);
		printf("%sok %d socket_reads_%s%s\n", bad ? "not " : "", ++n, sock_flows[i].name,
		       bad ? " # could not run" : "");
	}
	return n;
}

int main(void)
{
	static const size_t sizes_mib[] = { 64, 512, 2048 };
	int fd, huge, n = 0, thp;
	size_t i;

	thp = !access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK);
	printf("TAP version 13\n1..%d\n", (int)NR_FLOWS + (thp ? 6 : 3));
	n = sock_bench(n);
	if (veil_load()) {
		printf("bench: cannot load veil_guest\n");
		return 4;
	}
	fd = veil_dev_open();
	if (fd < 0 || write_param("/sys/module/veil_guest/parameters/period_ms", "1")) {
		printf("bench: cannot open /dev/veil-guest or set period_ms\n");
		return 4;
	}
	if (thp)
		write_param("/sys/kernel/mm/transparent_hugepage/enabled", "madvise");
	printf("#  excluded  pages  PREPARE ms  dry-run ms  read ms  ratio  GiB/s  published  extents\n");
	for (huge = 0; huge <= thp; huge++) {
		for (i = 0; i < 3; i++) {
			int err = bench(fd, sizes_mib[i], huge);

			printf("%sok %d prepare_%zu_mib_%s%s\n", err ? "not " : "", ++n,
			       sizes_mib[i], huge ? "thp" : "4k",
			       err == -2 ? " # fewer frames published than touched" :
			       err ? " # could not run" : "");
		}
	}
	close(fd);
	return 0;
}
