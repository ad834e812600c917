// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libveil: a thin layer over /dev/veil-guest's client interface.  One
 * handle is one open descriptor, owned by the process that opened it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/veil.h>

#include "libveil.h"

#define VEIL_DEVICE	"/dev/veil-guest"

struct veil {
	int fd;
	int subscribed;
};

_Static_assert(VEIL_EVENT_BEGIN == VEIL_GUEST_EV_BEGIN, "event numbers");
_Static_assert(VEIL_EVENT_END == VEIL_GUEST_EV_END, "event numbers");
_Static_assert(VEIL_EVENT_RESTORED == VEIL_GUEST_EV_RESTORED, "event numbers");
_Static_assert(VEIL_EVENT_LOST == VEIL_GUEST_EV_LOST, "event flags");
_Static_assert(sizeof(struct veil_event) == sizeof(struct veil_guest_event),
	       "event layout");

struct veil *veil_open(void)
{
	struct veil *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->fd = open(VEIL_DEVICE, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		free(v);
		return NULL;
	}
	return v;
}

void veil_close(struct veil *v)
{
	int err = errno;

	if (!v)
		return;
	close(v->fd);
	free(v);
	errno = err;
}

static int veil_range(struct veil *v, const void *addr, size_t len, uint32_t flags)
{
	struct veil_guest_range r = {
		.size = sizeof(r), .flags = flags,
		.addr = (uintptr_t)addr, .len = len,
	};

	return ioctl(v->fd, VEIL_GUEST_IOC_PROTECT_RANGE, &r) ? -1 : 0;
}

int veil_protect(struct veil *v, const void *addr, size_t len)
{
	return veil_range(v, addr, len, 0);
}

int veil_unprotect(struct veil *v, const void *addr, size_t len)
{
	return veil_range(v, addr, len, VEIL_GUEST_PROT_REMOVE);
}

static int veil_file(struct veil *v, int fd, uint32_t flags)
{
	struct veil_guest_file f = { .size = sizeof(f), .flags = flags, .fd = fd };

	return ioctl(v->fd, VEIL_GUEST_IOC_PROTECT_FILE, &f) ? -1 : 0;
}

int veil_protect_file(struct veil *v, int fd)
{
	return veil_file(v, fd, 0);
}

int veil_unprotect_file(struct veil *v, int fd)
{
	return veil_file(v, fd, VEIL_GUEST_PROT_REMOVE);
}

int veil_event_fd(struct veil *v)
{
	if (!v->subscribed) {
		if (ioctl(v->fd, VEIL_GUEST_IOC_SUBSCRIBE) && errno != EEXIST)
			return -1;
		v->subscribed = 1;
	}
	return v->fd;
}

/* 1 with an event, 0 when none is queued on a non-blocking descriptor, -1 on error. */
int veil_read_event(struct veil *v, struct veil_event *ev)
{
	ssize_t n;

	if (veil_event_fd(v) < 0)
		return -1;
	do {
		n = read(v->fd, ev, sizeof(*ev));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (n != sizeof(*ev)) {
		errno = EIO;
		return -1;
	}
	return 1;
}

const char *veil_event_name(uint32_t type)
{
	switch (type) {
	case VEIL_EVENT_BEGIN:
		return "begin";
	case VEIL_EVENT_END:
		return "end";
	case VEIL_EVENT_RESTORED:
		return "restored";
	}
	return "unknown";
}
