// SPDX-License-Identifier: GPL-2.0
/*
 * The published set is still true when the checkpoint is taken.  Between
 * PREPARE and SANITIZE the guest keeps running: compaction migrates
 * pages, khugepaged collapses them into huge pages, memory pressure
 * reclaims.  If any of that moved a frame of an excluded process, the
 * host would zero whatever the old frame holds by then and leave the
 * moved copy of the secret in the checkpoint.  Each round here prepares
 * (through the control page, as a host would), runs compaction, a memory
 * hog and khugepaged at full speed across the window, then checks the
 * excluded process's pages against the published set through
 * /proc/PID/pagemap: every one of its frames must still be in the set,
 * and no frame of a process that is not excluded may be.
 *
 * VEIL_STALE_ROUNDS sets the number of rounds (default 100); the rounds
 * stop earlier once VEIL_STALE_SECONDS (240, 0 for no limit) have passed,
 * so that a slower machine runs fewer of them instead of timing out.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#include "kselftest_harness.h"
#include "veil_test.h"

#define REGION		(64UL << 20)
#define HUGE		(2UL << 20)
#define HOG		(192UL << 20)

/* A process holding REGION of 4 KiB pages that khugepaged may collapse. */
struct holder {
	pid_t pid;
	uintptr_t addr;
};

static int holder_start(struct holder *h, int tag)
{
	int p[2];

	if (pipe(p))
		return -errno;
	h->pid = fork();
	if (h->pid < 0)
		return -errno;
	if (!h->pid) {
		uint8_t *m;
		size_t i;

		close(p[0]);
		/* Faulted in as 4 KiB pages, then made eligible for collapse. */
		if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
			_exit(2);
		m = mmap(NULL, REGION + HUGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(2);
		m = (uint8_t *)(((uintptr_t)m + HUGE - 1) & ~(HUGE - 1));
		for (i = 0; i < REGION; i += 4096) {
			memset(m + i, tag, 4096);
			memcpy(m + i, &i, sizeof(i));
		}
		if (prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0) ||
		    madvise(m, REGION, MADV_HUGEPAGE))
			_exit(2);
		if (write(p[1], &m, sizeof(m)) != sizeof(m))
			_exit(2);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &h->addr, sizeof(h->addr)) != sizeof(h->addr)) {
		close(p[0]);
		return -EIO;
	}
	close(p[0]);
	return 0;
}

static void holder_stop(struct holder *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

/* The frame of each page of the holder's region (0: not present). */
static int holder_pfns(const struct holder *h, uint64_t *pfn)
{
	size_t n = REGION / 4096, i;
	char path[64];
	uint64_t *ent;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", h->pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ent = calloc(n, sizeof(*ent));
	if (!ent) {
		close(fd);
		return -ENOMEM;
	}
	len = pread(fd, ent, n * sizeof(*ent), h->addr / 4096 * sizeof(*ent));
	close(fd);
	if (len != (ssize_t)(n * sizeof(*ent))) {
		free(ent);
		return -EIO;
	}
	for (i = 0; i < n; i++)
		pfn[i] = ent[i] >> 63 ? ent[i] & ((1ULL << 55) - 1) : 0;
	free(ent);
	return 0;
}

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static void read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	if (fd >= 0)
		close(fd);
}

#define KHUGEPAGED "/sys/kernel/mm/transparent_hugepage/khugepaged/"

static const char *const khp_knobs[] = {
	KHUGEPAGED "scan_sleep_millisecs", KHUGEPAGED "alloc_sleep_millisecs",
	KHUGEPAGED "pages_to_scan",
};
static const char *const khp_fast[] = { "0", "0", "4096" };

/* Memory pressure: a process that touches HOG of anonymous memory and exits. */
static pid_t hog(void)
{
	pid_t pid = fork();

	if (!pid) {
		uint8_t *m = mmap(NULL, HOG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		_exit(m == MAP_FAILED ? 1 : 0);
	}
	return pid;
}

FIXTURE(stale) {
	int fd;
	struct holder excluded, other;
	char saved[3][32];
};

FIXTURE_SETUP(stale)
{
	int err = veil_load();
	unsigned int i;

	if (err)
		SKIP(return, "cannot load " VEIL_KO ": %s", strerror(-err));
	self->fd = veil_dev_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, holder_start(&self->excluded, 0x5a));
	ASSERT_EQ(0, holder_start(&self->other, 0xa5));
	ASSERT_EQ(0, veil_exclude_pid(self->fd, self->excluded.pid, 0));
	for (i = 0; i < ARRAY_SIZE(khp_knobs); i++) {
		read_str(khp_knobs[i], self->saved[i], sizeof(self->saved[i]));
		if (self->saved[i][0])
			write_str(khp_knobs[i], khp_fast[i]);
	}
}

FIXTURE_TEARDOWN(stale)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(khp_knobs); i++)
		if (self->saved[i][0])
			write_str(khp_knobs[i], self->saved[i]);
	veil_include_pid(self->fd, self->excluded.pid);
	holder_stop(&self->excluded);
	holder_stop(&self->other);
	close(self->fd);
}

TEST_F_TIMEOUT(stale, published_frames_stay_put_across_compaction_collapse_and_pressure, 3600)
{
	const char *env = getenv("VEIL_STALE_ROUNDS");
	const char *secs = getenv("VEIL_STALE_SECONDS");
	int rounds = env ? atoi(env) : 100, r, moved_total = 0;
	time_t budget = secs ? atoi(secs) : 240, t0 = time(NULL);
	size_t n = REGION / 4096, i, missing, others;
	uint64_t *pfn = calloc(n, sizeof(*pfn));
	struct veil_guest_status st;
	struct veil_extents e;
	pid_t h;

	ASSERT_NE(NULL, pfn);
	for (r = 0; r < rounds; r++) {
		if (budget && r >= 10 && time(NULL) - t0 > budget)
			break;
		ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_PREPARE, &st));
		ASSERT_EQ(0, st.last_error) TH_LOG("round %d: PREPARE failed", r);
		/* The window: everything that moves pages, at once. */
		h = hog();
		ASSERT_LT(0, h);
		EXPECT_EQ(0, write_str("/proc/sys/vm/compact_memory", "1"));
		ASSERT_EQ(h, waitpid(h, NULL, 0));
		usleep(20 * 1000);

		ASSERT_EQ(0, veil_get_extents_flags(self->fd, &e, VEIL_GUEST_EXT_PUBLISHED));
		ASSERT_EQ(0, holder_pfns(&self->excluded, pfn));
		missing = 0;
		for (i = 0; i < n; i++)
			if (!pfn[i] || !veil_covered(&e, pfn[i] * 4096, 4096))
				missing++;
		EXPECT_EQ(0, missing)
			TH_LOG("round %d: %zu of the excluded process's %zu pages are not where the published set says",
			       r, missing, n);
		ASSERT_EQ(0, holder_pfns(&self->other, pfn));
		others = 0;
		for (i = 0; i < n; i++)
			if (pfn[i] && veil_covered(&e, pfn[i] * 4096, 4096))
				others++;
		EXPECT_EQ(0, others)
			TH_LOG("round %d: %zu frames of a process that is not excluded are published",
			       r, others);
		free(e.ext);
		moved_total += missing;
		ASSERT_EQ(0, veil_request(self->fd, VEIL_REQ_THAW, &st));
		if (missing || others)
			break;
	}
	TH_LOG("%d rounds in %ld s, %d excluded pages found outside the published set",
	       r, (long)(time(NULL) - t0), moved_total);
	free(pfn);
}

TEST_HARNESS_MAIN
