// SPDX-License-Identifier: GPL-2.0
/*
 * libvirt: the domain, its state, and the snapshot writers libvirt users
 * keep (managed save, saved image, internal snapshot, memory-only external
 * snapshot, memory-only core dump), driven through libvirt's C API.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "lv.h"

static void lv_silent(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

void lv_init(void)
{
	virSetErrorFunc(NULL, lv_silent);
}

const char *lv_uri(const char *opt)
{
	const char *env = getenv("LIBVIRT_DEFAULT_URI");

	if (opt)
		return opt;
	return env && *env ? env : LV_DEFAULT_URI;
}

static int lv_fail(struct lv *l, const char *what)
{
	const char *m = virGetLastErrorMessage();

	snprintf(l->err, sizeof(l->err), "%s: %s", what, m && *m ? m : "unknown libvirt error");
	return -1;
}

int lv_connect(struct lv *l, const char *uri)
{
	if (uri != l->uri)
		snprintf(l->uri, sizeof(l->uri), "%s", uri);
	l->conn = virConnectOpen(l->uri);
	if (!l->conn)
		return lv_fail(l, uri);
	return 0;
}

static int lv_fill(struct lv *l)
{
	const char *n = virDomainGetName(l->dom);

	snprintf(l->name, sizeof(l->name), "%s", n ? n : "?");
	if (virDomainGetUUIDString(l->dom, l->uuid))
		return lv_fail(l, "domain UUID");
	return 0;
}

int lv_lookup(struct lv *l, const char *spec)
{
	virErrorPtr e;

	l->dom = virDomainLookupByName(l->conn, spec);
	if (!l->dom && strlen(spec) == VIR_UUID_STRING_BUFLEN - 1)
		l->dom = virDomainLookupByUUIDString(l->conn, spec);
	if (l->dom)
		return lv_fill(l);
	e = virGetLastError();
	if (e && e->code != VIR_ERR_NO_DOMAIN && e->code != VIR_ERR_INVALID_ARG)
		return lv_fail(l, spec);
	snprintf(l->err, sizeof(l->err), "%s has no domain %s", l->uri, spec);
	return 1;
}

int lv_reopen(struct lv *l)
{
	/*
	 * A connection inherited through fork() is the parent's: its socket
	 * is shared, so it is neither used nor closed here.
	 */
	l->conn = NULL;
	l->dom = NULL;
	if (lv_connect(l, l->uri))
		return -1;
	l->dom = virDomainLookupByUUIDString(l->conn, l->uuid);
	if (!l->dom)
		return lv_fail(l, l->name);
	return 0;
}

void lv_close(struct lv *l)
{
	if (l->dom)
		virDomainFree(l->dom);
	if (l->conn)
		virConnectClose(l->conn);
	l->dom = NULL;
	l->conn = NULL;
}

int lv_state(struct lv *l)
{
	int state, reason;

	if (virDomainGetState(l->dom, &state, &reason, 0))
		return lv_fail(l, l->name);
	return state;
}

const char *lv_state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
		return "running";
	case VIR_DOMAIN_BLOCKED:
		return "blocked";
	case VIR_DOMAIN_PAUSED:
		return "paused";
	case VIR_DOMAIN_SHUTDOWN:
		return "shutting down";
	case VIR_DOMAIN_SHUTOFF:
		return "shut off";
	case VIR_DOMAIN_CRASHED:
		return "crashed";
	case VIR_DOMAIN_PMSUSPENDED:
		return "suspended by the guest";
	default:
		return "unknown";
	}
}

int lv_active(struct lv *l)
{
	return virDomainIsActive(l->dom) == 1;
}

int lv_suspend(struct lv *l)
{
	return virDomainSuspend(l->dom) ? lv_fail(l, "pausing the domain") : 0;
}

int lv_resume(struct lv *l)
{
	return virDomainResume(l->dom) ? lv_fail(l, "resuming the domain") : 0;
}

int lv_wait_idle(struct lv *l, unsigned int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	virDomainJobInfo ji;

	for (;;) {
		if (virDomainGetJobInfo(l->dom, &ji))
			return lv_active(l) ? lv_fail(l, "job of the domain") : 0;
		if (ji.type == VIR_DOMAIN_JOB_NONE)
			return 0;
		if (time(NULL) > end) {
			snprintf(l->err, sizeof(l->err), "libvirt's job on %s did not end in %u s",
				 l->name, timeout_s);
			return -1;
		}
		usleep(100000);
	}
}

/* s with XML's five special characters escaped, into out; -1 if too long. */
static int xml_escape(const char *s, char *out, size_t n)
{
	size_t o = 0;

	for (; *s; s++) {
		const char *r = NULL;
		char one[2] = { *s, 0 };

		switch (*s) {
		case '&':
			r = "&amp;";
			break;
		case '<':
			r = "&lt;";
			break;
		case '>':
			r = "&gt;";
			break;
		case '\'':
			r = "&apos;";
			break;
		case '"':
			r = "&quot;";
			break;
		default:
			r = one;
		}
		if (o + strlen(r) + 1 > n)
			return -1;
		memcpy(out + o, r, strlen(r));
		o += strlen(r);
	}
	out[o] = 0;
	return 0;
}

/*
 * "<disk name='X' snapshot='no'/>" for every disk of the domain's live
 * XML, so that a memory snapshot leaves every disk as it is.
 */
static int disks_left_alone(struct lv *l, char *out, size_t n)
{
	char *xml = virDomainGetXMLDesc(l->dom, 0), *p;
	size_t o = 0;

	if (!xml)
		return lv_fail(l, "domain XML");
	out[0] = 0;
	for (p = strstr(xml, "<disk "); p; p = strstr(p, "<disk ")) {
		char *end = strstr(p, "</disk>"), *t;
		char dev[64];
		int w;

		if (!end)
			break;
		*end = 0;
		t = strstr(p, "<target dev=");
		if (t && sscanf(t, "<target dev=%*[\"']%63[^\"']", dev) == 1 &&
		    strspn(dev, "abcdefghijklmnopqrstuvwxyz0123456789") == strlen(dev)) {
			w = snprintf(out + o, n - o, "<disk name='%s' snapshot='no'/>", dev);
			if (w < 0 || (size_t)w >= n - o) {
				free(xml);
				snprintf(l->err, sizeof(l->err), "too many disks");
				return -1;
			}
			o += w;
		}
		p = end + 1;
	}
	free(xml);
	return 0;
}

/* The saved image at path resumes running, as the domain was. */
static int image_resumes_running(struct lv *l, const char *path)
{
	char *xml = virDomainSaveImageGetXMLDesc(l->conn, path, VIR_DOMAIN_SAVE_IMAGE_XML_SECURE);
	int r;

	if (!xml)
		return lv_fail(l, "reading the saved image's header");
	r = virDomainSaveImageDefineXML(l->conn, path, xml, VIR_DOMAIN_SAVE_RUNNING);
	free(xml);
	return r ? lv_fail(l, "marking the saved image to resume running") : 0;
}

/*
 * An internal snapshot taken while veilctl held the domain paused says
 * "paused"; its metadata is redefined to the state the domain was in, so
 * that snapshot-revert resumes it.
 */
static int snapshot_resumes_running(struct lv *l, virDomainSnapshotPtr s)
{
	char *xml = virDomainSnapshotGetXMLDesc(s, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
	char *st = xml ? strstr(xml, "<state>paused</state>") : NULL;
	virDomainSnapshotPtr r;
	char *fixed;

	if (!xml)
		return lv_fail(l, "snapshot XML");
	if (!st) {
		free(xml);
		return 0;
	}
	fixed = malloc(strlen(xml) + 8);
	if (!fixed) {
		free(xml);
		snprintf(l->err, sizeof(l->err), "out of memory");
		return -1;
	}
	sprintf(fixed, "%.*s<state>running</state>%s", (int)(st - xml), xml,
		st + strlen("<state>paused</state>"));
	free(xml);
	r = virDomainSnapshotCreateXML(l->dom, fixed, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE |
				       VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT);
	free(fixed);
	if (!r)
		return lv_fail(l, "redefining the snapshot as running");
	virDomainSnapshotFree(r);
	return 0;
}

int lv_write(struct lv *l, enum ckpt_format f, const char *path, int was_running)
{
	unsigned int save_flags = was_running ? VIR_DOMAIN_SAVE_RUNNING : VIR_DOMAIN_SAVE_PAUSED;
	char xml[8192], esc[4096 * 6], disks[4096];
	virDomainSnapshotPtr s;

	switch (f) {
	case FMT_MANAGEDSAVE:
		return virDomainManagedSave(l->dom, save_flags) ? lv_fail(l, "managed save") : 0;
	case FMT_SAVE:
		return virDomainSaveFlags(l->dom, path, NULL, save_flags) ?
			lv_fail(l, "save") : 0;
	case FMT_DUMP:
		return virDomainCoreDumpWithFormat(l->dom, path, VIR_DOMAIN_CORE_DUMP_FORMAT_RAW,
						   VIR_DUMP_MEMORY_ONLY) ?
			lv_fail(l, "memory-only dump") : 0;
	case FMT_SNAPSHOT:
		/* The name was checked: letters, digits, '.', '_' and '-'. */
		snprintf(xml, sizeof(xml),
			 "<domainsnapshot><name>%s</name><memory snapshot='internal'/></domainsnapshot>",
			 path);
		s = virDomainSnapshotCreateXML(l->dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
		if (!s)
			return lv_fail(l, "internal snapshot");
		if (was_running && snapshot_resumes_running(l, s)) {
			virDomainSnapshotFree(s);
			return -1;
		}
		virDomainSnapshotFree(s);
		return 0;
	case FMT_MEMORY:
		if (xml_escape(path, esc, sizeof(esc)) || disks_left_alone(l, disks, sizeof(disks)))
			return -1;
		if ((size_t)snprintf(xml, sizeof(xml),
				     "<domainsnapshot><name>veilctl-%d</name>"
				     "<memory snapshot='external' file='%s'/><disks>%s</disks>"
				     "</domainsnapshot>", (int)getpid(), esc, disks) >= sizeof(xml)) {
			snprintf(l->err, sizeof(l->err), "path too long");
			return -1;
		}
		s = virDomainSnapshotCreateXML(l->dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA |
					       VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
		if (!s)
			return lv_fail(l, "memory snapshot");
		virDomainSnapshotFree(s);
		return was_running ? image_resumes_running(l, path) : 0;
	default:
		snprintf(l->err, sizeof(l->err), "not a libvirt format");
		return -1;
	}
}

int lv_each(struct lv *l, void (*fn)(void *arg, const char *name, const char *uuid,
				     int state, int managed_save), void *arg)
{
	virDomainPtr *doms;
	int n = virConnectListAllDomains(l->conn, &doms, 0);

	if (n < 0)
		return lv_fail(l, "listing domains");
	for (int i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN] = "";
		int state = -1, reason;

		virDomainGetUUIDString(doms[i], uuid);
		if (virDomainGetState(doms[i], &state, &reason, 0))
			state = -1;
		fn(arg, virDomainGetName(doms[i]), uuid, state,
		   virDomainHasManagedSaveImage(doms[i], 0) == 1);
		virDomainFree(doms[i]);
	}
	free(doms);
	return n;
}

int lv_resolve(const char *spec, const char *uri, struct vm *vm, struct lv *l,
	       int *use_lv, int *by_process)
{
	char msg[512];
	int r;

	memset(vm, 0, sizeof(*vm));
	*use_lv = 0;
	*by_process = spec[strspn(spec, "0123456789")] == 0 || strchr(spec, '/');
	if (*by_process) {
		if (vm_find(spec, vm, msg, sizeof(msg))) {
			err_msg("%s", msg);
			return EXIT_NOVM;
		}
		if (!vm->libvirt)
			return EXIT_OK;
		if (!vm->uuid[0] || lv_connect(l, uri) || lv_lookup(l, vm->uuid)) {
			err_msg("VM %d was started by libvirt, which holds its monitor, and is no domain of %s%s%s; name it by domain with --connect URI",
				vm->pid, uri, l->err[0] ? ": " : "", l->err);
			return EXIT_NOVM;
		}
		*use_lv = 1;
		return EXIT_OK;
	}
	if (lv_connect(l, uri)) {
		err_msg("%s is neither a PID nor a QMP socket, and libvirt cannot be reached to look it up as a domain: %s",
			spec, l->err);
		return EXIT_NOVM;
	}
	r = lv_lookup(l, spec);
	if (r) {
		if (r > 0)
			err_msg("no VM %s: not a PID, a QMP socket or a domain of %s", spec, uri);
		else
			err_msg("%s", l->err);
		return r > 0 ? EXIT_NOVM : EXIT_FAIL;
	}
	*use_lv = 1;
	if (lv_active(l))
		vm_find_uuid(l->uuid, vm);
	return EXIT_OK;
}
