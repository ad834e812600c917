/* SPDX-License-Identifier: GPL-2.0 */
/*
 * veil_host: internal interfaces between the files of the module.
 */
#ifndef _VEIL_HOST_H
#define _VEIL_HOST_H

#include <linux/kref.h>
#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/veil.h>
#include <linux/wait.h>

#include "veil_host_validate.h"

/* Module parameters (veil_host_main.c). */
extern unsigned int veil_host_max_extents;
extern unsigned int veil_host_max_mib;
extern unsigned int veil_host_prepare_timeout_ms;
extern unsigned int veil_host_max_abi;
extern unsigned int veil_host_max_total_mib;

/*
 * One record of an exclusion set: @npages whole frames from @gfn, or, for
 * a partial record (@len != 0), the bytes [@off, @off + @len) of the one
 * frame @gfn, with @npages == 1.  Either way each frame counted in
 * @npages has one PAGE_SIZE slot in the stash, in set order.
 */
struct veil_host_extent {
	u64 gfn;
	u64 npages;
	u16 off;
	u16 len;
};

/* An exclusion set as the guest published it; immutable once published. */
struct veil_host_set {
	u64 nr_extents;
	u64 nr_pages;			/* frames, one per partial record */
	struct veil_host_extent ext[];
};

struct veil_host_counters {
	u64 hypercalls;
	u64 rejected;
	u64 publishes;
	u64 sanitizes;
	u64 restores;
	u64 runs_held;
	u64 restored_flags;
	u64 overwritten;	/* frames written while sanitized, put back */
};

/*
 * What veil knows about one VM.  Created by the VM's first hypercall or by
 * VEIL_IOC_ATTACH, removed from the table when KVM destroys the VM, freed
 * when the last reference goes.
 *
 * @kvm is not a reference: it is valid while the entry is in the table
 * (KVM calls kvm_arch_pre_destroy_vm, where veil removes it, before it
 * frees the VM).  An attached /dev/veil descriptor holds its own reference
 * on the VM with kvm_get_kvm(), so an attached VM is never destroyed.
 */
struct veil_host_vm {
	struct hlist_node node;		/* veil_host_vms, under veil_host_vms_lock */
	struct rcu_head rcu;
	struct kref ref;
	struct kvm *kvm;
	unsigned int id;
	struct veil_host_log log;	/* id and the VM's own log rate limit */
	pid_t pid;			/* the VMM that created the VM */
	wait_queue_head_t wq;		/* acks from the guest, end of SANITIZED */
	struct dentry *debugfs;

	struct mutex lock;		/* protects everything below */
	bool attached;
	bool registered;
	u32 guest_abi;
	gpa_t control_gpa;
	u32 state;			/* VEIL_HOST_* */
	/* vCPUs entering KVM_RUN wait: from SANITIZE until RESTORE; read under RCU */
	bool holding;
	u32 state_before_sanitize;
	u64 generation;			/* of the last accepted PUBLISH */
	struct veil_host_set *set;	/* current exclusion set or NULL */
	u64 req_seq;
	u64 ack_seq;			/* also read by PREPARE's wait */
	u64 epoch;			/* bumped by every (UN)REGISTER; read by the wait */
	/* read from the control page with the last ACK */
	u32 ack_error;			/* the guest's positive errno, or 0 */
	u64 ack_generation;
	u64 gen_at_request;		/* @generation when PREPARE was sent */
	u64 prepared_generation;	/* the set a successful PREPARE acked, or 0 */
	/* while SANITIZED: the set's frames, then the control page, pinned */
	struct page **pins;
	void *stash;			/* frames of @set while SANITIZED */
	struct veil_host_counters c;
};

/* veil_host_vm.c */
int veil_host_vms_init(void);
void veil_host_vms_exit(void);
struct veil_host_vm *veil_host_vm_get(struct kvm *kvm, bool create);
void veil_host_vm_put(struct veil_host_vm *vm);
bool veil_host_vm_held_rcu(struct kvm *kvm);
bool veil_host_vm_known_rcu(struct kvm *kvm);
void veil_host_vm_destroyed(struct kvm *kvm);
int veil_host_vm_attach(struct veil_host_vm *vm);
void veil_host_vm_detach(struct veil_host_vm *vm);
void veil_host_vm_info(struct veil_host_vm *vm, struct veil_info *info);
void veil_host_vm_forget_locked(struct veil_host_vm *vm);
int veil_host_vm_prepare(struct veil_host_vm *vm, struct veil_prepare *p);
int veil_host_vm_sanitize(struct veil_host_vm *vm, u64 *nr_pages);
int veil_host_vm_restore(struct veil_host_vm *vm, u64 *nr_pages);
int veil_host_vm_thaw(struct veil_host_vm *vm);
int veil_host_vm_run_held(struct kvm_vcpu *vcpu);

/* veil_host_hc.c */
unsigned long veil_host_hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
				  unsigned long a0, unsigned long a1,
				  unsigned long a2, unsigned long a3,
				  int op_64_bit, int cpl);

/* veil_host_mem.c */
bool veil_host_mem_is_ram(struct kvm *kvm, u64 gfn, u64 npages);
int veil_host_mem_read(struct kvm *kvm, gpa_t gpa, void *data, unsigned int len);
int veil_host_mem_write(struct kvm *kvm, gpa_t gpa, const void *data,
			unsigned int len);
int veil_host_mem_check(struct kvm *kvm, const struct veil_host_set *set);
int veil_host_mem_pin(struct kvm *kvm, const struct veil_host_set *set,
		      gpa_t control_gpa, struct page **pages);
void veil_host_mem_unpin(struct page **pages, u64 n, bool dirty);
void veil_host_mem_sanitize(struct kvm *kvm, const struct veil_host_set *set,
			    struct page **pages, void *stash);
u64 veil_host_mem_restore(struct kvm *kvm, const struct veil_host_set *set,
			  struct page **pages, const void *stash);
void veil_host_mem_write_pinned(struct kvm *kvm, struct page *page, gpa_t gpa,
				const void *data, unsigned int len);
void veil_host_mem_read_pinned(struct page *page, gpa_t gpa, void *data,
			       unsigned int len);
void veil_host_mem_fail_pin_batch(unsigned int n);

/* veil_host_hook.c */
int veil_host_hooks_init(void);
void veil_host_hooks_exit(void);

/* veil_host_dev.c */
int veil_host_dev_init(void);
void veil_host_dev_exit(void);

/* veil_host_debugfs.c */
void veil_host_debugfs_init(void);
void veil_host_debugfs_exit(void);
void veil_host_debugfs_add(struct veil_host_vm *vm);
void veil_host_debugfs_remove(struct veil_host_vm *vm);

#endif /* _VEIL_HOST_H */
