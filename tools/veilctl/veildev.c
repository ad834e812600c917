// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/veil.  The VM is named by a descriptor of its own file, taken from
 * QEMU with pidfd_getfd (which needs ptrace rights over QEMU, as
 * attaching a debugger would).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "veildev.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int veil_attach(pid_t pid, int vm_fd, int *absent, char *msg, size_t msglen)
{
	struct veil_attach a = { .size = sizeof(a) };
	int fd, pidfd, vfd, err;

	*absent = 0;
	fd = open("/dev/veil", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*absent = errno == ENOENT || errno == ENODEV || errno == ENXIO;
		snprintf(msg, msglen, "/dev/veil: %s%s", strerror(errno),
			 *absent ? " (is veil_host loaded? modprobe veil_host)" : "");
		return -1;
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		snprintf(msg, msglen, "pidfd_open(%d): %s", pid, strerror(errno));
		goto fail;
	}
	vfd = syscall(SYS_pidfd_getfd, pidfd, vm_fd, 0);
	err = errno;
	close(pidfd);
	if (vfd < 0) {
		snprintf(msg, msglen, "taking the VM descriptor from PID %d: %s", pid,
			 strerror(err));
		goto fail;
	}
	a.vm_fd = vfd;
	if (ioctl(fd, VEIL_IOC_ATTACH, &a)) {
		err = errno;
		snprintf(msg, msglen, "attaching VM %d: %s%s", pid, strerror(err),
			 err == EBUSY ? " (another process manages it)" : "");
		close(vfd);
		goto fail;
	}
	close(vfd);
	return fd;
fail:
	close(fd);
	return -1;
}

int veil_info(int fd, struct veil_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, VEIL_IOC_INFO, info);
}

int veil_prepare(int fd, unsigned int timeout_ms, struct veil_prepare *p)
{
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	p->timeout_ms = timeout_ms;
	return ioctl(fd, VEIL_IOC_PREPARE, p);
}

int veil_sanitize(int fd, struct veil_sanitize *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	return ioctl(fd, VEIL_IOC_SANITIZE, s);
}

int veil_restore(int fd, struct veil_sanitize *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	return ioctl(fd, VEIL_IOC_RESTORE, s);
}

int veil_thaw(int fd)
{
	return ioctl(fd, VEIL_IOC_THAW);
}

const char *veil_state_name(unsigned int state)
{
	switch (state) {
	case VEIL_HOST_RUNNING:
		return "running";
	case VEIL_HOST_PREPARING:
		return "preparing";
	case VEIL_HOST_PREPARED:
		return "prepared";
	case VEIL_HOST_SANITIZED:
		return "sanitized";
	}
	return "unknown";
}
