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

#include "qmp.h"
#include "veilctl.h"
#include "veildev.h"
#include "vm.h"

static const char usage_text[] =
"Usage: veilctl [--json] [--quiet] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  list                       KVM virtual machines on this host and their veil state\n"
"  status VM                  one VM in detail\n"
"  checkpoint VM --to FILE    take a checkpoint without the excluded processes' data\n"
"      [--format migrate|savevm|dump]  migrate stream (default), a snapshot inside\n"
"                             the VM's qcow2 disk (FILE is its name), or an ELF dump\n"
"      [--timeout S]          wait S seconds for the guest to prepare (default 10)\n"
"      [--save-timeout S]     allow the snapshot writer S seconds (default 3600)\n"
"      [--allow-unprotected]  go on when the guest or host does not run veil\n"
"      [--force]              replace an existing FILE\n"
"      [--plain]              leave veil out: a full checkpoint, for comparison\n"
"  restore VM --from FILE     load a migrate-format checkpoint into a QEMU started\n"
"      [--paused]             with -incoming defer (and leave it paused)\n"
"\n"
"VM is a QEMU process ID or the path of its QMP socket.\n"
"\n"
"Exit status: 0 done, 1 failed, 2 usage, 3 VM not found or unreachable,\n"
"4 unprotected checkpoint refused, 5 the guest did not acknowledge in time.\n"
"\n"
"Example:\n"
"  veilctl checkpoint /run/vm1.qmp --to /var/lib/ckpt/vm1.mig\n";

static int json_output;

void err_msg(const char *fmt, ...)
{
	va_list ap;

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

static int cmd_list(void)
{
	struct vm *vms;
	int n = vm_scan(&vms);
	json_t *arr = json_array();
	char buf[128];

	if (n < 0) {
		err_msg("cannot read /proc: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (!json_output)
		printf("%-8s %-20s %-32s %s\n", "PID", "NAME", "QMP", "VEIL");
	for (int i = 0; i < n; i++) {
		json_t *v = veil_view(&vms[i]);

		if (json_output) {
			json_array_append_new(arr, json_pack("{s:i, s:s, s:s?, s:o}",
							     "pid", vms[i].pid,
							     "name", vms[i].name,
							     "qmp", vms[i].qmp[0] ? vms[i].qmp : NULL,
							     "veil", v));
		} else {
			printf("%-8d %-20s %-32s %s\n", vms[i].pid, vms[i].name,
			       vms[i].qmp[0] ? vms[i].qmp : "-", veil_summary(v, buf, sizeof(buf)));
			json_decref(v);
		}
	}
	if (json_output) {
		char *s = json_dumps(arr, JSON_COMPACT);

		printf("%s\n", s);
		free(s);
	}
	json_decref(arr);
	free(vms);
	return EXIT_OK;
}

static int cmd_status(const char *spec)
{
	struct vm vm;
	struct qmp q;
	char msg[512], buf[128];
	json_t *st = NULL, *v, *j;

	if (vm_find(spec, &vm, msg, sizeof(msg))) {
		err_msg("%s", msg);
		return EXIT_NOVM;
	}
	if (qmp_connect(&q, vm.qmp, 10000) == 0)
		st = qmp_cmd(&q, "query-status", NULL, -1, 10000);
	else
		err_msg("VM %d: %s", vm.pid, q.err);
	qmp_close(&q);
	v = veil_view(&vm);
	j = json_pack("{s:i, s:s, s:s, s:s?, s:o}", "pid", vm.pid, "name", vm.name,
		      "qmp", vm.qmp,
		      "run_state", json_string_value(json_object_get(st, "status")),
		      "veil", v);
	json_decref(st);
	if (json_output) {
		char *s = json_dumps(j, JSON_COMPACT);

		printf("%s\n", s);
		free(s);
	} else {
		const char *rs = json_string_value(json_object_get(j, "run_state"));

		printf("VM %d (%s)\n  QMP:        %s\n  run state:  %s\n  veil:       %s\n",
		       vm.pid, vm.name, vm.qmp, rs ? rs : "unknown",
		       veil_summary(v, buf, sizeof(buf)));
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
	}
	json_decref(j);
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
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
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .format = FMT_MIGRATE, .timeout_s = 10, .save_timeout_s = 3600 };
	const char *cmd, *vm = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "jqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 't':
			o.to = optarg;
			break;
		case 'f':
			o.from = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "migrate")) {
				o.format = FMT_MIGRATE;
			} else if (!strcmp(optarg, "savevm")) {
				o.format = FMT_SAVEVM;
			} else if (!strcmp(optarg, "dump")) {
				o.format = FMT_DUMP;
			} else {
				err_msg("--format %s: use migrate, savevm or dump", optarg);
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
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	json_output = o.json;
	/* getopt_long moved the operands to the end: COMMAND [VM] */
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	if (optind < argc)
		vm = argv[optind++];
	if (optind < argc) {
		err_msg("unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}

	if (!strcmp(cmd, "list") && !vm)
		return cmd_list();
	if (!strcmp(cmd, "status") && vm)
		return cmd_status(vm);
	if (!strcmp(cmd, "checkpoint") && vm) {
		if (!o.to) {
			err_msg("checkpoint needs --to FILE");
			return EXIT_USAGE;
		}
		return cmd_checkpoint(vm, &o);
	}
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
		err_msg("%s: %s", cmd, vm ? "takes no VM" : "which VM? (a PID or a QMP socket)");
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}
