/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMs that libvirt runs: libvirt holds QEMU's only QMP monitor, so these
 * are paused, resumed and written through libvirt's own API, which is
 * also what makes the files restorable with virsh.
 */
#ifndef VEILCTL_LV_H
#define VEILCTL_LV_H

#include <libvirt/libvirt.h>

#include "veilctl.h"
#include "vm.h"

#define LV_DEFAULT_URI	"qemu:///system"

struct lv {
	virConnectPtr conn;
	virDomainPtr dom;
	char uri[256];
	char name[256];
	char uuid[VIR_UUID_STRING_BUFLEN];
	char err[512];		/* the last error, for messages */
};

/* --connect, else $LIBVIRT_DEFAULT_URI, else qemu:///system. */
const char *lv_uri(const char *opt);

/* Silences libvirt's own printing of errors: veilctl reports them. */
void lv_init(void);

int lv_connect(struct lv *l, const char *uri);

/*
 * The domain named spec (a name or a UUID).  Returns 0, 1 when the
 * connection has no such domain, or -1 on another error (l->err says).
 */
int lv_lookup(struct lv *l, const char *spec);

/* Looks the domain up again by UUID on a connection of its own. */
int lv_reopen(struct lv *l);

void lv_close(struct lv *l);

/* VIR_DOMAIN_RUNNING, VIR_DOMAIN_PAUSED, ... or -1. */
int lv_state(struct lv *l);
const char *lv_state_name(int state);
int lv_active(struct lv *l);

int lv_suspend(struct lv *l);
int lv_resume(struct lv *l);

/* Waits up to timeout_s for libvirt to end any job of the domain. */
int lv_wait_idle(struct lv *l, unsigned int timeout_s);

/*
 * The snapshot writer, on a paused domain: a managed save, a saved
 * image at path (virsh save), an internal snapshot called name, a
 * memory-only external snapshot at path, or a memory-only core dump at
 * path.  was_running makes the saved state resume running, as it would
 * had libvirt paused the domain itself.  0, or -1 with l->err set.
 */
int lv_write(struct lv *l, enum ckpt_format f, const char *path, int was_running);

/*
 * Every domain of the connection: calls fn for each with its name, UUID,
 * state and whether it has a managed save image.  Returns the count or -1.
 */
int lv_each(struct lv *l, void (*fn)(void *arg, const char *name, const char *uuid,
				     int state, int managed_save), void *arg);

/*
 * What the user named: a PID or a QMP socket (spec is a number or holds a
 * '/'), else a libvirt domain by name or UUID on uri.  A QEMU process that
 * libvirt started is looked up as its domain too, and *by_process says it
 * was named as a process.  For a domain, *use_lv is set, l is connected
 * and vm is its QEMU process (vm->pid 0 when none runs on this host).
 * Returns an exit code; the message is printed.
 */
int lv_resolve(const char *spec, const char *uri, struct vm *vm, struct lv *l,
	       int *use_lv, int *by_process);

#endif
