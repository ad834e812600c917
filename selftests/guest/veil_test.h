/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the guest suite: load veil_guest with its test hooks, select
 * processes, take the dry-run extents, scan guest RAM for a pattern.
 *
 * Patterns never exist in the test's own memory: the controller keeps a
 * random mask and the masked pattern; only an excluded child computes the
 * plain pattern (masked ^ mask) where it plants it.
 */
#ifndef VEIL_TEST_H
#define VEIL_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/veil.h>

#define VEIL_DEV	"/dev/veil-guest"
#define VEIL_KO		"veil_guest.ko"

struct veil_pattern {
	uint8_t masked[VEIL_GUEST_PATTERN_LEN];
	uint8_t mask[VEIL_GUEST_PATTERN_LEN];
};

/* Writes @val to the file at @path (sysfs, cgroupfs) in one write. 0 or -errno. */
static inline int veil_write_str(const char *path, const char *val)
{
	ssize_t len = strlen(val);
	int fd, ok;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, len) == len;
	close(fd);
	return ok ? 0 : -EIO;
}

/* Sets a parameter of the loaded veil_guest. 0 or -errno. */
static inline int veil_param(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/veil_guest/parameters/%s", name);
	return veil_write_str(path, val);
}

/*
 * Loads veil_guest from $VEIL_MODDIR unless it is there, with test_hooks=1
 * and the defaults otherwise: the oracle checks what a resumable
 * checkpoint leaves out.  Tests that need kernel_objects=1 set it through
 * veil_param() and put it back.
 */
static inline int veil_load(void)
{
	const char *dir = getenv("VEIL_MODDIR");
	char path[512];
	int fd, ret;

	if (!access("/sys/module/veil_guest", F_OK))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/lib/veil", VEIL_KO);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "test_hooks=1", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * Unloads veil_guest if it is loaded; 0 or an errno.  The module's device
 * must be closed: a descriptor an exiting process closed may be released
 * late, so a busy module is tried again for five seconds.
 */
static inline int veil_unload(void)
{
	int i, err = 0;

	for (i = 0; i < 250; i++) {
		err = syscall(SYS_delete_module, "veil_guest", O_NONBLOCK) ? errno : 0;
		if (err != EAGAIN)
			break;
		usleep(20 * 1000);
	}
	return err == ENOENT ? 0 : err;
}

static inline int veil_dev_open(void)
{
	return open(VEIL_DEV, O_RDWR | O_CLOEXEC);
}

static inline int veil_select(int fd, unsigned long cmd, __u32 kind,
			      __u32 flags, int pid, const char *name)
{
	struct veil_guest_select s = {
		.size = sizeof(s), .kind = kind, .flags = flags, .pid = pid,
	};

	if (name)
		snprintf(s.name, sizeof(s.name), "%s", name);
	return ioctl(fd, cmd, &s) ? -errno : 0;
}

static inline int veil_exclude_pid(int fd, int pid, __u32 flags)
{
	return veil_select(fd, VEIL_GUEST_IOC_EXCLUDE, VEIL_GUEST_SEL_PID,
			   flags, pid, NULL);
}

static inline int veil_include_pid(int fd, int pid)
{
	return veil_select(fd, VEIL_GUEST_IOC_INCLUDE, VEIL_GUEST_SEL_PID,
			   0, pid, NULL);
}

struct veil_extents {
	struct veil_guest_extents hdr;
	struct veil_extent *ext;
};

/* Frames of category @cat in a dry run: pages[], or kernel_pages. */
static inline uint64_t veil_cat_pages(const struct veil_extents *e, int cat)
{
	return cat == VEIL_GUEST_CAT_KERNEL ? e->hdr.kernel_pages : e->hdr.pages[cat];
}

/*
 * The extents of a dry run (flags 0: what would be published now) or, with
 * VEIL_GUEST_EXT_PUBLISHED, the set last published.  0 or -errno.
 */
static inline int veil_get_extents_flags(int fd, struct veil_extents *e, uint32_t flags)
{
	size_t room = 1024;
	int err;

	for (;;) {
		memset(&e->hdr, 0, sizeof(e->hdr));
		e->ext = calloc(room, sizeof(*e->ext));
		if (!e->ext)
			return -ENOMEM;
		e->hdr.size = sizeof(e->hdr);
		e->hdr.flags = flags;
		e->hdr.nr_extents = room;
		e->hdr.extents = (uintptr_t)e->ext;
		if (ioctl(fd, VEIL_GUEST_IOC_EXTENTS, &e->hdr)) {
			err = -errno;
			free(e->ext);
			e->ext = NULL;
			return err;
		}
		if (e->hdr.total <= room)
			return 0;
		free(e->ext);
		room = e->hdr.total * 2;
	}
}

static inline int veil_get_extents(int fd, struct veil_extents *e)
{
	return veil_get_extents_flags(fd, e, 0);
}

static inline uint64_t veil_ext_start(const struct veil_extent *x)
{
	if (x->npages & VEIL_EXTENT_PARTIAL)
		return x->gfn * 4096 + VEIL_EXTENT_OFF(x->npages);
	return x->gfn * 4096;
}

static inline uint64_t veil_ext_end(const struct veil_extent *x)
{
	if (x->npages & VEIL_EXTENT_PARTIAL)
		return veil_ext_start(x) + VEIL_EXTENT_LEN(x->npages);
	return (x->gfn + x->npages) * 4096;
}

/* Are the bytes [addr, addr + len) inside the extents, all of them? */
static inline int veil_covered(const struct veil_extents *e, uint64_t addr,
			       uint64_t len)
{
	uint64_t i;

	/* Sorted and disjoint: one extent or consecutive ones that touch. */
	for (i = 0; i < e->hdr.nr_extents && len; i++) {
		uint64_t s = veil_ext_start(&e->ext[i]), t = veil_ext_end(&e->ext[i]);

		if (addr < s || addr >= t)
			continue;
		if (addr + len <= t)
			return 1;
		len -= t - addr;
		addr = t;
	}
	return 0;
}

/*
 * Extents must be sorted and non-empty, whole ones disjoint and not even
 * adjacent (they would have been merged), partial ones inside one frame,
 * disjoint from the rest and not covering their frame.
 */
static inline int veil_extents_canonical(const struct veil_extents *e)
{
	uint64_t i, off, len;

	for (i = 0; i < e->hdr.nr_extents; i++) {
		const struct veil_extent *x = &e->ext[i], *p = i ? x - 1 : NULL;

		if (x->npages & VEIL_EXTENT_PARTIAL) {
			off = VEIL_EXTENT_OFF(x->npages);
			len = VEIL_EXTENT_LEN(x->npages);
			if (off >= 4096 || !len || off + len > 4096 || len == 4096 ||
			    (x->npages & ~VEIL_EXTENT_PART(0xfff, 0x1fff)))
				return 0;
		} else if (!x->npages) {
			return 0;
		}
		if (!p)
			continue;
		if (veil_ext_start(x) < veil_ext_end(p))
			return 0;
		if (!(x->npages & VEIL_EXTENT_PARTIAL) &&
		    !(p->npages & VEIL_EXTENT_PARTIAL) &&
		    veil_ext_start(x) == veil_ext_end(p))
			return 0;
	}
	return 1;
}

/* Frames the set names: one per partial extent, as the module counts. */
static inline uint64_t veil_extents_pages(const struct veil_extents *e)
{
	uint64_t i, n = 0;

	for (i = 0; i < e->hdr.nr_extents; i++)
		n += e->ext[i].npages & VEIL_EXTENT_PARTIAL ? 1 : e->ext[i].npages;
	return n;
}

/* Places where half of a pattern lies: guest physical addresses. */
#define VEIL_MAX_HITS	256
#define VEIL_HALF	VEIL_GUEST_SCAN_HALF

struct veil_hits {
	uint64_t nr, total, scanned;
	uint64_t addr[VEIL_MAX_HITS];
};

static inline int veil_scan(int fd, const struct veil_pattern *p, struct veil_hits *h)
{
	struct veil_guest_scan s = { .size = sizeof(s) };

	memcpy(s.masked, p->masked, sizeof(s.masked));
	memcpy(s.mask, p->mask, sizeof(s.mask));
	s.nr_addrs = VEIL_MAX_HITS;
	s.addrs = (uintptr_t)h->addr;
	if (ioctl(fd, VEIL_GUEST_IOC_SCAN, &s))
		return -errno;
	h->nr = s.nr_addrs;
	h->total = s.total;
	h->scanned = s.scanned;
	return 0;
}

static inline void veil_pattern_new(struct veil_pattern *p)
{
	if (getrandom(p->masked, sizeof(p->masked), 0) != sizeof(p->masked) ||
	    getrandom(p->mask, sizeof(p->mask), 0) != sizeof(p->mask))
		abort();
}

/* Only ever called in the child that plants the pattern. */
static inline void veil_pattern_make(const struct veil_pattern *p, volatile uint8_t *out)
{
	int i;

	for (i = 0; i < VEIL_GUEST_PATTERN_LEN; i++)
		out[i] = p->masked[i] ^ p->mask[i];
}

/*
 * A child that waits for "go", runs plant(arg), reports "planted" and then
 * blocks until killed.  The controller excludes it between fork and go.
 */
struct veil_child {
	pid_t pid;
	int go, planted;
};

static inline int veil_child_start(struct veil_child *c,
				   int (*plant)(void *arg), void *arg)
{
	int go[2], done[2];
	char b;

	if (pipe(go) || pipe(done))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (!c->pid) {
		close(go[1]);
		close(done[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		b = plant(arg) ? 'E' : 'P';
		if (write(done[1], &b, 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(go[0]);
	close(done[1]);
	c->go = go[1];
	c->planted = done[0];
	return 0;
}

/* Lets the child plant; 0 once it has, -1 if planting failed. */
static inline int veil_child_plant(struct veil_child *c)
{
	char b = 'g';

	if (write(c->go, &b, 1) != 1 || read(c->planted, &b, 1) != 1)
		return -1;
	return b == 'P' ? 0 : -1;
}

static inline void veil_child_stop(struct veil_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	close(c->go);
	close(c->planted);
	c->pid = 0;
}

/* Resident pages of a process, from /proc/PID/statm. */
static inline long veil_rss_pages(pid_t pid)
{
	char path[64];
	long size, rss;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss;
}

/* The control page, written as a host would (HOST_WRITE test hook). */
static inline int veil_host_write(int fd, __u32 flags, __u32 state, __u32 op, __u64 *seq)
{
	struct veil_guest_host_write hw = {
		.size = sizeof(hw), .flags = flags, .state = state, .req_op = op,
	};

	if (ioctl(fd, VEIL_GUEST_IOC_HOST_WRITE, &hw))
		return -errno;
	if (seq)
		*seq = hw.req_seq;
	return 0;
}

static inline int veil_status(int fd, struct veil_guest_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(fd, VEIL_GUEST_IOC_STATUS, st) ? -errno : 0;
}

/* Sends a request and waits (up to 20 s) for the guest's acknowledgment. */
static inline int veil_request(int fd, __u32 op, struct veil_guest_status *st)
{
	__u64 seq = 0;
	int i, err;

	err = veil_host_write(fd, VEIL_GUEST_HW_REQ, 0, op, &seq);
	if (err)
		return err;
	for (i = 0; i < 2000; i++) {
		err = veil_status(fd, st);
		if (err)
			return err;
		if (st->ack_seq == seq)
			return 0;
		usleep(10 * 1000);
	}
	return -ETIMEDOUT;
}

/*
 * A connected TCP pair over loopback: @a the client, @b the server's end.
 * @rcvbuf, if not 0, is @b's receive buffer, set on the listener so that
 * the window starts from it.  0, or -1 (descriptors may be left open).
 */
static inline int veil_tcp_pair(int rcvbuf, int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int l;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 ||
	    (rcvbuf && setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) ||
	    bind(l, (void *)&sin, sizeof(sin)) || listen(l, 1) ||
	    getsockname(l, (void *)&sin, &len))
		return -1;
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0 || connect(*a, (void *)&sin, sizeof(sin)))
		return -1;
	*b = accept(l, NULL, NULL);
	close(l);
	return *b < 0 ? -1 : 0;
}

#endif /* VEIL_TEST_H */
