/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exit status shared by veil (guest), veilctl (host) and veil-disk (images),
 * so that a management daemon reads the same number the same way from all
 * three.  Each man page lists these under EXIT STATUS with what they mean
 * for that tool.
 */
#ifndef VEIL_EXIT_H
#define VEIL_EXIT_H

enum veil_exit {
	VEIL_EXIT_OK = 0,	 /* done */
	VEIL_EXIT_FAILED = 1,	 /* the operation failed; the message says where */
	VEIL_EXIT_USAGE = 2,	 /* bad command line */
	VEIL_EXIT_NOT_FOUND = 3, /* the VM, image, header or device named is not there */
	VEIL_EXIT_REFUSED = 4,	 /* refused by a safety rule (unprotected, in use, ...) */
	VEIL_EXIT_TIMEOUT = 5,	 /* the guest or VMM did not answer in time */
	VEIL_EXIT_AUTH = 6,	 /* wrong key or passphrase, or a header that fails its MAC */
	VEIL_EXIT_PERM = 7,	 /* not permitted: the caller lacks the rights */
};

#endif /* VEIL_EXIT_H */
