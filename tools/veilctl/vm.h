/* SPDX-License-Identifier: GPL-2.0 */
/* Finding the KVM virtual machines on this host: QEMU processes. */
#ifndef VEILCTL_VM_H
#define VEILCTL_VM_H

#include <sys/types.h>

struct vm {
	pid_t pid;
	int vm_fd;		/* QEMU's descriptor of its KVM VM file */
	char name[64];		/* -name, or the process name */
	char qmp[108];		/* QMP socket path, or "" if none found */
	char uuid[37];		/* -uuid, or "" */
	int libvirt;		/* started by libvirt, which holds the monitor */
};

/* All processes holding a KVM VM; *out is malloc'ed.  Returns the count. */
int vm_scan(struct vm **out);

/*
 * Resolves what the user typed: a PID, or the path of a QMP socket (the
 * PID is then the socket's peer).  Returns 0, or -1 with msg filled in.
 */
int vm_find(const char *spec, struct vm *vm, char *msg, size_t msglen);

/* The QEMU process of the VM with this UUID (a libvirt domain's). */
int vm_find_uuid(const char *uuid, struct vm *vm);

#endif
