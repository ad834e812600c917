// SPDX-License-Identifier: GPL-2.0
/*
 * veilctl: take checkpoints of KVM virtual machines with the excluded
 * processes' data left out, and look at veil's state on this host.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lv.h"
#include "qmp.h"
#include "veilctl.h"
#include "veildev.h"
#include "vm.h"

static const char usage_text[] =
"Usage: veilctl [--json] [--quiet] [--connect URI] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  list                       KVM virtual machines and libvirt domains, with their veil state\n"
"  status VM                  one VM in detail\n"
"  checkpoint VM --to FILE    take a checkpoint without the excluded processes' data\n"
"      [--format F]           QEMU: migrate (default), savevm (a snapshot in the qcow2\n"
"                             disk, --to names it) or dump (ELF);\n"
"                             libvirt: memory (default; a memory-only external snapshot,\n"
"                             'virsh restore FILE'), save ('virsh save': the domain stops),\n"
"                             managedsave (no --to; 'virsh start' resumes), snapshot\n"
"                             (internal, --to names it) or dump (memory-only core dump)\n"
"      [--timeout S]          wait S seconds for the guest to prepare (default 10)\n"
"      [--save-timeout S]     allow the snapshot writer S seconds (default 3600)\n"
"      [--allow-unprotected]  go on when the guest or host does not run veil\n"
"      [--force]              replace an existing FILE\n"
"      [--plain]              leave veil out: a full checkpoint, for comparison\n"
"  restore VM --from FILE     load a migrate-format checkpoint into a QEMU started\n"
"      [--paused]             with -incoming defer (and leave it paused)\n"
"  --version                  veil's version\n"
"\n"
"VM is a QEMU process ID, the path of its QMP socket, or a libvirt domain's name\n"
"or UUID (--connect URI, default $LIBVIRT_DEFAULT_URI or qemu:///system).\n"
"\n"
"Exit status: 0 done, 1 failed, 2 usage, 3 VM not found or unreachable,\n"
"4 refused (unprotected checkpoint, guest RAM that cannot be sanitized),\n"
"5 the guest did not acknowledge in time, 7 not permitted.\n"
"\n"
"Examples:\n"
"  veilctl checkpoint /run/vm1.qmp --to /var/lib/ckpt/vm1.mig\n"
"  veilctl checkpoint web1 --format managedsave\n";

static int json_output;
static const char *json_command = "veilctl";
static int json_done;
static char first_error[512];

void err_msg(const char *fmt, ...)
{
	va_list ap;

	if (!first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
		va_end(ap);
	}
	fputs("veilctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void info_msg(const struct options *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	fputs("veilctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void json_print(json_t *j, int ok, int flags)
{
	char *s;

	if (!json_output || json_done) {
		json_decref(j);
		return;
	}
	json_object_set_new(j, "schema", json_integer(VEILCTL_SCHEMA));
	json_object_set_new(j, "command", json_string(json_command));
	json_object_set_new(j, "ok", json_boolean(ok));
	s = json_dumps(j, JSON_COMPACT | flags);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(j);
	json_done = 1;
}

void json_failure(int exit_code, json_t *extra)
{
	json_t *j = extra ? extra : json_object();

	json_object_set_new(j, "exit", json_integer(exit_code));
	json_object_set_new(j, "error", json_string(first_error[0] ? first_error :
						    "failed"));
	json_print(j, 0, 0);
}

/* veil's view of a VM, as JSON; never fails (errors become fields). */
static json_t *veil_view(const struct vm *vm)
{
	char msg[256];
	struct veil_info info;
	int absent, fd;
	json_t *j;

	fd = veil_attach(vm->pid, vm->vm_fd, &absent, msg, sizeof(msg));
	if (fd < 0)
		return json_pack("{s:s, s:s}", "state", absent ? "no-module" :
				 errno == EBUSY ? "busy" : "error", "error", msg);
	if (veil_info(fd, &info)) {
		j = json_pack("{s:s, s:s}", "state", "error", "error", strerror(errno));
		close(fd);
		return j;
	}
	close(fd);
	return json_pack("{s:s, s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "state", veil_state_name(info.state),
			 "registered", !!(info.flags & VEIL_INFO_REGISTERED),
			 "guest_abi", info.guest_abi,
			 "generation", (json_int_t)info.generation,
			 "extents", (json_int_t)info.nr_extents,
			 "pages", (json_int_t)info.nr_pages,
			 "req_seq", (json_int_t)info.req_seq,
			 "ack_seq", (json_int_t)info.ack_seq,
			 "hypercalls", (json_int_t)info.hypercalls,
			 "rejected", (json_int_t)info.rejected,
			 "publishes", (json_int_t)info.publishes,
			 "sanitizes", (json_int_t)info.sanitizes,
			 "restores", (json_int_t)info.restores);
}

static const char *veil_summary(json_t *v, char *buf, size_t len)
{
	const char *state = json_string_value(json_object_get(v, "state"));

	if (json_object_get(v, "registered") == json_false())
		return "guest not registered";
	if (json_is_true(json_object_get(v, "registered"))) {
		snprintf(buf, len, "%s, %lld pages excluded", state,
			 (long long)json_integer_value(json_object_get(v, "pages")));
		return buf;
	}
	if (!strcmp(state, "no-module"))
		return "veil_host not loaded";
	if (!strcmp(state, "busy"))
		return "managed by another process";
	return state;
}

struct domain {
	char name[256];
	char uuid[VIR_UUID_STRING_BUFLEN];
	int state;
	int managed_save;
	int seen;		/* a QEMU process of it was listed */
};

struct domains {
	struct domain *d;
	int n;
};

static void add_domain(void *arg, const char *name, const char *uuid, int state,
		       int managed_save)
{
	struct domains *ds = arg;
	struct domain *d = realloc(ds->d, (ds->n + 1) * sizeof(*d));

	if (!d)
		return;
	ds->d = d;
	d = &ds->d[ds->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name ? name : "?");
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	d->state = state;
	d->managed_save = managed_save;
}

static struct domain *domain_of(struct domains *ds, const struct vm *vm)
{
	for (int i = 0; vm->uuid[0] && i < ds->n; i++)
		if (!strcasecmp(ds->d[i].uuid, vm->uuid))
			return &ds->d[i];
	return NULL;
}

static int cmd_list(const struct options *o)
{
	struct domains ds = { 0 };
	struct lv l = { 0 };
	struct vm *vms;
	int n = vm_scan(&vms);
	json_t *arr = json_array();
	char buf[128];

	if (n < 0) {
		err_msg("cannot read /proc: %s", strerror(errno));
		return EXIT_FAIL;
	}
	/* libvirt's domains, when it runs here or was named. */
	if (lv_connect(&l, lv_uri(o->connect)) == 0) {
		lv_each(&l, add_domain, &ds);
	} else if (o->connect) {
		err_msg("%s", l.err);
		free(vms);
		json_decref(arr);
		return EXIT_NOVM;
	}
	lv_close(&l);
	if (!json_output)
		printf("%-8s %-20s %-16s %-32s %s\n", "PID", "NAME", "DOMAIN", "QMP", "VEIL");
	for (int i = 0; i < n; i++) {
		struct domain *d = domain_of(&ds, &vms[i]);
		json_t *v = veil_view(&vms[i]);
		const char *qmp = vms[i].qmp[0] && !vms[i].libvirt ? vms[i].qmp : NULL;

		if (d)
			d->seen = 1;
		if (json_output) {
			json_array_append_new(arr, json_pack("{s:i, s:s, s:s?, s:s?, s:s?, s:s?, s:o}",
							     "pid", vms[i].pid,
							     "name", vms[i].name,
							     "qmp", qmp,
							     "domain", d ? d->name : NULL,
							     "uuid", vms[i].uuid[0] ?
								     vms[i].uuid : NULL,
							     "state", d ? lv_state_name(d->state) :
								     NULL,
							     "veil", v));
		} else {
			printf("%-8d %-20s %-16s %-32s %s\n", vms[i].pid, vms[i].name,
			       d ? d->name : vms[i].libvirt ? "(libvirt)" : "-", qmp ? qmp : "-",
			       veil_summary(v, buf, sizeof(buf)));
			json_decref(v);
		}
	}
	for (int i = 0; i < ds.n; i++) {
		const struct domain *d = &ds.d[i];

		if (d->seen)
			continue;
		if (json_output)
			json_array_append_new(arr, json_pack("{s:n, s:s, s:n, s:s, s:s, s:s, s:b}",
							     "pid", "name", d->name, "qmp",
							     "domain", d->name, "uuid", d->uuid,
							     "state", lv_state_name(d->state),
							     "managed_save", d->managed_save));
		else
			printf("%-8s %-20s %-16s %-32s %s%s\n", "-", d->name, d->name, "-",
			       lv_state_name(d->state),
			       d->managed_save ? ", managed save" : "");
	}
	json_print(json_pack("{s:o}", "vms", arr), 1, 0);
	if (!json_output)
		json_decref(arr);
	free(ds.d);
	free(vms);
	return EXIT_OK;
}

static int cmd_status(const char *spec, const struct options *o)
{
	struct vm vm;
	struct qmp q;
	struct lv l = { 0 };
	char buf[128];
	const char *rs = NULL;
	json_t *st = NULL, *v, *j;
	int use_lv, by_process, rc;

	rc = lv_resolve(spec, lv_uri(o->connect), &vm, &l, &use_lv, &by_process);
	if (rc)
		return rc;
	if (use_lv) {
		int s = lv_state(&l);

		rs = s < 0 ? NULL : lv_state_name(s);
	} else {
		if (qmp_connect(&q, vm.qmp, 10000) == 0)
			st = qmp_cmd(&q, "query-status", NULL, -1, 10000);
		else
			err_msg("VM %d: %s", vm.pid, q.err);
		qmp_close(&q);
		rs = json_string_value(json_object_get(st, "status"));
	}
	v = vm.pid ? veil_view(&vm) : json_pack("{s:s}", "state", "not-running");
	j = json_pack("{s:i, s:s, s:s?, s:s?, s:o}", "pid", vm.pid,
		      "name", use_lv ? l.name : vm.name,
		      "qmp", use_lv ? NULL : vm.qmp, "run_state", rs, "veil", v);
	if (use_lv) {
		json_object_set_new(j, "domain", json_string(l.name));
		json_object_set_new(j, "uuid", json_string(l.uuid));
	}
	json_decref(st);
	if (json_output) {
		json_print(j, 1, 0);
		lv_close(&l);
		return EXIT_OK;
	}
	rs = json_string_value(json_object_get(j, "run_state"));
	if (use_lv && vm.pid)
		printf("domain %s (%s)\n  QEMU:       PID %d\n", l.name, l.uuid, vm.pid);
	else if (use_lv)
		printf("domain %s (%s)\n  QEMU:       not running\n", l.name, l.uuid);
	else
		printf("VM %d (%s)\n  QMP:        %s\n", vm.pid, vm.name, vm.qmp);
	printf("  run state:  %s\n  veil:       %s\n", rs ? rs : "unknown",
	       vm.pid ? veil_summary(v, buf, sizeof(buf)) : "-");
	if (json_is_true(json_object_get(v, "registered")))
		printf("  guest ABI:  %lld\n  generation: %lld\n  extents:    %lld\n"
		       "  requests:   %lld sent, %lld acknowledged\n"
		       "  hypercalls: %lld (%lld rejected), %lld publishes\n"
		       "  sanitized:  %lld times, restored %lld times\n",
		       json_integer_value(json_object_get(v, "guest_abi")),
		       json_integer_value(json_object_get(v, "generation")),
		       json_integer_value(json_object_get(v, "extents")),
		       json_integer_value(json_object_get(v, "req_seq")),
		       json_integer_value(json_object_get(v, "ack_seq")),
		       json_integer_value(json_object_get(v, "hypercalls")),
		       json_integer_value(json_object_get(v, "rejected")),
		       json_integer_value(json_object_get(v, "publishes")),
		       json_integer_value(json_object_get(v, "sanitizes")),
		       json_integer_value(json_object_get(v, "restores")));
	json_decref(j);
	lv_close(&l);
	return EXIT_OK;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_format(const char *s, enum ckpt_format *f)
{
	static const enum ckpt_format all[] = {
		FMT_MIGRATE, FMT_SAVEVM, FMT_DUMP, FMT_MANAGEDSAVE, FMT_SAVE, FMT_SNAPSHOT,
		FMT_MEMORY,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, format_name(all[i]))) {
			*f = all[i];
			return 0;
		}
	}
	return -1;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "connect", required_argument, NULL, 'c' },
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "save-timeout", required_argument, NULL, 'S' },
		{ "allow-unprotected", no_argument, NULL, 'u' },
		{ "force", no_argument, NULL, 'o' },
		{ "paused", no_argument, NULL, 'p' },
		{ "plain", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .format = FMT_DEFAULT, .timeout_s = 10, .save_timeout_s = 3600 };
	const char *cmd, *vm = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "jqc:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'c':
			o.connect = optarg;
			break;
		case 't':
			o.to = optarg;
			break;
		case 'f':
			o.from = optarg;
			break;
		case 'F':
			if (parse_format(optarg, &o.format)) {
				err_msg("--format %s: use migrate, savevm or dump (QEMU), or memory, save, managedsave, snapshot or dump (libvirt)",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			if (parse_uint(optarg, 3600, &o.timeout_s) || !o.timeout_s) {
				err_msg("--timeout %s: seconds, 1 to 3600", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
			if (parse_uint(optarg, 86400, &o.save_timeout_s) || !o.save_timeout_s) {
				err_msg("--save-timeout %s: seconds, 1 to 86400", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'u':
			o.allow_unprotected = 1;
			break;
		case 'o':
			o.force = 1;
			break;
		case 'p':
			o.paused = 1;
			break;
		case 'P':
			o.plain = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("veilctl %s\n", VEIL_VERSION);
			return EXIT_OK;
		default:
			err_msg("bad option (veilctl --help lists them)");
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	/* getopt_long moved the operands to the end: COMMAND [VM] */
	if (optind >= argc) {
		err_msg("which command?");
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	json_command = cmd;
	if (optind < argc)
		vm = argv[optind++];
	if (optind < argc) {
		err_msg("unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}

	if (!strcmp(cmd, "list") && !vm)
		return cmd_list(&o);
	if (!strcmp(cmd, "status") && vm)
		return cmd_status(vm, &o);
	if (!strcmp(cmd, "checkpoint") && vm)
		return cmd_checkpoint(vm, &o);
	if (!strcmp(cmd, "restore") && vm) {
		if (!o.from) {
			err_msg("restore needs --from FILE");
			return EXIT_USAGE;
		}
		return cmd_restore(vm, &o);
	}
	if (strcmp(cmd, "list") && strcmp(cmd, "status") && strcmp(cmd, "checkpoint") &&
	    strcmp(cmd, "restore"))
		err_msg("unknown command %s", cmd);
	else
		err_msg("%s: %s", cmd, vm ? "takes no VM" :
			"which VM? (a PID, a QMP socket or a libvirt domain)");
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int rc;

	/* --json is known before any message, so that a usage error is JSON too. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json_output = 1;
	lv_init();
	rc = run(argc, argv);
	if (rc && json_output && !json_done)
		json_failure(rc, NULL);
	return rc;
}
