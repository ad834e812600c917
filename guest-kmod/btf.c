// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own type information (/sys/kernel/btf/vmlinux, present with
 * CONFIG_DEBUG_INFO_BTF as in Debian's kernels): where the members of a
 * struct private to one kernel file lie in the running kernel, looked up
 * once, at load, by the collectors that read such structs (n_tty's
 * buffers, POSIX message queues).  The file is read whole and checked as
 * it is walked: a record that runs past its section, or a kind this
 * parser does not know, ends the walk with -EINVAL.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <uapi/linux/btf.h>

#include "veil_guest.h"

#define VEIL_GUEST_BTF_PATH	"/sys/kernel/btf/vmlinux"
#define VEIL_GUEST_BTF_MAX	(64 << 20)

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

/* The byte-aligned members of the struct record @t that @want names. */
static void veil_guest_btf_members(const struct btf_type *t, const char *strs,
				   u32 str_len, struct veil_guest_btf_struct *want)
{
	const struct btf_member *m = (const void *)(t + 1);
	struct veil_guest_btf_member *w;
	const char *name;
	u32 i, k, bits;

	want->size = t->size;
	want->found = true;
	for (i = 0; i < BTF_INFO_VLEN(t->info); i++, m++) {
		name = veil_guest_btf_str(strs, str_len, m->name_off);
		bits = BTF_INFO_KFLAG(t->info) ?
		       BTF_MEMBER_BIT_OFFSET(m->offset) : m->offset;
		if (!name || bits % 8 || bits / 8 >= t->size)
			continue;
		for (k = 0; k < want->nr; k++) {
			w = &want->m[k];
			if (!w->found && !strcmp(name, w->name)) {
				w->off = bits / 8;
				w->found = true;
			}
		}
	}
}

/* Finds the first struct of each name in @want (a kernel's BTF has one). */
static int veil_guest_btf_parse(const u8 *data, size_t size,
				struct veil_guest_btf_struct *const *want,
				unsigned int nr)
{
	const struct btf_header *h = (const void *)data;
	const struct btf_type *t;
	const u8 *p, *end;
	const char *strs, *name;
	unsigned int k, left = nr;
	long extra;

	if (size < sizeof(*h) || h->magic != BTF_MAGIC || h->hdr_len > size ||
	    (u64)h->hdr_len + h->type_off + h->type_len > size ||
	    (u64)h->hdr_len + h->str_off + h->str_len > size)
		return -EINVAL;
	p = data + h->hdr_len + h->type_off;
	end = p + h->type_len;
	strs = (const char *)data + h->hdr_len + h->str_off;

	while (left && p + sizeof(*t) <= end) {
		t = (const void *)p;
		extra = veil_guest_btf_extra(t);
		if (extra < 0 || p + sizeof(*t) + extra > end)
			return -EINVAL;
		p += sizeof(*t) + extra;
		if (BTF_INFO_KIND(t->info) != BTF_KIND_STRUCT)
			continue;
		name = veil_guest_btf_str(strs, h->str_len, t->name_off);
		if (!name)
			continue;
		for (k = 0; k < nr; k++) {
			if (!want[k]->found && !strcmp(name, want[k]->name)) {
				veil_guest_btf_members(t, strs, h->str_len, want[k]);
				left--;
			}
		}
	}
	return 0;
}

/*
 * Looks up every struct of @want, and its members, in the running
 * kernel's BTF.  Returns 0 when the BTF was read (each struct and member
 * then says whether it was found), or a negative errno: no BTF, too big,
 * or malformed.
 */
int veil_guest_btf_find(struct veil_guest_btf_struct *const *want, unsigned int nr)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t got;
	size_t size;
	u8 *data;
	int err;

	f = filp_open(VEIL_GUEST_BTF_PATH, O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	size = i_size_read(file_inode(f));
	if (!size || size > VEIL_GUEST_BTF_MAX) {
		filp_close(f, NULL);
		return -EFBIG;
	}
	data = vmalloc(size);
	if (!data) {
		filp_close(f, NULL);
		return -ENOMEM;
	}
	while (pos < size) {
		got = kernel_read(f, data + pos, size - pos, &pos);
		if (got <= 0)
			break;
	}
	filp_close(f, NULL);
	err = pos == size ? veil_guest_btf_parse(data, size, want, nr) : -EIO;
	vfree(data);
	return err;
}

/* Whether member @m of @s was found with @len bytes inside the struct. */
bool veil_guest_btf_fits(const struct veil_guest_btf_struct *s,
			 const struct veil_guest_btf_member *m, size_t len)
{
	return s->found && m->found && len <= s->size && m->off <= s->size - len;
}
