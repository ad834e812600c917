/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the runner's planted programs share: a file written whole (a
 * sysctl, a marker) and the planted module loaded with its parameters.
 */
#ifndef VEIL_PLANTED_H
#define VEIL_PLANTED_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PLANT_MODULE	"/lib/veil/veil_plant_warn.ko"

/* Writes @text to @path; 0, or -1 with errno set. */
static inline int plant_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

/* Loads the planted module with @params; 0, or -1 with errno set. */
static inline int plant_load(const char *params)
{
	int fd = open(PLANT_MODULE, O_RDONLY | O_CLOEXEC), r, e;

	if (fd < 0)
		return -1;
	r = syscall(__NR_finit_module, fd, params, 0);
	e = errno;
	close(fd);
	errno = e;
	return r ? -1 : 0;
}

#endif
