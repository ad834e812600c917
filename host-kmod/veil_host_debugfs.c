// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: per-VM counters in debugfs, veil_host/vm-<id>-<pid>.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "compat.h"
#include "veil_host.h"

static struct dentry *veil_host_debugfs_dir;

static int veil_host_debugfs_show(struct seq_file *m, void *unused)
{
	struct veil_host_vm *vm = m->private;
	struct veil_info info;

	veil_host_vm_info(vm, &info);
	seq_printf(m, "registered: %u\nattached: %u\nguest_abi: %u\nstate: %u\n",
		   !!(info.flags & VEIL_INFO_REGISTERED), READ_ONCE(vm->attached),
		   info.guest_abi, info.state);
	seq_printf(m, "generation: %llu\nextents: %llu\npages: %llu\n",
		   info.generation, info.nr_extents, info.nr_pages);
	seq_printf(m, "req_seq: %llu\nack_seq: %llu\n", info.req_seq, info.ack_seq);
	seq_printf(m, "hypercalls: %llu\nrejected: %llu\npublishes: %llu\n",
		   info.hypercalls, info.rejected, info.publishes);
	seq_printf(m, "sanitizes: %llu\nrestores: %llu\nruns_held: %llu\nrestored_flags: 0x%llx\n",
		   info.sanitizes, info.restores, info.runs_held,
		   info.restored_flags);
	mutex_lock(&vm->lock);
	seq_printf(m, "overwritten: %llu\n", vm->c.overwritten);
	mutex_unlock(&vm->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(veil_host_debugfs);

void veil_host_debugfs_add(struct veil_host_vm *vm)
{
	char name[32];

	if (IS_ERR_OR_NULL(veil_host_debugfs_dir))
		return;
	snprintf(name, sizeof(name), "vm-%u-%d", vm->id, vm->pid);
	vm->debugfs = debugfs_create_file(name, 0400, veil_host_debugfs_dir, vm,
					  &veil_host_debugfs_fops);
}

/* debugfs_remove() waits for readers, so @vm outlives them. */
void veil_host_debugfs_remove(struct veil_host_vm *vm)
{
	debugfs_remove(vm->debugfs);
	vm->debugfs = NULL;
}

void veil_host_debugfs_init(void)
{
	veil_host_debugfs_dir = debugfs_create_dir("veil_host", NULL);
}

void veil_host_debugfs_exit(void)
{
	debugfs_remove(veil_host_debugfs_dir);
}
