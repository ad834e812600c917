// SPDX-License-Identifier: GPL-2.0
/*
 * veil: choose which processes of this guest are kept out of the VM's
 * checkpoints, through /dev/veil-guest (veil_guest.ko).
 *
 *   veil exclude [--children] PID...     exclude processes
 *   veil exclude --comm NAME             exclude every process named NAME
 *   veil exclude --cgroup PATH           exclude a cgroup v2 subtree (a service)
 *   veil exclude --unit NAME             exclude a systemd unit's cgroup
 *   veil include ...                     undo an exclusion (same forms)
 *   veil include --exited                drop the entries of exited processes
 *   veil dontdump on|off                 also exclude every MADV_DONTDUMP and
 *                                        memfd_secret area in the guest
 *   veil apply [--file F] [--dry-run]    make the selection equal to
 *                                        /etc/veil/exclude.conf
 *   veil list [--json]                   the selection, frames per category
 *   veil status [--json]                 module and control page state
 *   veil extents [--json]                dry run: what would be published
 *                                        (needs veil_guest test_hooks=1)
 *
 * Exit status: tools/include/veil_exit.h, as veil(8) lists it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/veil.h>

#include "veil_exit.h"

#define DEFAULT_CONF	"/etc/veil/exclude.conf"
#define DONTDUMP_PARAM	"/sys/module/veil_guest/parameters/dontdump"

/*
 * The JSON schema version of what --json prints, documented in veil(8): a
 * new member keeps it, a changed or removed one bumps it.
 */
#define VEIL_SCHEMA	1

/* pages[], then VEIL_GUEST_CAT_KERNEL (kernel_pages) */
static const char *const cat_names[VEIL_GUEST_NR_CAT + 1] = {
	"anon", "file", "pipe", "socket", "tty", "stack", "fpu", "freed", "kernel",
};

static int json;
static int json_done;		/* an object was printed */
static const char *command = "veil";
static char first_error[512];

static void usage(FILE *f)
{
	fprintf(f,
		"usage: veil exclude [--children] PID... | --comm NAME | --cgroup PATH | --unit UNIT\n"
		"       veil include PID... | --comm NAME | --cgroup PATH | --unit UNIT | --exited\n"
		"       veil dontdump on|off\n"
		"       veil apply [--file FILE] [--dry-run] [--json]\n"
		"       veil list [--json] | veil status [--json] | veil extents [--json]\n"
		"       veil --version\n"
		"\n"
		"Keeps the memory, files, pipes, sockets, kernel stacks and registers of\n"
		"excluded processes out of this VM's checkpoints.  'veil apply' makes the\n"
		"selection what " DEFAULT_CONF " says (see veil(8)).\n"
		"\n"
		"Exit status: 0 done, 1 failed, 2 usage, 3 no such process, entry, unit or\n"
		"device, 7 not permitted.\n"
		"\n"
		"examples: veil exclude --children $(pidof sshd)\n"
		"          veil exclude --unit sshd.service\n");
}

/* "veil: ..." on stderr; the first one is also the JSON failure's "error". */
static void __attribute__((format(printf, 1, 2))) err(const char *fmt, ...)
{
	va_list ap;

	if (!first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
		va_end(ap);
	}
	fputs("veil: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The exit status for a request the module refused with errno e. */
static int exit_for(int e)
{
	switch (e) {
	case ESRCH:
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return VEIL_EXIT_NOT_FOUND;
	case EPERM:
	case EACCES:
		return VEIL_EXIT_PERM;
	case ETIMEDOUT:
		return VEIL_EXIT_TIMEOUT;
	default:
		return VEIL_EXIT_FAILED;
	}
}

/* s as a JSON string, quotes included. */
static void print_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/*
 * The opening members every JSON object of veil carries; ok < 0 leaves
 * "ok" to the caller, who knows it only at the end.
 */
static void json_open(int ok)
{
	printf("{\"schema\": %d, \"command\": ", VEIL_SCHEMA);
	print_json_str(command);
	if (ok >= 0)
		printf(", \"ok\": %s", ok ? "true" : "false");
	json_done = 1;
}

static void json_failure(int rc)
{
	json_open(0);
	printf(", \"exit\": %d, \"error\": ", rc);
	print_json_str(first_error[0] ? first_error : "failed");
	printf("}\n");
}

static int open_dev(void)
{
	int fd = open("/dev/veil-guest", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		err("/dev/veil-guest: %s (is veil_guest loaded? modprobe veil_guest)",
		    strerror(errno));
	return fd;
}

/* 0 when every argument is a PID, else 2 (the bad one is named). */
static int check_pids(int argc, char **argv)
{
	int i;

	if (!argc) {
		err("which process? (a PID, --comm, --cgroup or --unit)");
		usage(stderr);
		return VEIL_EXIT_USAGE;
	}
	for (i = 0; i < argc; i++) {
		char *end;
		long pid;

		errno = 0;
		pid = strtol(argv[i], &end, 10);
		if (errno || *end || end == argv[i] || pid <= 0 || pid > INT32_MAX) {
			err("not a PID: '%s'", argv[i]);
			return VEIL_EXIT_USAGE;
		}
	}
	return 0;
}

static int check_name(const char *name)
{
	struct veil_guest_select s;

	if (strlen(name) < sizeof(s.name))
		return 0;
	err("name too long: '%s'", name);
	return VEIL_EXIT_USAGE;
}

/* systemd's unit names: letters, digits and ":-_.\@", with a type suffix. */
static int unit_name_ok(const char *u)
{
	const char *dot = strrchr(u, '.');

	if (!*u || *u == '-' || !dot || dot == u || !dot[1] || strlen(u) > 255)
		return 0;
	for (; *u; u++)
		if (!isalnum((unsigned char)*u) && !strchr(":-_.\\@", *u))
			return 0;
	return 1;
}

/*
 * The cgroup v2 path of a systemd unit, from systemd itself (the unit may
 * sit in any slice).  Returns 0, or an exit status with the error printed.
 */
static int unit_cgroup(const char *unit, char *path, size_t len)
{
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (!unit_name_ok(unit)) {
		err("--unit %s: not a systemd unit name (e.g. sshd.service)", unit);
		return VEIL_EXIT_USAGE;
	}
	if (pipe(p)) {
		err("--unit %s: %s", unit, strerror(errno));
		return VEIL_EXIT_FAILED;
	}
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execlp("systemctl", "systemctl", "show", "--property=ControlGroup", "--value",
		       "--", unit, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && (size_t)got < len - 1 &&
	       ((n = read(p[0], path + got, len - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? n : 0;
	close(p[0]);
	path[got] = 0;
	path[strcspn(path, "\n")] = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		err("--unit %s: systemctl could not tell its cgroup%s", unit,
		    pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
		    " (systemctl is missing: name the cgroup with --cgroup)" : "");
		return VEIL_EXIT_FAILED;
	}
	if (path[0] != '/') {
		err("--unit %s: the unit has no cgroup (it is not running); exclude it once it runs, or run 'veil apply' after it starts",
		    unit);
		return VEIL_EXIT_NOT_FOUND;
	}
	return 0;
}

/* One selection request by name: comm or cgroup.  0 or errno. */
static int select_name(int fd, unsigned long cmd, int kind, const char *name)
{
	struct veil_guest_select s = { .size = sizeof(s), .kind = kind };

	snprintf(s.name, sizeof(s.name), "%s", name);
	return ioctl(fd, cmd, &s) ? errno : 0;
}

static int select_pid(int fd, unsigned long cmd, int pid, int children)
{
	struct veil_guest_select s = { .size = sizeof(s), .kind = VEIL_GUEST_SEL_PID };

	s.pid = pid;
	s.flags = children ? VEIL_GUEST_SEL_CHILDREN : 0;
	return ioctl(fd, cmd, &s) ? errno : 0;
}

static int do_select(int fd, unsigned long cmd, int argc, char **argv,
		     int children, const char *comm, const char *cgroup)
{
	const char *verb = cmd == VEIL_GUEST_IOC_EXCLUDE ? "exclude" : "include";
	const char *name = comm ? comm : cgroup;
	int i, e, rc = 0;

	if (name) {
		e = select_name(fd, cmd, comm ? VEIL_GUEST_SEL_COMM : VEIL_GUEST_SEL_CGROUP,
				name);
		if (e) {
			err("%s %s %s: %s", verb, comm ? "--comm" : "--cgroup", name,
			    strerror(e));
			return exit_for(e);
		}
		return 0;
	}
	for (i = 0; i < argc; i++) {
		long pid = strtol(argv[i], NULL, 10);

		e = select_pid(fd, cmd, pid, children);
		if (e == EPERM && cmd == VEIL_GUEST_IOC_INCLUDE) {
			err("include %ld: %s (not your process, or an administrator excluded it)",
			    pid, strerror(e));
			if (!rc)
				rc = exit_for(e);
		} else if (e) {
			err("%s %ld: %s", verb, pid, strerror(e));
			if (!rc)
				rc = exit_for(e);
		}
	}
	return rc;
}

/*
 * include --exited: the entries of processes that have exited, which
 * cannot be named by PID.
 */
static int do_include_exited(int fd)
{
	struct veil_guest_select s = { .size = sizeof(s), .kind = VEIL_GUEST_SEL_EXITED };
	int e;

	if (!ioctl(fd, VEIL_GUEST_IOC_INCLUDE, &s))
		return 0;
	e = errno;
	if (e == ENOENT)
		err("include --exited: no entry of a process that has exited");
	else if (e == EINVAL)
		err("include --exited: this veil_guest does not know it (an older module)");
	else
		err("include --exited: %s", strerror(e));
	return exit_for(e);
}

static void print_pages(const __u64 *pages, __u64 kernel, int as_json)
{
	unsigned long long n;
	int i;

	for (i = 0; i <= VEIL_GUEST_NR_CAT; i++) {
		n = i < VEIL_GUEST_NR_CAT ? pages[i] : kernel;
		if (as_json)
			printf("%s\"%s\": %llu", i ? ", " : "", cat_names[i], n);
		else
			printf(" %s=%llu", cat_names[i], n);
	}
}

/*
 * LIST with entries of l->entry_size bytes, shorter than ours, spread out
 * into ent[] (l->nr_entries of them, zeroed): the members a module older
 * than these tools does not know stay 0.  Returns how many, or -1.
 */
static long read_short_entries(int fd, struct veil_guest_list *l,
			       struct veil_guest_entry *ent)
{
	char *buf = calloc(l->nr_entries, l->entry_size);
	__u64 i;

	if (!buf)
		return -1;
	l->entries = (uintptr_t)buf;
	if (ioctl(fd, VEIL_GUEST_IOC_LIST, l)) {
		free(buf);
		return -1;
	}
	for (i = 0; i < l->nr_entries; i++)
		memcpy(&ent[i], buf + i * l->entry_size, l->entry_size);
	free(buf);
	return l->nr_entries;
}

/* The selection, malloc'ed, in *ent; its size, or -1 with errno set. */
static long read_selection(int fd, struct veil_guest_entry **ent)
{
	struct veil_guest_list l = {
		.size = sizeof(l), .entry_size = sizeof(struct veil_guest_entry),
	};

	*ent = NULL;
	/* Size the buffer from the total, then fetch. */
	if (ioctl(fd, VEIL_GUEST_IOC_LIST, &l)) {
		/* A module older than these tools: entries without kernel_pages. */
		if (errno != EINVAL)
			return -1;
		l.entry_size = VEIL_GUEST_ENTRY_SIZE_V2;
		if (ioctl(fd, VEIL_GUEST_IOC_LIST, &l))
			return -1;
	}
	l.nr_entries = l.total + 16;
	*ent = calloc(l.nr_entries, sizeof(**ent));
	if (!*ent)
		return -1;
	l.entries = (uintptr_t)*ent;
	if (l.entry_size != sizeof(**ent)) {
		long n = read_short_entries(fd, &l, *ent);

		if (n < 0) {
			free(*ent);
			*ent = NULL;
		}
		return n;
	}
	if (ioctl(fd, VEIL_GUEST_IOC_LIST, &l)) {
		free(*ent);
		*ent = NULL;
		return -1;
	}
	return l.nr_entries;
}

static const char *kind_name(unsigned int kind)
{
	return kind == VEIL_GUEST_SEL_COMM ? "comm" :
	       kind == VEIL_GUEST_SEL_CGROUP ? "cgroup" : "pid";
}

static int do_list(int fd)
{
	struct veil_guest_entry *ent;
	long i, n = read_selection(fd, &ent);

	if (n < 0) {
		err("list: %s", strerror(errno));
		return exit_for(errno);
	}
	if (json) {
		json_open(1);
		printf(", \"entries\": [");
	}
	for (i = 0; i < n; i++) {
		const struct veil_guest_entry *e = &ent[i];
		const char *kind = kind_name(e->kind);

		if (json) {
			printf("%s{\"kind\": \"%s\", \"pid\": %d, \"children\": %s, "
			       "\"name\": ", i ? ", " : "", kind, e->pid,
			       e->flags & VEIL_GUEST_SEL_CHILDREN ? "true" : "false");
			print_json_str(e->name);
			printf(", \"processes\": %u, \"pages\": {", e->nr_tasks);
			print_pages(e->pages, e->kernel_pages, 1);
			printf("}, \"shared_not_protected\": %llu}",
			       (unsigned long long)e->shared_pages);
			continue;
		}
		if (e->kind != VEIL_GUEST_SEL_PID)
			printf("%s %-16s processes=%u", kind, e->name, e->nr_tasks);
		else if (e->pid)
			printf("pid %d%s (%s) processes=%u", e->pid,
			       e->flags & VEIL_GUEST_SEL_CHILDREN ? " +children" : "",
			       e->name, e->nr_tasks);
		else
			printf("pid (exited) processes=%u", e->nr_tasks);
		print_pages(e->pages, e->kernel_pages, 0);
		if (e->shared_pages)
			printf(" shared, not protected=%llu",
			       (unsigned long long)e->shared_pages);
		printf("\n");
	}
	if (json)
		printf("]}\n");
	free(ent);
	return 0;
}

/* The dontdump switch: 1 on, 0 off, -1 unknown. */
static int dontdump_state(void)
{
	FILE *f = fopen(DONTDUMP_PARAM, "re");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c == 'Y' || c == '1' ? 1 : c == 'N' || c == '0' ? 0 : -1;
}

/*
 * Compressed swap in RAM: zswap keeps what it swaps out compressed in
 * guest memory, and so does a zram swap device.  A page of an excluded
 * process swapped out there sits in frames the guest does not publish (the
 * swap-in at PREPARE does not wipe the compressed copy: zswap frees it on
 * 6.12, and keeps it on 6.1).
 * Bit 0: zswap is enabled; bit 1: swap is on zram; -1 if unknown.
 */
#define SWAP_ZSWAP	1
#define SWAP_ZRAM	2

static int compressed_swap(void)
{
	FILE *f = fopen("/sys/module/zswap/parameters/enabled", "re");
	char line[256];
	int c, r = 0;

	if (f) {
		c = fgetc(f);
		fclose(f);
		if (c == 'Y' || c == '1')
			r |= SWAP_ZSWAP;
	}
	f = fopen("/proc/swaps", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "/dev/zram", 9))
			r |= SWAP_ZRAM;
	fclose(f);
	return r;
}

static void module_version(char *buf, size_t len)
{
	FILE *f = fopen("/sys/module/veil_guest/version", "re");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

static int do_status(int fd)
{
	struct veil_guest_status st = { .size = sizeof(st) };
	int dd = dontdump_state(), cs = compressed_swap();
	char ver[64];

	if (ioctl(fd, VEIL_GUEST_IOC_STATUS, &st)) {
		err("status: %s", strerror(errno));
		return exit_for(errno);
	}
	module_version(ver, sizeof(ver));
	if (json) {
		json_open(1);
		printf(", \"module_version\": ");
		print_json_str(ver);
		printf(", \"registered\": %s, \"test_hooks\": %s, \"state\": \"%s\", "
		       "\"dontdump\": %s, \"frozen\": %u, \"entries\": %llu, "
		       "\"generation\": %llu, \"published_pages\": %llu, \"withdrawn\": %s, "
		       "\"prepares\": %llu, \"thaws\": %llu, \"auto_thaws\": %u, "
		       "\"restores\": %llu, \"req_seq\": %llu, \"ack_seq\": %llu, "
		       "\"last_error\": %u, \"last_error_text\": ",
		       st.flags & VEIL_GUEST_ST_REGISTERED ? "true" : "false",
		       st.flags & VEIL_GUEST_ST_TEST_HOOKS ? "true" : "false",
		       st.state == VEIL_STATE_SANITIZED ? "sanitized" : "running",
		       dd < 0 ? "null" : dd ? "true" : "false",
		       st.frozen, (unsigned long long)st.nr_entries,
		       (unsigned long long)st.generation,
		       (unsigned long long)st.published_pages,
		       st.flags & VEIL_GUEST_ST_WITHDRAWN ? "true" : "false",
		       (unsigned long long)st.prepares, (unsigned long long)st.thaws,
		       st.auto_thaws, (unsigned long long)st.restores,
		       (unsigned long long)st.req_seq, (unsigned long long)st.ack_seq,
		       st.last_error);
		if (st.last_error)
			print_json_str(strerror(st.last_error));
		else
			printf("null");
		printf(", \"zswap\": %s, \"zram_swap\": %s}\n",
		       cs < 0 ? "null" : cs & SWAP_ZSWAP ? "true" : "false",
		       cs < 0 ? "null" : cs & SWAP_ZRAM ? "true" : "false");
		return 0;
	}
	printf("module:     veil_guest %s\n", ver[0] ? ver : "(version unknown)");
	printf("host:       %s\n", st.flags & VEIL_GUEST_ST_REGISTERED ?
	       "registered" : "none (not registered)");
	printf("state:      %s\n", st.state == VEIL_STATE_SANITIZED ?
	       "sanitized" : "running");
	printf("selection:  %llu entries\n", (unsigned long long)st.nr_entries);
	printf("dontdump:   %s\n", dd < 0 ? "unknown" : dd ? "on" : "off");
	printf("frozen:     %u tasks\n", st.frozen);
	printf("published:  generation %llu, %llu pages\n",
	       (unsigned long long)st.generation,
	       (unsigned long long)st.published_pages);
	if (st.flags & VEIL_GUEST_ST_WITHDRAWN)
		printf("            withdrawn: a message it names was received before THAW;\n"
		       "            no checkpoint can be taken of it\n");
	printf("requests:   %llu from the host, %llu acknowledged\n",
	       (unsigned long long)st.req_seq, (unsigned long long)st.ack_seq);
	printf("prepares:   %llu, thaws %llu (%u after thaw_timeout_ms), restores %llu\n",
	       (unsigned long long)st.prepares, (unsigned long long)st.thaws,
	       st.auto_thaws, (unsigned long long)st.restores);
	if (st.last_error)
		printf("last error: %s (errno %u, at the last PREPARE)\n",
		       strerror(st.last_error), st.last_error);
	else
		printf("last error: none\n");
	if (st.flags & VEIL_GUEST_ST_TEST_HOOKS)
		printf("test hooks: enabled\n");
	if (cs > 0)
		printf("warning:    %s%s%s: memory of excluded processes swapped out there stays\n"
		       "            compressed in frames that are not published (turn it off, or\n"
		       "            set memory.zswap.max=0 on their cgroup)\n",
		       cs & SWAP_ZSWAP ? "zswap is on" : "",
		       cs == (SWAP_ZSWAP | SWAP_ZRAM) ? ", " : "",
		       cs & SWAP_ZRAM ? "swap is on zram" : "");
	return 0;
}

static int do_extents(int fd)
{
	struct veil_guest_extents x = { .size = sizeof(x) };
	struct veil_extent *ext;
	uint64_t i;

	if (ioctl(fd, VEIL_GUEST_IOC_EXTENTS, &x))
		goto fail;
	ext = calloc(x.total + 1, sizeof(*ext));
	if (!ext)
		goto fail;
	x.nr_extents = x.total + 1;
	x.extents = (uintptr_t)ext;
	if (ioctl(fd, VEIL_GUEST_IOC_EXTENTS, &x)) {
		free(ext);
		goto fail;
	}
	if (json) {
		json_open(1);
		printf(", \"pages\": %llu, \"categories\": {",
		       (unsigned long long)x.nr_pages);
		print_pages(x.pages, x.kernel_pages, 1);
		printf("}, \"extents\": [");
		for (i = 0; i < x.nr_extents; i++) {
			uint64_t n = ext[i].npages;

			printf("%s[%llu, ", i ? ", " : "", (unsigned long long)ext[i].gfn);
			if (n & VEIL_EXTENT_PARTIAL)
				printf("1, %u, %u]", VEIL_EXTENT_OFF(n), VEIL_EXTENT_LEN(n));
			else
				printf("%llu]", (unsigned long long)n);
		}
		printf("]}\n");
	} else {
		printf("%llu extents, %llu pages:", (unsigned long long)x.nr_extents,
		       (unsigned long long)x.nr_pages);
		print_pages(x.pages, x.kernel_pages, 0);
		printf("\n");
		for (i = 0; i < x.nr_extents; i++) {
			uint64_t n = ext[i].npages;

			if (n & VEIL_EXTENT_PARTIAL)
				printf("gfn 0x%llx bytes %u..%u\n",
				       (unsigned long long)ext[i].gfn, VEIL_EXTENT_OFF(n),
				       VEIL_EXTENT_OFF(n) + VEIL_EXTENT_LEN(n) - 1);
			else
				printf("gfn 0x%llx +%llu\n",
				       (unsigned long long)ext[i].gfn,
				       (unsigned long long)n);
		}
	}
	free(ext);
	return 0;
fail:
	err("extents: %s", strerror(errno));
	return exit_for(errno);
}

static int set_dontdump(int on)
{
	FILE *f = fopen(DONTDUMP_PARAM, "we");
	int e;

	if (!f || fputs(on ? "Y" : "N", f) < 0 || fclose(f)) {
		e = errno;
		err("%s: %s", DONTDUMP_PARAM, strerror(e));
		return exit_for(e);
	}
	return 0;
}

static int do_dontdump(int argc, char **argv)
{
	if (argc != 1 || (strcmp(argv[0], "on") && strcmp(argv[0], "off"))) {
		err("dontdump takes 'on' or 'off'");
		usage(stderr);
		return VEIL_EXIT_USAGE;
	}
	return set_dontdump(!strcmp(argv[0], "on"));
}

/* One line of exclude.conf: a comm or a cgroup (units resolved to theirs). */
struct want {
	int kind;
	char name[VEIL_GUEST_NAME_MAX];
	char unit[256];		/* the unit it came from, or "" */
	int line;
	int present;		/* the selection has it already */
};

struct conf {
	struct want *w;
	int n;
	int dontdump;
};

/*
 * Reads the whole file before anything changes: a bad line fails the
 * apply with nothing done.  Returns 0 or an exit status.
 */
static int read_conf(const char *path, struct conf *c)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int no = 0;

	memset(c, 0, sizeof(*c));
	if (!f) {
		err("%s: %s", path, strerror(errno));
		return exit_for(errno);
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *val, *end;
		struct want *w;

		no++;
		if (!strchr(line, '\n') && !feof(f)) {
			err("%s:%d: line too long", path, no);
			goto bad;
		}
		line[strcspn(line, "#\n")] = 0;
		key = line + strspn(line, " \t");
		if (!*key)
			continue;
		val = key + strcspn(key, " \t");
		if (*val)
			*val++ = 0;
		val += strspn(val, " \t");
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		if (!*val || strpbrk(val, " \t")) {
			err("%s:%d: '%s' takes one value", path, no, key);
			goto bad;
		}
		if (!strcmp(key, "dontdump")) {
			if (strcmp(val, "on") && strcmp(val, "off")) {
				err("%s:%d: dontdump is 'on' or 'off'", path, no);
				goto bad;
			}
			c->dontdump = !strcmp(val, "on");
			continue;
		}
		w = realloc(c->w, (c->n + 1) * sizeof(*w));
		if (!w) {
			err("out of memory");
			goto bad;
		}
		c->w = w;
		w = &c->w[c->n++];
		memset(w, 0, sizeof(*w));
		w->line = no;
		if (strlen(val) >= sizeof(w->name)) {
			err("%s:%d: name too long", path, no);
			goto bad;
		}
		if (!strcmp(key, "comm")) {
			w->kind = VEIL_GUEST_SEL_COMM;
			strcpy(w->name, val);
		} else if (!strcmp(key, "cgroup") && val[0] == '/') {
			w->kind = VEIL_GUEST_SEL_CGROUP;
			strcpy(w->name, val);
		} else if (!strcmp(key, "unit") && unit_name_ok(val)) {
			w->kind = VEIL_GUEST_SEL_CGROUP;
			strcpy(w->unit, val);
		} else {
			err("%s:%d: '%s %s': expected comm NAME, cgroup /PATH, unit NAME.service or dontdump on|off (PIDs do not last: name processes)",
			    path, no, key, val);
			goto bad;
		}
	}
	fclose(f);
	return 0;
bad:
	fclose(f);
	free(c->w);
	c->w = NULL;
	return VEIL_EXIT_FAILED;
}

static void report(int *first, const char *what, const char *kind, const char *name,
		   int pid, const char *unit, int e)
{
	if (json) {
		printf("%s{\"change\": \"%s\", \"kind\": \"%s\", \"name\": ", *first ? "" : ", ",
		       what, kind);
		print_json_str(name);
		printf(", \"pid\": %d, \"unit\": ", pid);
		if (unit && *unit)
			print_json_str(unit);
		else
			printf("null");
		printf(", \"error\": ");
		if (e)
			print_json_str(strerror(e));
		else
			printf("null");
		printf("}");
	} else if (pid) {
		printf("%s pid %d%s%s\n", what, pid, e ? ": " : "", e ? strerror(e) : "");
	} else {
		printf("%s %s %s%s%s%s%s%s\n", what, kind, name, unit && *unit ? " (unit " : "",
		       unit && *unit ? unit : "", unit && *unit ? ")" : "", e ? ": " : "",
		       e ? strerror(e) : "");
	}
	*first = 0;
}

/*
 * apply: the selection becomes what the file says.  Entries the file does
 * not name (PIDs included) are removed, missing ones added, the dontdump
 * switch set.  A unit that is not running cannot be added: it is reported
 * and the rest is still applied.
 */
static int do_apply(int fd, const char *path, int dry_run)
{
	struct veil_guest_entry *ent;
	struct conf c;
	int rc, i, first = 1, dd;
	long n, j;

	rc = read_conf(path, &c);
	if (rc)
		return rc;
	for (i = 0; i < c.n; i++) {
		if (!c.w[i].unit[0])
			continue;
		int r = unit_cgroup(c.w[i].unit, c.w[i].name, sizeof(c.w[i].name));

		if (r) {
			c.w[i].kind = 0;	/* reported; left out */
			if (!rc)
				rc = r;
		}
	}
	n = read_selection(fd, &ent);
	if (n < 0) {
		err("list: %s", strerror(errno));
		free(c.w);
		return exit_for(errno);
	}
	if (json) {
		json_open(-1);
		printf(", \"file\": ");
		print_json_str(path);
		printf(", \"dry_run\": %s, \"changes\": [", dry_run ? "true" : "false");
	}
	for (j = 0; j < n; j++) {
		const struct veil_guest_entry *e = &ent[j];
		int keep = 0, err_no = 0;

		for (i = 0; i < c.n && e->kind != VEIL_GUEST_SEL_PID; i++) {
			if (c.w[i].kind == (int)e->kind && !strcmp(c.w[i].name, e->name) &&
			    !c.w[i].present) {
				c.w[i].present = keep = 1;
				break;
			}
		}
		if (keep || (e->kind == VEIL_GUEST_SEL_PID && !e->pid))
			continue;	/* an exited process's entry covers nothing */
		if (!dry_run)
			err_no = e->kind == VEIL_GUEST_SEL_PID ?
				 select_pid(fd, VEIL_GUEST_IOC_INCLUDE, e->pid, 0) :
				 select_name(fd, VEIL_GUEST_IOC_INCLUDE, e->kind, e->name);
		report(&first, err_no ? "failed to remove" : "removed", kind_name(e->kind),
		       e->name, e->kind == VEIL_GUEST_SEL_PID ? e->pid : 0, NULL, err_no);
		if (err_no && !rc)
			rc = exit_for(err_no);
	}
	for (i = 0; i < c.n; i++) {
		struct want *w = &c.w[i];
		int err_no = 0;

		if (!w->kind || w->present)
			continue;
		if (!dry_run)
			err_no = select_name(fd, VEIL_GUEST_IOC_EXCLUDE, w->kind, w->name);
		report(&first, err_no ? "failed to add" : "added", kind_name(w->kind), w->name,
		       0, w->unit, err_no);
		if (err_no && !rc)
			rc = exit_for(err_no);
	}
	dd = dontdump_state();
	if (dd != c.dontdump) {
		int r = dry_run ? 0 : set_dontdump(c.dontdump);

		if (!json)
			printf("%s dontdump %s\n", r ? "failed to set" : "set",
			       c.dontdump ? "on" : "off");
		if (r && !rc)
			rc = r;
	}
	if (json) {
		printf("], \"dontdump\": %s, \"ok\": %s, \"exit\": %d, \"error\": ",
		       c.dontdump ? "true" : "false", rc ? "false" : "true", rc);
		if (first_error[0])
			print_json_str(first_error);
		else
			printf("null");
		printf("}\n");
	}
	free(ent);
	free(c.w);
	return rc;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "children", no_argument, NULL, 'c' },
		{ "comm", required_argument, NULL, 'n' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "unit", required_argument, NULL, 'u' },
		{ "exited", no_argument, NULL, 'x' },
		{ "file", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *comm = NULL, *cgroup = NULL, *unit = NULL, *file = DEFAULT_CONF, *cmd;
	char unit_path[VEIL_GUEST_NAME_MAX];
	int children = 0, dry_run = 0, exited = 0, fd, rc, o;

	if (argc < 2) {
		err("which command?");
		usage(stderr);
		return VEIL_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		json = 0;
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("veil %s\n", VEIL_VERSION);
		json = 0;
		return 0;
	}
	command = cmd;
	optind = 2;
	while ((o = getopt_long(argc, argv, "cn:g:u:xf:djh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			children = 1;
			break;
		case 'n':
			comm = optarg;
			break;
		case 'g':
			cgroup = optarg;
			break;
		case 'u':
			unit = optarg;
			break;
		case 'x':
			exited = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'd':
			dry_run = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			json = 0;
			return 0;
		default:
			err("bad option (veil --help lists them)");
			usage(stderr);
			return VEIL_EXIT_USAGE;
		}
	}
	if ((!!comm + !!cgroup + !!unit) > 1 ||
	    ((comm || cgroup || unit) && (children || optind < argc))) {
		err("name one of: PIDs, --comm, --cgroup or --unit");
		usage(stderr);
		return VEIL_EXIT_USAGE;
	}
	if (exited && (strcmp(cmd, "include") || comm || cgroup || unit || children ||
		       optind < argc)) {
		err("--exited goes alone, with include");
		usage(stderr);
		return VEIL_EXIT_USAGE;
	}
	if (!strcmp(cmd, "dontdump"))
		return do_dontdump(argc - optind, argv + optind);
	/* Every usage error before the device is opened. */
	if (!strcmp(cmd, "exclude") || !strcmp(cmd, "include")) {
		if (comm || cgroup) {
			rc = check_name(comm ? comm : cgroup);
			if (rc)
				return rc;
		} else if (!unit && !exited) {
			rc = check_pids(argc - optind, argv + optind);
			if (rc)
				return rc;
		}
	} else if (strcmp(cmd, "list") && strcmp(cmd, "status") && strcmp(cmd, "extents") &&
		   strcmp(cmd, "apply")) {
		err("unknown command %s", cmd);
		usage(stderr);
		return VEIL_EXIT_USAGE;
	} else if (optind < argc) {
		err("%s: unexpected argument %s", cmd, argv[optind]);
		return VEIL_EXIT_USAGE;
	}
	if (unit) {
		rc = unit_cgroup(unit, unit_path, sizeof(unit_path));
		if (rc)
			return rc;
		cgroup = unit_path;
	}
	fd = open_dev();
	if (fd < 0)
		return exit_for(errno);
	if (!strcmp(cmd, "exclude"))
		rc = do_select(fd, VEIL_GUEST_IOC_EXCLUDE, argc - optind,
			       argv + optind, children, comm, cgroup);
	else if (!strcmp(cmd, "include") && exited)
		rc = do_include_exited(fd);
	else if (!strcmp(cmd, "include"))
		rc = do_select(fd, VEIL_GUEST_IOC_INCLUDE, argc - optind,
			       argv + optind, children, comm, cgroup);
	else if (!strcmp(cmd, "list"))
		rc = do_list(fd);
	else if (!strcmp(cmd, "status"))
		rc = do_status(fd);
	else if (!strcmp(cmd, "apply"))
		rc = do_apply(fd, file, dry_run);
	else
		rc = do_extents(fd);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = 1;
	rc = run(argc, argv);
	if (rc && json && !json_done) {
		json_failure(rc);
	} else if (!rc && json && !json_done) {
		/* exclude, include, dontdump: nothing to say but success. */
		json_open(1);
		printf("}\n");
	}
	return rc;
}
