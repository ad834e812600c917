// SPDX-License-Identifier: GPL-2.0
/*
 * TTYs in the descriptor table and the controlling terminal (normally
 * open there as 0, 1 and 2, but a process may have closed them while
 * another keeps the terminal open) and, for a pty, its other end: the
 * characters and flags of the flip buffers queued on the port, the last
 * chunk written (write_buf) and n_tty's read and echo buffers, byte by
 * byte (their offsets in n_tty's private, vmalloc'd struct come from the
 * kernel's BTF, ntty_btf.c); with kernel_objects=1 the whole struct too,
 * its pages taken up to the area's guard page, as find_vm_area() is not
 * exported.
 */
#include <linux/fs.h>
#include <linux/major.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/tty.h>
#include <linux/tty_flip.h>
#include <linux/tty_ldisc.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "veil_guest.h"

#define VEIL_GUEST_LDISC_MAX_PAGES	8

static bool veil_guest_is_tty(struct inode *inode)
{
	unsigned int major = imajor(inode);

	if (!S_ISCHR(inode->i_mode))
		return false;
	return major == TTY_MAJOR || major == TTYAUX_MAJOR ||
	       (major >= UNIX98_PTY_MASTER_MAJOR &&
		major < UNIX98_PTY_MASTER_MAJOR + UNIX98_PTY_MAJOR_COUNT) ||
	       (major >= UNIX98_PTY_SLAVE_MAJOR &&
		major < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT);
}

/*
 * n_tty's buffers live in a vmalloc area that a change of line discipline
 * or a hangup frees: its frames are held, so they cannot be reused while
 * published.
 */
static void veil_guest_hold_vmalloc(struct veil_guest_collect *c, void *addr, size_t len)
{
	unsigned long p = (unsigned long)addr & PAGE_MASK;
	unsigned long end = (unsigned long)addr + len;
	struct page *page;

	for (; p < end; p += PAGE_SIZE) {
		page = vmalloc_to_page((void *)p);
		if (page)
			veil_guest_hold_page(&c->holds, page);
	}
}

static void veil_guest_collect_ldisc(struct tty_struct *tty, struct veil_guest_collect *c)
{
	struct tty_ldisc *ld = tty_ldisc_ref(tty);
	unsigned long addr;
	struct page *page;
	u32 rb, eb;
	int i;

	if (!ld)
		return;
	addr = (unsigned long)tty->disc_data;
	if (ld->ops->num != N_TTY || !addr || !is_vmalloc_addr((void *)addr)) {
		tty_ldisc_deref(ld);
		return;
	}
	if (veil_guest_ntty_offsets(&rb, &eb)) {
		veil_guest_hold_vmalloc(c, (void *)addr + rb, N_TTY_BUF_SIZE);
		veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_TTY, (void *)addr + rb,
					    N_TTY_BUF_SIZE);
		veil_guest_hold_vmalloc(c, (void *)addr + eb, N_TTY_BUF_SIZE);
		veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_TTY, (void *)addr + eb,
					    N_TTY_BUF_SIZE);
	}
	if (veil_guest_kernel_objects()) {
		addr &= PAGE_MASK;
		for (i = 0; i < VEIL_GUEST_LDISC_MAX_PAGES; i++, addr += PAGE_SIZE) {
			page = vmalloc_to_page((void *)addr);
			if (!page)
				break;
			veil_guest_add(c, VEIL_GUEST_CAT_TTY, page_to_pfn(page), 1);
			veil_guest_hold_page(&c->holds, page);
		}
	}
	tty_ldisc_deref(ld);
}

static void veil_guest_collect_one_tty(struct tty_struct *tty, struct veil_guest_collect *c)
{
	struct tty_port *port = tty->port;
	struct tty_buffer *b;

	if (!veil_guest_collect_once(c, tty))
		return;
	if (port) {
		/*
		 * Input waiting for the line discipline is handed to it first:
		 * a flip buffer it takes later is freed, and its slab object
		 * reused, while published.  What it cannot take now (its
		 * buffer full, the reader frozen) stays queued.
		 */
		flush_work(&port->buf.work);
		tty_buffer_lock_exclusive(port);
		for (b = port->buf.head; b; b = b->next)
			veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_TTY,
						    (void *)b->data,
						    2 * (size_t)b->size);
		tty_buffer_unlock_exclusive(port);
	}
	veil_guest_collect_ldisc(tty, c);
	if (tty->write_buf)
		veil_guest_add_kernel_bytes(c, VEIL_GUEST_CAT_TTY, tty->write_buf,
					    tty->write_cnt);
}

static struct tty_struct *veil_guest_file_tty(struct file *file)
{
	struct tty_file_private *priv = file->private_data;

	if (!veil_guest_is_tty(file_inode(file)) || !priv)
		return NULL;
	return priv->tty;
}

void veil_guest_collect_tty(struct file *file, struct veil_guest_collect *c)
{
	struct tty_struct *tty = veil_guest_file_tty(file);

	if (!tty)
		return;
	veil_guest_collect_one_tty(tty, c);
	if (tty->link)
		veil_guest_collect_one_tty(tty->link, c);
}

/*
 * The task's controlling terminal, referenced, or NULL.  signal->tty is
 * under the siglock; the sighand may be replaced (exec) or released
 * (exit) meanwhile, hence the check after locking.
 */
static struct tty_struct *veil_guest_ctty(struct task_struct *tsk)
{
	struct tty_struct *tty = NULL;
	struct sighand_struct *sh;
	unsigned long flags;

	rcu_read_lock();
	for (;;) {
		sh = rcu_dereference(tsk->sighand);
		if (!sh)
			break;
		spin_lock_irqsave(&sh->siglock, flags);
		if (likely(sh == rcu_access_pointer(tsk->sighand))) {
			tty = tty_kref_get(tsk->signal->tty);
			spin_unlock_irqrestore(&sh->siglock, flags);
			break;
		}
		spin_unlock_irqrestore(&sh->siglock, flags);
	}
	rcu_read_unlock();
	return tty;
}

void veil_guest_collect_ctty(struct task_struct *tsk, struct veil_guest_collect *c)
{
	struct tty_struct *tty = veil_guest_ctty(tsk);

	if (!tty)
		return;
	veil_guest_collect_one_tty(tty, c);
	if (tty->link)
		veil_guest_collect_one_tty(tty->link, c);
	tty_kref_put(tty);
}

static void veil_guest_tty_add(struct veil_guest_ttys *t, struct tty_struct *tty)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->tty[i] == tty)
			return;
	if (t->nr < ARRAY_SIZE(t->tty))
		t->tty[t->nr++] = tty_kref_get(tty);
}

/* TTYs gathered from excluded processes at restore, each referenced. */
void veil_guest_tty_gather(struct file *file, void *arg)
{
	struct tty_struct *tty = veil_guest_file_tty(file);

	if (tty)
		veil_guest_tty_add(arg, tty);
}

void veil_guest_tty_gather_ctty(struct task_struct *tsk, struct veil_guest_ttys *t)
{
	struct tty_struct *tty = veil_guest_ctty(tsk);

	if (tty) {
		veil_guest_tty_add(t, tty);
		tty_kref_put(tty);
	}
}

/*
 * Discards what is queued on each TTY and its pty peer: after a restore it
 * is data of killed processes, zeroed in the checkpoint.  Drops the
 * references.
 */
unsigned int veil_guest_tty_flush(struct veil_guest_ttys *t)
{
	unsigned int i, n = t->nr;

	for (i = 0; i < t->nr; i++) {
		tty_ldisc_flush(t->tty[i]);
		if (t->tty[i]->link)
			tty_ldisc_flush(t->tty[i]->link);
		tty_kref_put(t->tty[i]);
	}
	t->nr = 0;
	return n;
}
