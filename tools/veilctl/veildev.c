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

/*
 * What veil_host means by each errno of PREPARE (those the caller does not
 * handle itself) and what to do about it; veil_host_vm.c and
 * veil_host_dev.c say which path returns which.
 */
const char *veil_prepare_why(int e)
{
	switch (e) {
	case EBUSY:
		return "veil_host refused PREPARE: a checkpoint of this VM is still in progress (preparing or sanitized); let it end, then take the checkpoint again";
	case ECANCELED:
		return "veil_host cancelled PREPARE: the guest registered veil_guest again, or a THAW overtook the request; take the checkpoint again";
	case EINTR:
		return "PREPARE was interrupted by a signal before the guest answered; the guest was thawed; take the checkpoint again";
	case EINVAL:
		return "veil_host refused PREPARE's arguments: this veilctl and the loaded veil_host do not match; install both from one release";
	case EFAULT:
	case ESRCH:
		return "veil_host could not reach the guest's control page in QEMU's memory (QEMU exiting, or its memory changing); check that the VM still runs, then take the checkpoint again";
	case ENOTCONN:
		return "veil_host has no VM attached to this descriptor (a veilctl bug: please report it)";
	}
	return NULL;
}

const char *veil_sanitize_why(int e)
{
	switch (e) {
	case ESTALE:
		return "veil_host refused SANITIZE: the guest published a new set of excluded frames after it acknowledged PREPARE, or withdrew its set because something in it was freed meanwhile (a queued message received); take the checkpoint again";
	case EINVAL:
		return "veil_host refused SANITIZE: no successful PREPARE stands for it (a THAW or the guest registering again ended it), or this veilctl and the loaded veil_host do not match; take the checkpoint again";
	case EBUSY:
		return "veil_host refused SANITIZE: a vCPU of the VM was still running or inside an ioctl, so the VM had not stopped; take the checkpoint again";
	case EALREADY:
		return "veil_host refused SANITIZE: the VM was sanitized already; veilctl restores its frames before it lets it run";
	case ENODEV:
		return "the guest no longer runs veil_guest (it unloaded it or rebooted) or its control page is gone; take the checkpoint again once it runs veil_guest";
	case EFAULT:
		return "veil_host refused SANITIZE: an excluded frame is no longer in guest RAM or could not be pinned (memory unplugged, a memslot changed); take the checkpoint again";
	case EOPNOTSUPP:
		return "veil_host refused SANITIZE: guest RAM is a shared mapping (a share=on memory backend, ivshmem, virtio-pmem) or KVM logs dirty pages into a ring (dirty-ring-size), and zeroing it would reach beyond this VM; start QEMU without them";
	case ENOSPC:
		return "veil_host refused SANITIZE: stashing the excluded frames would pass the host-wide cap (veil_host's max_total_mib); raise it, or take fewer checkpoints at once";
	case ENOMEM:
		return "veil_host had no memory to stash the excluded frames; free host memory and take the checkpoint again";
	case ESRCH:
		return "QEMU's memory is gone (the VM is exiting)";
	case EINTR:
		return "SANITIZE was interrupted by a signal before it zeroed anything; take the checkpoint again";
	case ENOTCONN:
		return "veil_host has no VM attached to this descriptor (a veilctl bug: please report it)";
	}
	return NULL;
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
