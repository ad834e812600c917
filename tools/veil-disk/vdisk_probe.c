// SPDX-License-Identifier: GPL-2.0
/*
 * What a format would destroy: a device in use (mounted, held by
 * device-mapper or md, or a file behind a loop device) is never formatted;
 * one that carries a signature (a veil image, LUKS, a file system, a
 * partition table) is formatted only with --force, and then every
 * signature libblkid finds is wiped, wherever it lies (wipefs's way).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <blkid/blkid.h>

#include "vdisk.h"

/* Is @fd's file behind a loop device?  Its name in @dev if so. */
static int file_loop_user(int fd, char *dev, size_t len)
{
	char path[PATH_MAX], back[PATH_MAX];
	struct stat st, bst;
	struct dirent *de;
	DIR *d;
	FILE *f;
	size_t n;
	int found = 0;

	if (fstat(fd, &st))
		return -1;
	d = opendir("/sys/block");
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (strncmp(de->d_name, "loop", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		n = fread(back, 1, sizeof(back) - 1, f);
		fclose(f);
		back[n] = '\0';
		while (n && back[n - 1] == '\n')
			back[--n] = '\0';
		if (!stat(back, &bst) && bst.st_dev == st.st_dev && bst.st_ino == st.st_ino) {
			snprintf(dev, len, "/dev/%s", de->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

int probe_in_use(const char *path, int fd)
{
	char dev[300];
	struct stat st;

	if (fstat(fd, &st))
		return VEIL_EXIT_FAILED;
	if (S_ISREG(st.st_mode) && file_loop_user(fd, dev, sizeof(dev)) > 0) {
		err("%s is in use: %s is backed by it", path, dev);
		return VEIL_EXIT_REFUSED;
	}
	/* Block devices: the exclusive open in the caller is the test. */
	return VEIL_EXIT_OK;
}

int probe_busy(const char *path, int fd)
{
	struct stat st;
	int excl;

	if (fstat(fd, &st))
		return VEIL_EXIT_FAILED;
	if (!S_ISBLK(st.st_mode))
		return probe_in_use(path, fd);
	/* Exclusive: fails while mounted or held by dm, md, ... */
	excl = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (excl < 0 && errno == EBUSY) {
		err("%s is in use (mounted, or held by another device)", path);
		return VEIL_EXIT_REFUSED;
	}
	if (excl >= 0)
		close(excl);
	return VEIL_EXIT_OK;
}

static bool veil_magic_at(int fd, uint64_t off)
{
	char magic[VEILCRYPT_MAGIC_LEN];

	return pread(fd, magic, sizeof(magic), (off_t)off) == (ssize_t)sizeof(magic) &&
	       !memcmp(magic, VEILCRYPT_MAGIC, sizeof(magic));
}

int probe_signatures(int fd, const char *path, bool force)
{
	const char *type;
	char found[256] = "";
	blkid_probe pr;
	int n = 0;

	if (veil_magic_at(fd, 0) || veil_magic_at(fd, VEILCRYPT_BACKUP_OFFSET)) {
		snprintf(found, sizeof(found), "veilcrypt");
		n++;
	}
	pr = blkid_new_probe();
	if (!pr || blkid_probe_set_device(pr, fd, 0, 0)) {
		err("%s: cannot probe it for signatures", path);
		if (pr)
			blkid_free_probe(pr);
		return VEIL_EXIT_FAILED;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	while (blkid_do_probe(pr) == 0) {
		if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) &&
		    blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
			type = "unknown";
		if (strlen(found) + strlen(type) + 3 < sizeof(found)) {
			if (*found)
				strcat(found, ", ");
			strcat(found, type);
		}
		n++;
		if (force && blkid_do_wipe(pr, 0)) {
			err("%s: cannot wipe the %s signature", path, type);
			blkid_free_probe(pr);
			return VEIL_EXIT_FAILED;
		}
	}
	blkid_free_probe(pr);
	if (n && !force) {
		err("%s holds %s: refusing to format it without --force", path, found);
		return VEIL_EXIT_REFUSED;
	}
	if (n)
		fprintf(stderr, "veil-disk: %s: wiped %s\n", path, found);
	return VEIL_EXIT_OK;
}
