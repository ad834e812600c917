// SPDX-License-Identifier: GPL-2.0
/*
 * VM discovery.  A QEMU process is a KVM VM when one of its descriptors is
 * the "kvm-vm" anonymous inode; its QMP socket comes from its command line:
 * "-qmp unix:PATH,..." or "-chardev socket,id=X,path=PATH" with
 * "-mon chardev=X,mode=control" (a listening socket passed in as "fd=N" is
 * found through /proc/net/unix).  libvirt starts QEMU with "-uuid" and its
 * monitor on a chardev it calls "charmonitor", and stays that monitor's
 * only client.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm.h"

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* The VM's descriptor number in pid, or -1. */
static int find_vm_fd(pid_t pid)
{
	char dir[64], path[384], target[64];
	struct dirent *de;
	DIR *d;
	int fd = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		ssize_t n;

		if (!is_number(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, "anon_inode:kvm-vm")) {
			fd = atoi(de->d_name);
			break;
		}
	}
	closedir(d);
	return fd;
}

/* NUL-separated /proc/PID/cmdline into argv; returns argc or -1. */
static int read_cmdline(pid_t pid, char **buf, char ***argv)
{
	char path[64];
	size_t len = 0, cap = 4096;
	int fd, argc = 0;
	char *b = malloc(cap);

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !b) {
		free(b);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb)
				break;
			b = nb;
			cap *= 2;
		}
		n = read(fd, b + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	b[len] = 0;
	*argv = calloc(len + 2, sizeof(char *));
	if (!*argv) {
		free(b);
		return -1;
	}
	for (size_t i = 0; i < len; i += strlen(b + i) + 1)
		(*argv)[argc++] = b + i;
	*buf = b;
	return argc;
}

/* Value of key= in a comma-separated option string, copied into out. */
static int opt_value(const char *opts, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	for (const char *p = opts; p && *p; ) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			n -= kl + 1;
			if (n >= outlen)
				return -1;
			memcpy(out, p + kl + 1, n);
			out[n] = 0;
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* Path of the unix socket behind descriptor fdnum of pid, via /proc/net/unix. */
static int socket_path_of_fd(pid_t pid, int fdnum, char *out, size_t outlen)
{
	char path[64], target[64], line[512];
	unsigned long inode, ino;
	ssize_t n;
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fdnum);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = 0;
	if (sscanf(target, "socket:[%lu]", &inode) != 1)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/net/unix", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char sp[256] = "";

		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %255s", &ino, sp) >= 1 &&
		    ino == inode && sp[0] == '/' && strlen(sp) < outlen) {
			strcpy(out, sp);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void find_qmp(pid_t pid, int argc, char **argv, struct vm *vm)
{
	char id[64], val[128];

	vm->qmp[0] = 0;
	for (int i = 0; i + 1 < argc; i++) {
		const char *a = argv[i], *v = argv[i + 1];

		if ((!strcmp(a, "-qmp") || !strcmp(a, "-qmp-pretty") || !strcmp(a, "--qmp")) &&
		    !vm->qmp[0] && !strncmp(v, "unix:", 5)) {
			size_t n = strcspn(v + 5, ",");

			if (n < sizeof(vm->qmp)) {
				memcpy(vm->qmp, v + 5, n);
				vm->qmp[n] = 0;
			}
		}
		if (!strcmp(a, "-uuid") && strlen(v) < sizeof(vm->uuid))
			strcpy(vm->uuid, v);
		if (!strcmp(a, "-chardev") && !opt_value(v, "id", val, sizeof(val)) &&
		    !strcmp(val, "charmonitor"))
			vm->libvirt = 1;
		if (!strcmp(a, "-name")) {
			if (opt_value(v, "guest", val, sizeof(val)) == 0 ||
			    sscanf(v, "%63[^,]", val) == 1)
				snprintf(vm->name, sizeof(vm->name), "%.63s", val);
		}
	}
	if (vm->qmp[0])
		return;
	/* -mon chardev=ID,mode=control naming a -chardev socket */
	for (int i = 0; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-mon") ||
		    opt_value(argv[i + 1], "chardev", id, sizeof(id)) ||
		    opt_value(argv[i + 1], "mode", val, sizeof(val)) ||
		    strcmp(val, "control"))
			continue;
		for (int j = 0; j + 1 < argc; j++) {
			const char *c = argv[j + 1];

			if (strcmp(argv[j], "-chardev") || strncmp(c, "socket,", 7) ||
			    opt_value(c, "id", val, sizeof(val)) || strcmp(val, id))
				continue;
			if (!opt_value(c, "path", vm->qmp, sizeof(vm->qmp)))
				return;
			if (!opt_value(c, "fd", val, sizeof(val)) && is_number(val) &&
			    !socket_path_of_fd(pid, atoi(val), vm->qmp, sizeof(vm->qmp)))
				return;
		}
	}
	vm->qmp[0] = 0;
}

static int vm_read(pid_t pid, struct vm *vm)
{
	char *buf, **argv;
	int argc;

	memset(vm, 0, sizeof(*vm));
	vm->pid = pid;
	vm->vm_fd = find_vm_fd(pid);
	if (vm->vm_fd < 0)
		return -1;
	argc = read_cmdline(pid, &buf, &argv);
	if (argc < 0)
		return -1;
	find_qmp(pid, argc, argv, vm);
	if (!vm->name[0]) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(vm->name, sizeof(vm->name), f))
				vm->name[strcspn(vm->name, "\n")] = 0;
			fclose(f);
		}
	}
	free(argv);
	free(buf);
	return 0;
}

int vm_scan(struct vm **out)
{
	struct dirent *de;
	int n = 0, cap = 0;
	DIR *d = opendir("/proc");

	*out = NULL;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		struct vm vm;

		if (!is_number(de->d_name) || vm_read(atoi(de->d_name), &vm))
			continue;
		if (n == cap) {
			struct vm *nv = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof(vm));

			if (!nv)
				break;
			*out = nv;
		}
		(*out)[n++] = vm;
	}
	closedir(d);
	return n;
}

int vm_find_uuid(const char *uuid, struct vm *vm)
{
	struct vm *vms;
	int n = vm_scan(&vms), rc = -1;

	for (int i = 0; i < n; i++) {
		if (!strcasecmp(vms[i].uuid, uuid)) {
			*vm = vms[i];
			rc = 0;
			break;
		}
	}
	free(vms);
	return rc;
}

int vm_find(const char *spec, struct vm *vm, char *msg, size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	pid_t pid;
	int fd;

	if (is_number(spec)) {
		pid = atoi(spec);
		if (kill(pid, 0) && errno == ESRCH) {
			snprintf(msg, msglen, "no process %s", spec);
			return -1;
		}
		if (vm_read(pid, vm)) {
			snprintf(msg, msglen, "process %s is not a KVM virtual machine", spec);
			return -1;
		}
		if (vm->libvirt)
			return 0;
		if (!vm->qmp[0]) {
			snprintf(msg, msglen,
				 "VM %s has no QMP socket on its command line; name it by its socket path",
				 spec);
			return -1;
		}
		return 0;
	}
	/* A QMP socket path: ask the kernel who listens on it. */
	if (strlen(spec) >= sizeof(sa.sun_path)) {
		snprintf(msg, msglen, "socket path too long: %s", spec);
		return -1;
	}
	strcpy(sa.sun_path, spec);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
		snprintf(msg, msglen, "%s: not a VM (neither a PID nor a reachable QMP socket: %s)",
			 spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (vm_read(cred.pid, vm)) {
		snprintf(msg, msglen, "the process behind %s (PID %d) is not a KVM virtual machine",
			 spec, cred.pid);
		return -1;
	}
	snprintf(vm->qmp, sizeof(vm->qmp), "%s", spec);
	return 0;
}
