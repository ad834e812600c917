// SPDX-License-Identifier: GPL-2.0
/*
 * Where n_tty keeps its read and echo buffers.  They live in struct
 * n_tty_data, which is private to drivers/tty/n_tty.c and changes between
 * kernels, so the offsets come from the running kernel's BTF (btf.c).
 * With them the collector publishes just those two buffers, byte by byte;
 * without them (no BTF, no sysfs yet, a layout it does not expect) n_tty's
 * data is published only whole, with kernel_objects=1.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/tty.h>

#include "veil_guest.h"

static struct {
	bool known;
	u32 read_buf;
	u32 echo_buf;
} veil_guest_ntty;

static struct veil_guest_btf_member veil_guest_ntty_members[] = {
	{ .name = "read_buf" },
	{ .name = "echo_buf" },
};

struct veil_guest_btf_struct veil_guest_ntty_btf = {
	.name = "n_tty_data",
	.m = veil_guest_ntty_members,
	.nr = ARRAY_SIZE(veil_guest_ntty_members),
};

bool veil_guest_ntty_offsets(u32 *read_buf, u32 *echo_buf)
{
	if (!veil_guest_ntty.known)
		return false;
	*read_buf = veil_guest_ntty.read_buf;
	*echo_buf = veil_guest_ntty.echo_buf;
	return true;
}

/*
 * Takes the offsets veil_guest_btf_find() found (@err: what it returned):
 * each buffer N_TTY_BUF_SIZE bytes inside the struct, the two apart.
 */
void veil_guest_ntty_init(int err)
{
	const struct veil_guest_btf_member *rb = &veil_guest_ntty_members[0];
	const struct veil_guest_btf_member *eb = &veil_guest_ntty_members[1];

	if (!err && (!veil_guest_btf_fits(&veil_guest_ntty_btf, rb, N_TTY_BUF_SIZE) ||
		     !veil_guest_btf_fits(&veil_guest_ntty_btf, eb, N_TTY_BUF_SIZE) ||
		     (rb->off < eb->off ? rb->off + N_TTY_BUF_SIZE > eb->off :
		      eb->off + N_TTY_BUF_SIZE > rb->off)))
		err = -ENOENT;
	if (err) {
		pr_info("n_tty buffer offsets unknown (BTF: %d): they are published only with kernel_objects=1\n",
			err);
		return;
	}
	veil_guest_ntty.read_buf = rb->off;
	veil_guest_ntty.echo_buf = eb->off;
	veil_guest_ntty.known = true;
	pr_debug("n_tty buffers at offsets %u and %u\n", rb->off, eb->off);
}
