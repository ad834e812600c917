// SPDX-License-Identifier: GPL-2.0
/*
 * After a restore from a sanitized checkpoint, the page cache of the files
 * whose frames were published holds zeros where file data was.  Clean pages
 * of a file with a backing store are dropped, so the next read finds the
 * data on disk again.  Dirty pages cannot be dropped without losing what
 * was written to them: they stay (zeroed) and are counted.  Files of
 * memory-only file systems (tmpfs, ramfs) have nothing to re-read; their
 * pages keep the zeros.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "veil_guest.h"

/* Regular files gathered from excluded processes at restore, referenced. */
void veil_guest_files_add(struct veil_guest_files *fs, struct file *file)
{
	struct file **grown;
	unsigned int i;

	if (!S_ISREG(file_inode(file)->i_mode) || !file->f_mapping)
		return;
	for (i = 0; i < fs->nr; i++)
		if (file_inode(fs->f[i]) == file_inode(file))
			return;
	if (fs->nr == fs->cap) {
		grown = krealloc_array(fs->f, fs->cap ? fs->cap * 2 : 16,
				       sizeof(*grown), GFP_KERNEL);
		if (!grown) {
			fs->missed++;
			return;
		}
		fs->f = grown;
		fs->cap = fs->cap ? fs->cap * 2 : 16;
	}
	fs->f[fs->nr++] = get_file(file);
}

void veil_guest_files_gather(struct file *file, void *arg)
{
	veil_guest_files_add(arg, file);
}

static bool veil_guest_memory_only(struct inode *inode)
{
	unsigned long magic = inode->i_sb->s_magic;

	return magic == TMPFS_MAGIC || magic == RAMFS_MAGIC;
}

/*
 * Drops the clean page cache of every gathered file and the references;
 * returns the number of files whose cache was dropped entirely.
 */
unsigned int veil_guest_files_drop_cache(struct veil_guest_files *fs,
					 unsigned int *busy, unsigned int *kept)
{
	unsigned int i, dropped = 0;
	struct inode *inode;

	*busy = 0;
	*kept = 0;
	for (i = 0; i < fs->nr; i++) {
		inode = file_inode(fs->f[i]);
		if (veil_guest_memory_only(inode))
			(*kept)++;
		else if (invalidate_inode_pages2(inode->i_mapping))
			(*busy)++;
		else
			dropped++;
		fput(fs->f[i]);
	}
	kfree(fs->f);
	fs->f = NULL;
	fs->nr = 0;
	fs->cap = 0;
	return dropped;
}
