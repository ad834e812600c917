/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libveil: keep an application's secrets out of VM checkpoints.
 *
 * Inside a guest running veil_guest, the memory ranges and files an
 * application protects are zeroed in every checkpoint the host takes, and
 * the application can learn when a checkpoint begins and ends and when it
 * was itself resumed from a sanitized checkpoint (its protected memory is
 * zero then).  See libveil(3).
 */
#ifndef LIBVEIL_H
#define LIBVEIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct veil;

/* Event types, as read by veil_read_event(). */
#define VEIL_EVENT_BEGIN	1	/* a checkpoint began */
#define VEIL_EVENT_END		2	/* it ended; this process runs again */
#define VEIL_EVENT_RESTORED	3	/* resumed from a sanitized checkpoint */

/* struct veil_event.flags */
#define VEIL_EVENT_LOST		0x1	/* older events were dropped */

struct veil_event {
	uint32_t type;		/* VEIL_EVENT_* */
	uint32_t flags;		/* VEIL_EVENT_LOST */
	uint64_t seq;		/* the host request it answers, 0 if none */
};

/* All functions set errno on failure. */
struct veil *veil_open(void);
void veil_close(struct veil *v);

int veil_protect(struct veil *v, const void *addr, size_t len);
int veil_unprotect(struct veil *v, const void *addr, size_t len);
int veil_protect_file(struct veil *v, int fd);
int veil_unprotect_file(struct veil *v, int fd);

int veil_event_fd(struct veil *v);
int veil_read_event(struct veil *v, struct veil_event *ev);
const char *veil_event_name(uint32_t type);

#ifdef __cplusplus
}
#endif

#endif /* LIBVEIL_H */
