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
 * Measures; never fails on speed.
 */
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

int main(void)
{
	static const size_t sizes_mib[] = { 64, 512, 2048 };
	int fd, huge, n = 0, thp;
	size_t i;

	if (veil_load()) {
		printf("bench: cannot load veil_guest\n");
		return 4;
	}
	fd = veil_dev_open();
	if (fd < 0 || write_param("/sys/module/veil_guest/parameters/period_ms", "1")) {
		printf("bench: cannot open /dev/veil-guest or set period_ms\n");
		return 4;
	}
	thp = !access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK);
	if (thp)
		write_param("/sys/kernel/mm/transparent_hugepage/enabled", "madvise");
	printf("TAP version 13\n1..%d\n", thp ? 6 : 3);
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
