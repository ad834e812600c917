// SPDX-License-Identifier: GPL-2.0
/*
 * veil_host: per-VM state and the host side of the checkpoint protocol
 * (PREPARE, SANITIZE, RESTORE, THAW).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "veil_host.h"

/*
 * Every VM veil knows, keyed by its struct kvm.  Writers hold
 * veil_host_vms_lock; the hooks look entries up under RCU.  The table holds
 * one reference on each entry.
 */
static DEFINE_HASHTABLE(veil_host_vms, 6);
static DEFINE_SPINLOCK(veil_host_vms_lock);
static atomic_t veil_host_next_id = ATOMIC_INIT(0);

static struct veil_host_vm *veil_host_vm_find(struct kvm *kvm)
{
	struct veil_host_vm *vm;

	hash_for_each_possible_rcu(veil_host_vms, vm, node, (unsigned long)kvm,
				   lockdep_is_held(&veil_host_vms_lock))
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

bool veil_host_vm_known_rcu(struct kvm *kvm)
{
	return veil_host_vm_find(kvm);
}

/* Must a vCPU of @kvm entering KVM_RUN be held (SANITIZE, or SANITIZED)? */
bool veil_host_vm_held_rcu(struct kvm *kvm)
{
	struct veil_host_vm *vm = veil_host_vm_find(kvm);

	return vm && READ_ONCE(vm->holding);
}

static struct veil_host_vm *veil_host_vm_alloc(struct kvm *kvm)
{
	struct veil_host_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);

	if (!vm)
		return NULL;
	kref_init(&vm->ref);
	vm->kvm = kvm;
	vm->id = atomic_inc_return(&veil_host_next_id);
	veil_host_log_init(&vm->log, vm->id);
	vm->pid = kvm->userspace_pid;
	init_waitqueue_head(&vm->wq);
	mutex_init(&vm->lock);
	vm->state = VEIL_HOST_RUNNING;
	return vm;
}

static void veil_host_vm_free(struct veil_host_vm *vm)
{
	veil_host_debugfs_remove(vm);
	/* A stash only exists while attached, and attached VMs stay alive. */
	WARN_ON_ONCE(vm->stash || vm->pins);
	kvfree(vm->set);
	mutex_destroy(&vm->lock);
	kfree_rcu(vm, rcu);
}

static void veil_host_vm_release(struct kref *ref)
{
	veil_host_vm_free(container_of(ref, struct veil_host_vm, ref));
}

void veil_host_vm_put(struct veil_host_vm *vm)
{
	kref_put(&vm->ref, veil_host_vm_release);
}

/*
 * The entry of @kvm with a new reference, created when @create says so.
 * The caller guarantees that @kvm stays alive (it runs one of its vCPUs, or
 * holds a reference).
 */
struct veil_host_vm *veil_host_vm_get(struct kvm *kvm, bool create)
{
	struct veil_host_vm *vm, *new;

	rcu_read_lock();
	vm = veil_host_vm_find(kvm);
	if (vm && !kref_get_unless_zero(&vm->ref))
		vm = NULL;
	rcu_read_unlock();
	if (vm || !create)
		return vm;

	new = veil_host_vm_alloc(kvm);
	if (!new)
		return NULL;
	spin_lock(&veil_host_vms_lock);
	vm = veil_host_vm_find(kvm);
	if (!vm) {
		vm = new;
		new = NULL;
		hash_add_rcu(veil_host_vms, &vm->node, (unsigned long)kvm);
	}
	kref_get(&vm->ref);
	spin_unlock(&veil_host_vms_lock);
	kfree(new);
	if (!new)
		veil_host_debugfs_add(vm);
	return vm;
}

/* KVM is destroying @kvm: forget it before the memory goes. */
void veil_host_vm_destroyed(struct kvm *kvm)
{
	struct veil_host_vm *vm;

	spin_lock(&veil_host_vms_lock);
	vm = veil_host_vm_find(kvm);
	if (vm)
		hash_del_rcu(&vm->node);
	spin_unlock(&veil_host_vms_lock);
	if (!vm)
		return;
	pr_debug("vm %u: destroyed\n", vm->id);
	veil_host_vm_put(vm);
}

int veil_host_vms_init(void)
{
	hash_init(veil_host_vms);
	return 0;
}

/* Module exit: the hooks are gone, nothing else can find an entry. */
void veil_host_vms_exit(void)
{
	struct veil_host_vm *vm;
	int bkt;

	for (;;) {
		spin_lock(&veil_host_vms_lock);
		hash_for_each(veil_host_vms, bkt, vm, node)
			break;
		if (vm)
			hash_del_rcu(&vm->node);
		spin_unlock(&veil_host_vms_lock);
		if (!vm)
			break;
		veil_host_vm_put(vm);
	}
	/* kfree_rcu() callbacks must run before the module text goes. */
	rcu_barrier();
}

/* ---- the control page ---- */

/*
 * The guest is gone from under its registration (UNREGISTER, a reboot or
 * kexec into a kernel without veil_guest, a new REGISTER): forget the page
 * and the set, and wake a PREPARE that waits for it.
 */
void veil_host_vm_forget_locked(struct veil_host_vm *vm)
{
	lockdep_assert_held(&vm->lock);
	if (WARN_ON_ONCE(vm->state == VEIL_HOST_SANITIZED))
		return;
	kvfree(vm->set);
	vm->set = NULL;
	vm->generation = 0;
	vm->prepared_generation = 0;
	vm->registered = false;
	vm->guest_abi = 0;
	vm->control_gpa = 0;
	vm->state = VEIL_HOST_RUNNING;
	WRITE_ONCE(vm->epoch, vm->epoch + 1);
	wake_up_all(&vm->wq);
}

/* Does the control page still hold what REGISTER found there? */
static bool veil_host_control_valid(struct veil_host_vm *vm, const __le32 *hdr)
{
	return le32_to_cpu(hdr[0]) == VEIL_CONTROL_MAGIC &&
	       le32_to_cpu(hdr[1]) == vm->guest_abi;
}

static void veil_host_control_lost(struct veil_host_vm *vm)
{
	veil_log_warn(&vm->log, "the control page at 0x%llx no longer holds veil's magic (the guest rebooted or unloaded veil_guest); registration dropped\n",
		      (u64)vm->control_gpa);
	veil_host_vm_forget_locked(vm);
}

/*
 * Writes into the control page, after checking that it still is one: a
 * guest that rebooted without UNREGISTER may use that frame for anything.
 */
static int veil_host_control_write(struct veil_host_vm *vm, size_t off,
				   const void *data, unsigned int len)
{
	__le32 hdr[2];
	int r;

	lockdep_assert_held(&vm->lock);
	/*
	 * A read that fails says nothing of the guest: the caller may have a
	 * fatal signal pending (a killed manager's PREPARE or close), or the
	 * VMM be tearing its memory down.  Only a page read back without
	 * veil's magic means the guest is gone.
	 */
	r = veil_host_mem_read(vm->kvm, vm->control_gpa, hdr, sizeof(hdr));
	if (r) {
		veil_log_warn(&vm->log, "cannot read the control page at 0x%llx: %d\n",
			      (u64)vm->control_gpa, r);
		return r;
	}
	if (!veil_host_control_valid(vm, hdr)) {
		veil_host_control_lost(vm);
		return -ENODEV;
	}
	r = veil_host_mem_write(vm->kvm, vm->control_gpa + off, data, len);
	if (r)
		veil_log_warn(&vm->log, "cannot write the control page at 0x%llx: %d\n",
			      (u64)vm->control_gpa, r);
	return r;
}

static int veil_host_request(struct veil_host_vm *vm, u32 op)
{
	__le64 seq = cpu_to_le64(vm->req_seq + 1);
	__le32 req = cpu_to_le32(op);
	int r;

	lockdep_assert_held(&vm->lock);
	/* The guest polls req_seq: the operation must be there first. */
	r = veil_host_control_write(vm, offsetof(struct veil_control, req_op),
				    &req, sizeof(req));
	if (!r)
		r = veil_host_control_write(vm, offsetof(struct veil_control, req_seq),
					    &seq, sizeof(seq));
	if (r)
		return r;
	vm->req_seq++;
	pr_debug("vm %u: request %llu op %u\n", vm->id, vm->req_seq, op);
	return 0;
}

/* The state fields, written into the pinned control page: cannot fail. */
static void veil_host_control_state(struct veil_host_vm *vm, struct page *page,
				    u32 state)
{
	__le32 st = cpu_to_le32(state);
	__le64 n = cpu_to_le64(vm->c.sanitizes);

	veil_host_mem_write_pinned(vm->kvm, page, vm->control_gpa +
				   offsetof(struct veil_control, host_sanitized),
				   &n, sizeof(n));
	veil_host_mem_write_pinned(vm->kvm, page, vm->control_gpa +
				   offsetof(struct veil_control, state),
				   &st, sizeof(st));
}

/* ---- /dev/veil operations ---- */

int veil_host_vm_attach(struct veil_host_vm *vm)
{
	int r = 0;

	mutex_lock(&vm->lock);
	if (vm->attached)
		r = -EBUSY;
	else
		vm->attached = true;
	mutex_unlock(&vm->lock);
	return r;
}

void veil_host_vm_info(struct veil_host_vm *vm, struct veil_info *info)
{
	mutex_lock(&vm->lock);
	info->flags = 0;
	if (vm->registered)
		info->flags |= VEIL_INFO_REGISTERED;
	if (vm->req_seq && vm->ack_seq == vm->req_seq)
		info->flags |= VEIL_INFO_ACKED;
	info->state = vm->state;
	info->guest_abi = vm->guest_abi;
	info->generation = vm->generation;
	info->nr_extents = vm->set ? vm->set->nr_extents : 0;
	info->nr_pages = vm->set ? vm->set->nr_pages : 0;
	info->req_seq = vm->req_seq;
	info->ack_seq = vm->ack_seq;
	info->hypercalls = vm->c.hypercalls;
	info->rejected = vm->c.rejected;
	info->publishes = vm->c.publishes;
	info->sanitizes = vm->c.sanitizes;
	info->restores = vm->c.restores;
	info->runs_held = vm->c.runs_held;
	info->restored_flags = vm->c.restored_flags;
	mutex_unlock(&vm->lock);
}

static int veil_host_thaw_locked(struct veil_host_vm *vm)
{
	int r;

	lockdep_assert_held(&vm->lock);
	if (vm->state == VEIL_HOST_SANITIZED)
		return -EBUSY;
	if (vm->state == VEIL_HOST_RUNNING)
		return 0;
	r = veil_host_request(vm, VEIL_REQ_THAW);
	/*
	 * Not sent, with the guest still there (a manager with a fatal signal
	 * pending cannot reach guest memory): it stays frozen until the next
	 * THAW, from veilctl's guardian or the descriptor's close, sends it,
	 * or until the guest's own thaw timeout.
	 */
	if (r && vm->registered)
		return r;
	vm->state = VEIL_HOST_RUNNING;
	return r;
}

int veil_host_vm_thaw(struct veil_host_vm *vm)
{
	int r;

	mutex_lock(&vm->lock);
	r = veil_host_thaw_locked(vm);
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * The acknowledgment of a PREPARE: good only without a guest error and
 * naming the set the guest published for this very request.
 */
static int veil_host_check_ack(struct veil_host_vm *vm, u64 seq,
			       struct veil_prepare *p)
{
	if (vm->ack_error) {
		p->guest_error = vm->ack_error;
		veil_log_info(&vm->log, "the guest failed PREPARE %llu with error %u; nothing can be sanitized\n",
			      seq, vm->ack_error);
		return -EREMOTEIO;
	}
	if (vm->generation <= vm->gen_at_request ||
	    vm->ack_generation != vm->generation) {
		veil_log_warn(&vm->log, "PREPARE %llu acknowledged for generation %llu; the host holds %llu, published %s the request\n",
			      seq, vm->ack_generation, vm->generation,
			      vm->generation > vm->gen_at_request ? "after" : "before");
		return -EPROTO;
	}
	return 0;
}

int veil_host_vm_prepare(struct veil_host_vm *vm, struct veil_prepare *p)
{
	unsigned int ms = p->timeout_ms ? p->timeout_ms : veil_host_prepare_timeout_ms;
	u64 seq, epoch;
	long left;
	int r;

	mutex_lock(&vm->lock);
	if (!vm->registered) {
		r = -ENODEV;
		goto out;
	}
	if (vm->state == VEIL_HOST_SANITIZED || vm->state == VEIL_HOST_PREPARING) {
		r = -EBUSY;
		goto out;
	}
	vm->prepared_generation = 0;
	vm->gen_at_request = vm->generation;
	r = veil_host_request(vm, VEIL_REQ_PREPARE);
	if (r)
		goto out;
	seq = vm->req_seq;
	epoch = vm->epoch;
	vm->state = VEIL_HOST_PREPARING;
	mutex_unlock(&vm->lock);

	/* The guest answers with the ACK hypercall, which takes vm->lock. */
	left = wait_event_interruptible_timeout(vm->wq,
						READ_ONCE(vm->ack_seq) >= seq ||
						READ_ONCE(vm->req_seq) != seq ||
						READ_ONCE(vm->epoch) != epoch,
						msecs_to_jiffies(ms));

	mutex_lock(&vm->lock);
	if (vm->epoch != epoch) {
		/* The guest unregistered or registered again meanwhile. */
		r = vm->registered ? -ECANCELED : -ENODEV;
	} else if (vm->req_seq != seq) {
		/* THAW overtook this request. */
		r = -ECANCELED;
	} else if (vm->ack_seq >= seq) {
		vm->state = VEIL_HOST_PREPARED;
		r = veil_host_check_ack(vm, seq, p);
		if (r) {
			/* Thawed now: the caller must not checkpoint it. */
			veil_host_thaw_locked(vm);
			goto out;
		}
		vm->prepared_generation = vm->generation;
		p->generation = vm->generation;
		p->nr_pages = vm->set ? vm->set->nr_pages : 0;
	} else {
		r = left < 0 ? -EINTR : -ETIMEDOUT;
		veil_log_warn(&vm->log, "guest did not acknowledge PREPARE %llu within %u ms\n",
			      seq, ms);
		/* Never leave a half-frozen guest behind. */
		vm->state = VEIL_HOST_PREPARED;
		veil_host_thaw_locked(vm);
	}
out:
	mutex_unlock(&vm->lock);
	return r;
}

/*
 * Holds the vCPUs for SANITIZE.  @vm->holding goes up first, and from then
 * on the KVM_RUN hook holds every vCPU that enters; then the mutex of each
 * vCPU is taken and dropped again, one at a time.  A vCPU in KVM_RUN (or
 * in any other vCPU ioctl) holds its own mutex, so success means none is
 * in guest mode, and every later KVM_RUN takes the mutex after veil did
 * and finds @holding set.  One vCPU mutex at a time: any number of vCPUs
 * stays within lockdep's MAX_LOCK_DEPTH, and nothing waits on a vCPU.
 */
static int veil_host_hold_vcpus(struct veil_host_vm *vm)
{
	struct kvm_vcpu *vcpu;
	unsigned long i;

	lockdep_assert_held(&vm->lock);
	WRITE_ONCE(vm->holding, true);
	smp_mb();	/* @holding before the vCPUs' mutexes */
	kvm_for_each_vcpu(i, vcpu, vm->kvm) {
		if (!mutex_trylock(&vcpu->mutex)) {
			WRITE_ONCE(vm->holding, false);
			wake_up_all(&vm->wq);
			return -EBUSY;
		}
		mutex_unlock(&vcpu->mutex);
	}
	return 0;
}

static void veil_host_release_vcpus(struct veil_host_vm *vm)
{
	WRITE_ONCE(vm->holding, false);
	wake_up_all(&vm->wq);
}

/* Host memory stashed by every VM, in pages, against max_total_mib. */
static atomic64_t veil_host_stashed = ATOMIC64_INIT(0);

static u64 veil_host_stash_cap(void)
{
	u64 mib = READ_ONCE(veil_host_max_total_mib);

	/* 0: a quarter of the host's RAM. */
	return mib ? mib << (20 - PAGE_SHIFT) : totalram_pages() / 4;
}

static int veil_host_stash_charge(struct veil_host_vm *vm, u64 pages)
{
	if (atomic64_add_return(pages, &veil_host_stashed) > veil_host_stash_cap()) {
		atomic64_sub(pages, &veil_host_stashed);
		veil_log_warn(&vm->log, "SANITIZE refused: %llu more pages would pass the host-wide stash cap (max_total_mib)\n",
			      pages);
		return -ENOSPC;
	}
	return 0;
}

/* Why SANITIZE may not run now, or 0. */
static int veil_host_sanitize_allowed(struct veil_host_vm *vm)
{
	if (!vm->registered)
		return -ENODEV;
	switch (vm->state) {
	case VEIL_HOST_SANITIZED:
		return -EALREADY;
	case VEIL_HOST_PREPARING:
		return -EBUSY;
	case VEIL_HOST_PREPARED:
		if (!vm->prepared_generation)
			break;
		if (vm->generation != vm->prepared_generation) {
			veil_log_warn(&vm->log, "SANITIZE refused: the guest published generation %llu after PREPARE acknowledged %llu\n",
				      vm->generation, vm->prepared_generation);
			return -ESTALE;
		}
		return 0;
	}
	veil_log_info(&vm->log, "SANITIZE refused: no successful PREPARE\n");
	return -EINVAL;
}

static const struct veil_host_set veil_host_empty_set;

int veil_host_vm_sanitize(struct veil_host_vm *vm, u64 *nr_pages)
{
	const struct veil_host_set *set;
	struct page **pins = NULL;
	void *stash = NULL;
	__le32 hdr[2];
	__le64 gen;
	u64 n;
	int r;

	mutex_lock(&vm->lock);
	r = veil_host_sanitize_allowed(vm);
	if (r)
		goto out;
	set = vm->set ?: &veil_host_empty_set;
	n = set->nr_pages;
	r = veil_host_hold_vcpus(vm);
	if (r) {
		veil_log_info(&vm->log, "SANITIZE refused: a vCPU is running\n");
		goto out;
	}
	r = veil_host_mem_check(vm->kvm, set);
	if (r)
		goto release;
	r = veil_host_stash_charge(vm, n);
	if (r)
		goto release;
	r = -ENOMEM;
	pins = kvmalloc_array(n + 1, sizeof(*pins),
			      GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (n)
		stash = __vmalloc(n << PAGE_SHIFT, GFP_KERNEL_ACCOUNT |
				  __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!pins || (n && !stash))
		goto uncharge;
	/* Every frame pinned, or none: nothing is zeroed yet. */
	r = veil_host_mem_pin(vm->kvm, set, vm->control_gpa, pins);
	if (r)
		goto uncharge;
	veil_host_mem_read_pinned(pins[n], vm->control_gpa, hdr, sizeof(hdr));
	if (!veil_host_control_valid(vm, hdr)) {
		veil_host_mem_unpin(pins, n + 1, false);
		veil_host_control_lost(vm);
		r = -ENODEV;
		goto uncharge;
	}
	/*
	 * The vCPUs are held: what the page says now stays true until
	 * RESTORE.  A guest withdraws its set (something in it was freed
	 * since the ACK) by clearing the generation.
	 */
	veil_host_mem_read_pinned(pins[n], vm->control_gpa +
				  offsetof(struct veil_control, guest_generation),
				  &gen, sizeof(gen));
	if (le64_to_cpu(gen) != vm->prepared_generation) {
		veil_host_mem_unpin(pins, n + 1, false);
		veil_log_warn(&vm->log, "SANITIZE refused: the guest withdrew generation %llu after PREPARE (something it named was freed)\n",
			      vm->prepared_generation);
		r = -ESTALE;
		goto uncharge;
	}

	/* From here to SANITIZED nothing can fail or be interrupted. */
	veil_host_mem_sanitize(vm->kvm, set, pins, stash);
	vm->c.sanitizes++;
	veil_host_control_state(vm, pins[n], VEIL_STATE_SANITIZED);
	vm->pins = pins;
	vm->stash = stash;
	vm->state_before_sanitize = vm->state;
	WRITE_ONCE(vm->state, VEIL_HOST_SANITIZED);
	*nr_pages = n;
	pr_debug("vm %u: sanitized %llu pages\n", vm->id, n);
	goto out;

uncharge:
	vfree(stash);
	kvfree(pins);
	atomic64_sub(n, &veil_host_stashed);
release:
	veil_host_release_vcpus(vm);
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* Puts every frame back from the stash; cannot fail once SANITIZED. */
static int veil_host_restore_locked(struct veil_host_vm *vm, u64 *nr_pages)
{
	const struct veil_host_set *set = vm->set ?: &veil_host_empty_set;
	u64 n = set->nr_pages, written = 0;

	lockdep_assert_held(&vm->lock);
	if (vm->state != VEIL_HOST_SANITIZED)
		return -EINVAL;
	if (n)
		written = veil_host_mem_restore(vm->kvm, set, vm->pins, vm->stash);
	if (written) {
		/*
		 * The VM was stopped and no vCPU could run: the VMM or its
		 * devices wrote there, and that write is now lost.
		 */
		vm->c.overwritten += written;
		veil_log_warn(&vm->log, "RESTORE: %llu of %llu zeroed frames were written while the VM was stopped; their new contents are overwritten\n",
			      written, n);
	}
	veil_host_control_state(vm, vm->pins[n], VEIL_STATE_RUNNING);
	veil_host_mem_unpin(vm->pins, n + 1, true);
	kvfree(vm->pins);
	vm->pins = NULL;
	if (vm->stash) {
		memzero_explicit(vm->stash, n << PAGE_SHIFT);
		vfree(vm->stash);
		vm->stash = NULL;
	}
	atomic64_sub(n, &veil_host_stashed);
	vm->c.restores++;
	WRITE_ONCE(vm->state, vm->state_before_sanitize);
	veil_host_release_vcpus(vm);
	if (nr_pages)
		*nr_pages = n;
	pr_debug("vm %u: restored %llu pages\n", vm->id, n);
	return 0;
}

int veil_host_vm_restore(struct veil_host_vm *vm, u64 *nr_pages)
{
	int r;

	mutex_lock(&vm->lock);
	r = veil_host_restore_locked(vm, nr_pages);
	mutex_unlock(&vm->lock);
	return r;
}

/* The managing descriptor is closing: restore and thaw, whatever the state. */
void veil_host_vm_detach(struct veil_host_vm *vm)
{
	mutex_lock(&vm->lock);
	if (vm->state == VEIL_HOST_SANITIZED)
		veil_host_restore_locked(vm, NULL);
	veil_host_thaw_locked(vm);
	vm->prepared_generation = 0;
	vm->attached = false;
	mutex_unlock(&vm->lock);
}

/*
 * Called before KVM_RUN enters the guest of a VM veil saw sanitized: hold
 * the vCPU until RESTORE, so that a guest never runs on zeroed frames.
 */
int veil_host_vm_run_held(struct kvm_vcpu *vcpu)
{
	struct veil_host_vm *vm = veil_host_vm_get(vcpu->kvm, false);
	int r = 0;

	if (!vm)
		return 0;
	if (READ_ONCE(vm->holding)) {
		mutex_lock(&vm->lock);
		vm->c.runs_held++;
		mutex_unlock(&vm->lock);
		veil_log_info(&vm->log, "KVM_RUN of vCPU %d held until RESTORE\n",
			      vcpu->vcpu_id);
		if (wait_event_interruptible(vm->wq, !READ_ONCE(vm->holding)))
			r = -EINTR;
	}
	veil_host_vm_put(vm);
	return r;
}
