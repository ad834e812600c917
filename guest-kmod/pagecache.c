// SPDX-License-Identifier: GPL-2.0
/*
 * The files of excluded processes, written back at PREPARE.
 *
 * Once the tasks are frozen, their files are written back (for at most
 * writeback_ms), so the disk holds what they wrote and every page of them
 * is clean: the collection then takes those pages out of the page cache
 * and holds them (collect_file.c), so that a guest restored from the
 * checkpoint reads the data from disk again instead of the zeros.  A page
 * still dirty then (written by a process that is not excluded, or a file
 * system that did not finish in time) fails the PREPARE.
 *
 * The files are those in the tasks' descriptor tables, those they map
 * shared and may write, even with every descriptor of them closed, and
 * those they opened and closed since they were excluded (recall.c).
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

/*
 * Regular files gathered from excluded processes, once each, by their
 * inodes: a file an excluded process closed has no struct file left.
 * The caller holds a reference on @inode.
 */
void veil_guest_files_add_inode(struct veil_guest_files *fs, struct inode *inode)
{
	struct inode **grown;
	unsigned int i;

	if (!S_ISREG(inode->i_mode) || !inode->i_mapping)
		return;
	for (i = 0; i < fs->nr; i++)
		if (fs->f[i] == inode)
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
	ihold(inode);
	fs->f[fs->nr++] = inode;
}

void veil_guest_files_add(struct veil_guest_files *fs, struct file *file)
{
	veil_guest_files_add_inode(fs, file_inode(file));
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

void veil_guest_files_put(struct veil_guest_files *fs)
{
	unsigned int i;

	for (i = 0; i < fs->nr; i++)
		iput(fs->f[i]);
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
		if (!veil_guest_memory_only(fs->f[i]))
			filemap_flush(fs->f[i]->i_mapping);
	}
	for (i = 0; i < fs->nr; i++) {
		mapping = fs->f[i]->i_mapping;
		if (veil_guest_memory_only(fs->f[i]))
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
