// SPDX-License-Identifier: GPL-2.0
/*
 * What veil-disk asks of the kernel: a loop device for an image file (with
 * direct I/O, so the data is not cached twice), device-mapper tables
 * through libdevmapper (with a DM UUID VEIL-<image uuid>-<name>, and with
 * dm_task_secure_data() so that the ioctl buffers are wiped), and the
 * kernel keyring, where the volume key is a logon key that user space can
 * add and remove but never read back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <libdevmapper.h>

#include "vdisk.h"

void uuid_str(const uint8_t *u, char *out)
{
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
		u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

void dm_uuid_for(const uint8_t *uuid, const char *name, char *out, size_t len)
{
	char u[37];

	uuid_str(uuid, u);
	snprintf(out, len, VDISK_UUID_PREFIX "%s-%s", u, name);
}

/* ---- loop devices ---- */

/*
 * A free loop device backed by @image, with direct I/O where the file
 * system allows it (*dio says), cleared when its last user closes it.
 * Returns an open descriptor of it (the caller closes it once the table
 * holds the device), or -1.
 */
int loop_attach(const char *image, bool ro, uint32_t block_size, char *dev,
		size_t devlen, bool *dio)
{
	struct loop_config cfg;
	struct loop_info64 info;
	int ctl, fd, lfd = -1, n, tries;

	fd = open(image, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		err("%s: %s", image, strerror(errno));
		return -1;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		err("/dev/loop-control: %s (is the loop module loaded?)", strerror(errno));
		close(fd);
		return -1;
	}
	for (tries = 0; tries < 8; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		snprintf(dev, devlen, "/dev/loop%d", n);
		lfd = open(dev, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0)
			break;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)fd;
		cfg.block_size = block_size;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO |
				    (ro ? LO_FLAGS_READ_ONLY : 0);
		if (!ioctl(lfd, LOOP_CONFIGURE, &cfg))
			break;
		/* A file system without direct I/O: buffered, then. */
		if (errno == EINVAL) {
			cfg.info.lo_flags &= ~(uint32_t)LO_FLAGS_DIRECT_IO;
			if (!ioctl(lfd, LOOP_CONFIGURE, &cfg))
				break;
		}
		close(lfd);
		lfd = -1;
		if (errno != EBUSY)
			break;
	}
	if (lfd < 0)
		err("cannot set up a loop device for %s: %s", image, strerror(errno));
	else
		*dio = !ioctl(lfd, LOOP_GET_STATUS64, &info) &&
		       (info.lo_flags & LO_FLAGS_DIRECT_IO);
	close(ctl);
	close(fd);
	return lfd;
}

static int read_sysfs(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

/* The file behind loop device @dev ("/dev/loopN" or "7:N"), or -1. */
int loop_backing(const char *dev, char *path, size_t len, bool *dio)
{
	char p[PATH_MAX], v[16];
	unsigned int maj, min;
	struct stat st;

	if (sscanf(dev, "%u:%u", &maj, &min) != 2) {
		if (stat(dev, &st) || !S_ISBLK(st.st_mode))
			return -1;
		maj = major(st.st_rdev);
		min = minor(st.st_rdev);
	}
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/loop/backing_file", maj, min);
	if (read_sysfs(p, path, len))
		return -1;
	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/loop/dio", maj, min);
	*dio = !read_sysfs(p, v, sizeof(v)) && v[0] == '1';
	return 0;
}

int loop_set_capacity(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = ioctl(fd, LOOP_SET_CAPACITY, 0);
	close(fd);
	return r;
}

/* ---- device-mapper ---- */

static struct dm_task *dm_task_named(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	if (dmt && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

int dm_query(const char *name, struct dm_info_veil *d)
{
	char *type = NULL, *params = NULL;
	uint64_t start, length;
	struct dm_task *dmt;
	struct dm_info info;
	const char *uuid;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	dmt = dm_task_named(DM_DEVICE_TABLE, name);
	if (!dmt)
		return -1;
	dm_task_secure_data(dmt);
	if (!dm_task_run(dmt) || !dm_task_get_info(dmt, &info) || !info.exists) {
		dm_task_destroy(dmt);
		return 0;
	}
	d->found = true;
	d->read_only = info.read_only;
	uuid = dm_task_get_uuid(dmt);
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid ? uuid : "");
	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	d->veilcrypt = type && !strcmp(type, VDISK_TARGET) &&
		       !strncmp(d->uuid, VDISK_UUID_PREFIX, strlen(VDISK_UUID_PREFIX));
	snprintf(d->params, sizeof(d->params), "%s", params ? params : "");
	d->sectors = length;
	dm_task_destroy(dmt);

	dmt = dm_task_named(DM_DEVICE_STATUS, name);
	if (dmt && dm_task_run(dmt)) {
		type = params = NULL;
		dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
		snprintf(d->status, sizeof(d->status), "%s", params ? params : "");
	}
	if (dmt)
		dm_task_destroy(dmt);
	return 0;
}

int dm_for_each(int (*fn)(const char *name, void *arg), void *arg)
{
	struct dm_names *names;
	struct dm_task *dmt;
	unsigned int next = 0;
	int r = 0;

	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt || !dm_task_run(dmt)) {
		if (dmt)
			dm_task_destroy(dmt);
		return -1;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			names = (struct dm_names *)((char *)names + next);
			r = fn(names->name, arg);
			next = names->next;
		} while (next && !r);
	}
	dm_task_destroy(dmt);
	return r;
}

struct uuid_search {
	const char *prefix;
	char *name;
	size_t len;
};

static int match_uuid(const char *name, void *arg)
{
	struct uuid_search *s = arg;
	struct dm_task *dmt = dm_task_named(DM_DEVICE_INFO, name);
	const char *uuid;
	int found = 0;

	if (dmt && dm_task_run(dmt)) {
		uuid = dm_task_get_uuid(dmt);
		if (uuid && !strncmp(uuid, s->prefix, strlen(s->prefix))) {
			snprintf(s->name, s->len, "%s", name);
			found = 1;
		}
	}
	if (dmt)
		dm_task_destroy(dmt);
	return found;
}

int dm_find_uuid_prefix(const char *prefix, char *name, size_t len)
{
	struct uuid_search s = { prefix, name, len };

	name[0] = '\0';
	return dm_for_each(match_uuid, &s);
}

int dm_create_table(const char *name, const char *uuid, uint64_t sectors,
		    const char *params, bool ro)
{
	struct dm_task *dmt = dm_task_named(DM_DEVICE_CREATE, name);
	int ok = 0;

	if (!dmt)
		return -1;
	dm_task_secure_data(dmt);
	if (dm_task_set_uuid(dmt, uuid) &&
	    dm_task_add_target(dmt, 0, sectors, VDISK_TARGET, params) &&
	    (!ro || dm_task_set_ro(dmt)))
		ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return ok ? 0 : -1;
}

/* Load a new table and make it live: suspend, resume. */
int dm_reload_table(const char *name, uint64_t sectors, const char *params)
{
	struct dm_task *dmt = dm_task_named(DM_DEVICE_RELOAD, name);
	int ok = 0;

	if (!dmt)
		return -1;
	dm_task_secure_data(dmt);
	if (dm_task_add_target(dmt, 0, sectors, VDISK_TARGET, params))
		ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	if (!ok)
		return -1;
	dmt = dm_task_named(DM_DEVICE_SUSPEND, name);
	ok = dmt && dm_task_run(dmt);
	if (dmt)
		dm_task_destroy(dmt);
	dmt = dm_task_named(DM_DEVICE_RESUME, name);
	ok = dmt && dm_task_run(dmt) && ok;
	if (dmt)
		dm_task_destroy(dmt);
	dm_task_update_nodes();
	return ok ? 0 : -1;
}

int dm_remove(const char *name)
{
	struct dm_task *dmt = dm_task_named(DM_DEVICE_REMOVE, name);
	int ok = 0;

	if (!dmt)
		return -1;
	ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return ok ? 0 : -1;
}

/* ---- the kernel keyring, without libkeyutils: three system calls ---- */

int keyring_add_logon(const char *desc, const uint8_t *key, size_t len)
{
	long id = syscall(SYS_add_key, "logon", desc, key, len, KEY_SPEC_USER_KEYRING);

	if (id < 0) {
		err("cannot add the volume key to the keyring: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void keyring_drop_logon(const char *desc)
{
	long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "logon",
			  desc, 0);

	if (id >= 0)
		syscall(SYS_keyctl, KEYCTL_INVALIDATE, id);
}

int keyring_read_user(const char *desc, uint8_t *buf, size_t cap, size_t *len)
{
	long id, n;

	id = syscall(SYS_request_key, "user", desc, NULL, 0);
	if (id < 0) {
		err("key user:%s not found in the keyring: %s", desc, strerror(errno));
		return VEIL_EXIT_NOT_FOUND;
	}
	n = syscall(SYS_keyctl, KEYCTL_READ, id, buf, cap);
	if (n < 0 || (size_t)n > cap) {
		err("cannot read key user:%s: %s", desc,
		    n < 0 ? strerror(errno) : "longer than 8 KiB");
		return n < 0 && errno == EACCES ? VEIL_EXIT_PERM : VEIL_EXIT_FAILED;
	}
	*len = (size_t)n;
	return VEIL_EXIT_OK;
}
