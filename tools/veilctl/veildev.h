/* SPDX-License-Identifier: GPL-2.0 */
/* /dev/veil: the host module's control device. */
#ifndef VEILCTL_VEILDEV_H
#define VEILCTL_VEILDEV_H

#include <sys/types.h>
#include <linux/veil.h>

/*
 * Opens /dev/veil and attaches the VM whose file QEMU (pid) holds as
 * descriptor vm_fd.  Returns the /dev/veil descriptor, or -1 with msg
 * filled in; *absent is set when the module is not loaded at all.
 */
int veil_attach(pid_t pid, int vm_fd, int *absent, char *msg, size_t msglen);

int veil_info(int fd, struct veil_info *info);
int veil_prepare(int fd, unsigned int timeout_ms, struct veil_prepare *p);
int veil_sanitize(int fd, struct veil_sanitize *s);
int veil_restore(int fd, struct veil_sanitize *s);
int veil_thaw(int fd);

/*
 * Why veil_host refused PREPARE or SANITIZE with errno e, and what to do;
 * NULL when e is none it gives for that reason.
 */
const char *veil_prepare_why(int e);
const char *veil_sanitize_why(int e);

const char *veil_state_name(unsigned int state);

#endif
