// SPDX-License-Identifier: GPL-2.0
/*
 * Where n_tty keeps its read and echo buffers.  They live in struct
 * n_tty_data, which is private to drivers/tty/n_tty.c and changes between
 * kernels, so the offsets are looked up once, at load, in the running
 * kernel's own type information (/sys/kernel/btf/vmlinux, present with
 * CONFIG_DEBUG_INFO_BTF as in Debian's kernels).  With them the collector
 * publishes just those two buffers, byte by byte; without them (no BTF,
 * no sysfs yet, a layout it does not expect) n_tty's data is published
 * only whole, with kernel_objects=1.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/tty.h>
#include <linux/vmalloc.h>
#include <uapi/linux/btf.h>

#include "veil_guest.h"

#define VEIL_GUEST_BTF_PATH	"/sys/kernel/btf/vmlinux"
#define VEIL_GUEST_BTF_MAX	(64 << 20)

static struct {
	bool known;
	u32 read_buf;
	u32 echo_buf;
} veil_guest_ntty;

bool veil_guest_ntty_offsets(u32 *read_buf, u32 *echo_buf)
{
	if (!veil_guest_ntty.known)
		return false;
	*read_buf = veil_guest_ntty.read_buf;
	*echo_buf = veil_guest_ntty.echo_buf;
	return true;
}

/* Bytes that follow a type record of this kind, or -1 for a kind unknown. */
static long veil_guest_btf_extra(const struct btf_type *t)
{
	u32 vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
		return sizeof(u32);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_VAR:
		return sizeof(struct btf_var);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG:
		return sizeof(struct btf_decl_tag);
	default:
		return -1;
	}
}

static const char *veil_guest_btf_str(const char *strs, u32 len, u32 off)
{
	return off < len && strnlen(strs + off, len - off) < len - off ?
	       strs + off : NULL;
}

/*
 * Finds struct n_tty_data and its members read_buf and echo_buf, each
 * byte-aligned with N_TTY_BUF_SIZE bytes inside the struct.
 */
static int veil_guest_btf_parse(const u8 *data, size_t size)
{
	const struct btf_header *h = (const void *)data;
	const struct btf_member *m;
	const struct btf_type *t;
	const u8 *p, *end;
	const char *strs, *name;
	u32 i, bits, rb = 0, eb = 0;
	bool got_rb = false, got_eb = false;
	long extra;

	if (size < sizeof(*h) || h->magic != BTF_MAGIC || h->hdr_len > size ||
	    (u64)h->hdr_len + h->type_off + h->type_len > size ||
	    (u64)h->hdr_len + h->str_off + h->str_len > size)
		return -EINVAL;
	p = data + h->hdr_len + h->type_off;
	end = p + h->type_len;
	strs = (const char *)data + h->hdr_len + h->str_off;

	while (p + sizeof(*t) <= end) {
		t = (const void *)p;
		extra = veil_guest_btf_extra(t);
		if (extra < 0 || p + sizeof(*t) + extra > end)
			return -EINVAL;
		p += sizeof(*t) + extra;
		if (BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT)
			continue;
		name = veil_guest_btf_str(strs, h->str_len, t->name_off);
		if (!name || strcmp(name, "n_tty_data"))
			continue;
		m = (const void *)(t + 1);
		for (i = 0; i < BTF_INFO_VLEN(t->info); i++, m++) {
			name = veil_guest_btf_str(strs, h->str_len, m->name_off);
			bits = BTF_INFO_KFLAG(t->info) ?
			       BTF_MEMBER_BIT_OFFSET(m->offset) : m->offset;
			if (!name || bits % 8 || bits / 8 + N_TTY_BUF_SIZE > t->size)
				continue;
			if (!strcmp(name, "read_buf")) {
				rb = bits / 8;
				got_rb = true;
			} else if (!strcmp(name, "echo_buf")) {
				eb = bits / 8;
				got_eb = true;
			}
		}
		if (!got_rb || !got_eb ||
		    (rb < eb ? rb + N_TTY_BUF_SIZE > eb : eb + N_TTY_BUF_SIZE > rb))
			return -ENOENT;
		veil_guest_ntty.read_buf = rb;
		veil_guest_ntty.echo_buf = eb;
		veil_guest_ntty.known = true;
		return 0;
	}
	return -ENOENT;
}

void veil_guest_ntty_init(void)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t got;
	size_t size;
	u8 *data;
	int err;

	f = filp_open(VEIL_GUEST_BTF_PATH, O_RDONLY, 0);
	if (IS_ERR(f)) {
		err = PTR_ERR(f);
		goto out;
	}
	size = i_size_read(file_inode(f));
	err = -EFBIG;
	if (!size || size > VEIL_GUEST_BTF_MAX) {
		filp_close(f, NULL);
		goto out;
	}
	err = -ENOMEM;
	data = vmalloc(size);
	if (!data) {
		filp_close(f, NULL);
		goto out;
	}
	while (pos < size) {
		got = kernel_read(f, data + pos, size - pos, &pos);
		if (got <= 0)
			break;
	}
	filp_close(f, NULL);
	err = pos == size ? veil_guest_btf_parse(data, size) : -EIO;
	vfree(data);
out:
	if (!err)
		pr_debug("n_tty buffers at offsets %u and %u\n",
			 veil_guest_ntty.read_buf, veil_guest_ntty.echo_buf);
	else
		pr_info("n_tty buffer offsets unknown (%s: %d): they are published only with kernel_objects=1\n",
			VEIL_GUEST_BTF_PATH, err);
}
