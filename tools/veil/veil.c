// SPDX-License-Identifier: GPL-2.0
/*
 * veil: choose which processes of this guest are kept out of the VM's
 * checkpoints, through /dev/veil-guest (veil_guest.ko).
 *
 *   veil exclude [--children] PID...     exclude processes
 *   veil exclude --comm NAME             exclude every process named NAME
 *   veil exclude --cgroup PATH           exclude a cgroup v2 subtree (a service)
 *   veil include [--comm NAME | --cgroup PATH | PID...]  undo an exclusion
 *   veil dontdump on|off                 also exclude every MADV_DONTDUMP and
 *                                        memfd_secret area in the guest
 *   veil list [--json]                   the selection, frames per category
 *   veil status [--json]                 module and control page state
 *   veil extents [--json]                dry run: what would be published
 *                                        (needs veil_guest test_hooks=1)
 *
 * Exit codes: 0 success, 1 a request was refused (the error is printed),
 * 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/veil.h>

static const char *const cat_names[VEIL_GUEST_NR_CAT] = {
	"anon", "file", "pipe", "socket", "tty", "stack", "fpu", "freed",
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: veil exclude [--children] PID... | --comm NAME | --cgroup PATH\n"
		"       veil include PID... | --comm NAME | --cgroup PATH\n"
		"       veil dontdump on|off\n"
		"       veil list [--json] | veil status [--json] | veil extents [--json]\n"
		"\n"
		"Keeps the memory, files, pipes, sockets, kernel stacks and registers of\n"
		"excluded processes out of this VM's checkpoints.\n"
		"\n"
		"example: veil exclude --children $(pidof sshd)\n");
}

static int open_dev(void)
{
	int fd = open("/dev/veil-guest", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "veil: /dev/veil-guest: %s (is veil_guest loaded?)\n",
			strerror(errno));
	return fd;
}

/* 0 when every argument is a PID, else 2 (the bad one is named). */
static int check_pids(int argc, char **argv)
{
	int i;

	if (!argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < argc; i++) {
		char *end;
		long pid;

		errno = 0;
		pid = strtol(argv[i], &end, 10);
		if (errno || *end || end == argv[i] || pid <= 0 || pid > INT32_MAX) {
			fprintf(stderr, "veil: not a PID: '%s'\n", argv[i]);
			return 2;
		}
	}
	return 0;
}

static int check_name(const char *name)
{
	struct veil_guest_select s;

	if (strlen(name) < sizeof(s.name))
		return 0;
	fprintf(stderr, "veil: name too long: '%s'\n", name);
	return 2;
}

static int do_select(int fd, unsigned long cmd, int argc, char **argv,
		     int children, const char *comm, const char *cgroup)
{
	struct veil_guest_select s = { .size = sizeof(s) };
	const char *verb = cmd == VEIL_GUEST_IOC_EXCLUDE ? "exclude" : "include";
	const char *name = comm ? comm : cgroup;
	int i, rc = 0;

	if (name) {
		s.kind = comm ? VEIL_GUEST_SEL_COMM : VEIL_GUEST_SEL_CGROUP;
		snprintf(s.name, sizeof(s.name), "%s", name);
		if (ioctl(fd, cmd, &s)) {
			fprintf(stderr, "veil: %s %s %s: %s\n", verb,
				comm ? "--comm" : "--cgroup", name, strerror(errno));
			return 1;
		}
		return 0;
	}
	for (i = 0; i < argc; i++) {
		long pid = strtol(argv[i], NULL, 10);

		s.kind = VEIL_GUEST_SEL_PID;
		s.pid = pid;
		s.flags = children ? VEIL_GUEST_SEL_CHILDREN : 0;
		if (ioctl(fd, cmd, &s)) {
			fprintf(stderr, "veil: %s %ld: %s\n", verb, pid, strerror(errno));
			rc = 1;
		}
	}
	return rc;
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

static void print_pages(const __u64 *pages, int json)
{
	int i;

	for (i = 0; i < VEIL_GUEST_NR_CAT; i++) {
		if (json)
			printf("%s\"%s\": %llu", i ? ", " : "", cat_names[i],
			       (unsigned long long)pages[i]);
		else
			printf(" %s=%llu", cat_names[i], (unsigned long long)pages[i]);
	}
}

static int do_list(int fd, int json)
{
	struct veil_guest_list l = {
		.size = sizeof(l), .entry_size = sizeof(struct veil_guest_entry),
	};
	struct veil_guest_entry *ent = NULL;
	uint64_t i;

	/* Size the buffer from the total, then fetch. */
	if (ioctl(fd, VEIL_GUEST_IOC_LIST, &l))
		goto fail;
	l.nr_entries = l.total + 16;
	ent = calloc(l.nr_entries, sizeof(*ent));
	if (!ent)
		goto fail;
	l.entries = (uintptr_t)ent;
	if (ioctl(fd, VEIL_GUEST_IOC_LIST, &l))
		goto fail;
	if (json)
		printf("[");
	for (i = 0; i < l.nr_entries; i++) {
		const struct veil_guest_entry *e = &ent[i];
		const char *kind = e->kind == VEIL_GUEST_SEL_COMM ? "comm" :
				   e->kind == VEIL_GUEST_SEL_CGROUP ? "cgroup" : "pid";

		if (json) {
			printf("%s{\"kind\": \"%s\", \"pid\": %d, \"children\": %s, "
			       "\"name\": ", i ? ", " : "", kind, e->pid,
			       e->flags & VEIL_GUEST_SEL_CHILDREN ? "true" : "false");
			print_json_str(e->name);
			printf(", \"processes\": %u, \"pages\": {", e->nr_tasks);
			print_pages(e->pages, 1);
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
		print_pages(e->pages, 0);
		if (e->shared_pages)
			printf(" shared, not protected=%llu",
			       (unsigned long long)e->shared_pages);
		printf("\n");
	}
	if (json)
		printf("]\n");
	free(ent);
	return 0;
fail:
	fprintf(stderr, "veil: list: %s\n", strerror(errno));
	free(ent);
	return 1;
}

static int do_status(int fd, int json)
{
	struct veil_guest_status st = { .size = sizeof(st) };

	if (ioctl(fd, VEIL_GUEST_IOC_STATUS, &st)) {
		fprintf(stderr, "veil: status: %s\n", strerror(errno));
		return 1;
	}
	if (json) {
		printf("{\"registered\": %s, \"test_hooks\": %s, \"state\": \"%s\", "
		       "\"frozen\": %u, \"entries\": %llu, \"generation\": %llu, "
		       "\"published_pages\": %llu}\n",
		       st.flags & VEIL_GUEST_ST_REGISTERED ? "true" : "false",
		       st.flags & VEIL_GUEST_ST_TEST_HOOKS ? "true" : "false",
		       st.state == VEIL_STATE_SANITIZED ? "sanitized" : "running",
		       st.frozen, (unsigned long long)st.nr_entries,
		       (unsigned long long)st.generation,
		       (unsigned long long)st.published_pages);
		return 0;
	}
	printf("host:       %s\n", st.flags & VEIL_GUEST_ST_REGISTERED ?
	       "registered" : "none (not registered)");
	printf("state:      %s\n", st.state == VEIL_STATE_SANITIZED ?
	       "sanitized" : "running");
	printf("selection:  %llu entries\n", (unsigned long long)st.nr_entries);
	printf("frozen:     %u tasks\n", st.frozen);
	printf("published:  generation %llu, %llu pages\n",
	       (unsigned long long)st.generation,
	       (unsigned long long)st.published_pages);
	if (st.flags & VEIL_GUEST_ST_TEST_HOOKS)
		printf("test hooks: enabled\n");
	return 0;
}

static int do_extents(int fd, int json)
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
		printf("{\"pages\": %llu, \"categories\": {",
		       (unsigned long long)x.nr_pages);
		print_pages(x.pages, 1);
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
		print_pages(x.pages, 0);
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
	fprintf(stderr, "veil: extents: %s\n", strerror(errno));
	return 1;
}

static int do_dontdump(int argc, char **argv)
{
	const char *path = "/sys/module/veil_guest/parameters/dontdump";
	const char *val;
	FILE *f;

	if (argc != 1 || (strcmp(argv[0], "on") && strcmp(argv[0], "off"))) {
		usage(stderr);
		return 2;
	}
	val = strcmp(argv[0], "on") ? "N" : "Y";
	f = fopen(path, "w");
	if (!f || fputs(val, f) < 0 || fclose(f)) {
		fprintf(stderr, "veil: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "children", no_argument, NULL, 'c' },
		{ "comm", required_argument, NULL, 'n' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *comm = NULL, *cgroup = NULL, *cmd;
	int children = 0, json = 0, fd, rc, o;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((o = getopt_long(argc, argv, "cn:g:jh", opts, NULL)) != -1) {
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
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((comm || cgroup) && (children || optind < argc || (comm && cgroup))) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "dontdump"))
		return do_dontdump(argc - optind, argv + optind);
	/* Every usage error before the device is opened. */
	if (!strcmp(cmd, "exclude") || !strcmp(cmd, "include")) {
		if (comm || cgroup) {
			if (check_name(comm ? comm : cgroup))
				return 2;
		} else if (check_pids(argc - optind, argv + optind)) {
			return 2;
		}
	} else if (strcmp(cmd, "list") && strcmp(cmd, "status") && strcmp(cmd, "extents")) {
		usage(stderr);
		return 2;
	}
	fd = open_dev();
	if (fd < 0)
		return 1;
	if (!strcmp(cmd, "exclude"))
		rc = do_select(fd, VEIL_GUEST_IOC_EXCLUDE, argc - optind,
			       argv + optind, children, comm, cgroup);
	else if (!strcmp(cmd, "include"))
		rc = do_select(fd, VEIL_GUEST_IOC_INCLUDE, argc - optind,
			       argv + optind, children, comm, cgroup);
	else if (!strcmp(cmd, "list"))
		rc = do_list(fd, json);
	else if (!strcmp(cmd, "status"))
		rc = do_status(fd, json);
	else
		rc = do_extents(fd, json);
	close(fd);
	return rc;
}
