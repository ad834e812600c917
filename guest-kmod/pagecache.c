// SPDX-License-Identifier: GPL-2.0
/*
 * The page cache of excluded files, around a checkpoint.
 *
 * At PREPARE, once the tasks are frozen, their files are written back (for
 * at most writeback_ms), so the disk holds what they wrote and every page
 * of them is clean.  The pages are not dropped there: a dropped frame goes
 * back to the allocator still holding the file's data, outside the
 * published set.  They are collected, and zeroed in the checkpoint like
 * the rest.
 *
 * After a restore from a sanitized checkpoint, those pages hold zeros where
 * file data was.  The clean pages of a file with a backing store are
 * dropped then, so the next read finds the data on disk again.  A page
 * dirtied between PREPARE and the checkpoint (by a process that is not
 * excluded) cannot be dropped without losing what was written to it: it
 * stays and is counted.  Files of memory-only file systems (tmpfs, ramfs)
 * have nothing to re-read; their pages keep the zeros.
 *
 * The files are those in the tasks' descriptor tables and those they map
 * shared and may write, even with every descriptor of them closed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "veil_guest.h"

/* Regular files gathered from excluded processes, referenced, once each. */
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

/* The files the task maps shared and may write. */
static void veil_guest_files_gather_mapped(struct task_struct *tsk,
					   struct veil_guest_files *fs)
{
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	struct mm_struct *mm;

	mm = get_task_mm(tsk);
	if (!mm)
		return;
	mmap_read_lock(mm);
	vma_iter_init(&vmi, mm, 0);
	for_each_vma(vmi, vma)
		if (veil_guest_shared_writable(vma))
			veil_guest_files_add(fs, vma->vm_file);
	mmap_read_unlock(mm);
	mmput(mm);
}

void veil_guest_files_gather_task(struct task_struct *tsk, struct veil_guest_files *fs)
{
	struct veil_guest_file_visitor v = { .fn = veil_guest_files_gather, .arg = fs };

	if (veil_guest_visit_files(tsk, &v))
		fs->missed++;
	veil_guest_files_gather_mapped(tsk, fs);
}

static bool veil_guest_memory_only(struct inode *inode)
{
	unsigned long magic = inode->i_sb->s_magic;

	return magic == TMPFS_MAGIC || magic == RAMFS_MAGIC;
}

void veil_guest_files_put(struct veil_guest_files *fs)
{
	unsigned int i;

	for (i = 0; i < fs->nr; i++)
		fput(fs->f[i]);
	kfree(fs->f);
	fs->f = NULL;
	fs->nr = 0;
	fs->cap = 0;
}

/* Whether mapping still has pages dirty or under writeback. */
static bool veil_guest_mapping_busy(struct address_space *mapping)
{
	return mapping_tagged(mapping, PAGECACHE_TAG_DIRTY) ||
	       mapping_tagged(mapping, PAGECACHE_TAG_WRITEBACK);
}

/*
 * Starts writeback of every gathered file that has a backing store, and
 * waits up to @ms for it: a file system that hangs (a network server gone)
 * must not keep PREPARE, and the tasks it froze, waiting.  Write errors are
 * left for the files' owners to see (fsync), not consumed here.  Returns
 * how many files were still dirty or under writeback at the end.
 */
unsigned int veil_guest_files_writeback(struct veil_guest_files *fs, unsigned int ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);
	struct address_space *mapping;
	unsigned int i, late = 0;

	for (i = 0; i < fs->nr; i++) {
		if (!veil_guest_memory_only(file_inode(fs->f[i])))
			filemap_flush(fs->f[i]->f_mapping);
	}
	for (i = 0; i < fs->nr; i++) {
		mapping = fs->f[i]->f_mapping;
		if (veil_guest_memory_only(file_inode(fs->f[i])))
			continue;
		while (veil_guest_mapping_busy(mapping) && time_before(jiffies, deadline)) {
			/* Pages skipped by the first pass (locked then) get another. */
			if (!mapping_tagged(mapping, PAGECACHE_TAG_WRITEBACK))
				filemap_flush(mapping);
			usleep_range(1000, 2000);
		}
		late += veil_guest_mapping_busy(mapping);
	}
	return late;
}

/*
 * Drops the clean page cache of every gathered file, and the references;
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
	}
	veil_guest_files_put(fs);
	return dropped;
}
