#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The e2e suite's guest helpers (lib.sh) on the build machine, under
# busybox sh as L1 runs them, against stand-in guests: a process that
# holds the two ttyS1 FIFOs read-write as QEMU's pipe character device
# does, writes lines to one and ends when told.
#   * l2_read gets a guest's line; a read under way ends as soon as the
#     guest's QEMU ends, and one begun after at once (not at its limit);
#   * l2_until, l2_run and wait_running give up at once on an ended
#     guest;
#   * an open made just after the guest ended does not hang, and the
#     ended guest's watcher makes no file where its FIFO was;
#   * a later guest on the same FIFO (libvirt restarting a domain, or a
#     new program's guest by the same name) reads its own lines whole
#     while the earlier guest's watcher is still about;
#   * the triple-fault classifiers on recorded exits and page walks, and a check that
#     finds a guest dead of the test bed's kind of triple fault ends its
#     program and marks the suite void; so does a wait for a guest whose
#     boot stalled before its init;
#   * bad_klog finds in a guest's console what the runner fails a run
#     for (selftests/lib/bad_kernel.ere).
# Prints TAP; exits 1 when a check fails, 4 (skip) without busybox.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v busybox >/dev/null 2>&1; then
	echo "# SKIP busybox is missing (make deps installs busybox-static)"
	exit 4
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# lib.sh without the two lines that reset L1's trace buffers, and with
# the patterns the build sets in the e2e programs
"$top/selftests/lib/bad_kernel_re.sh" >"$dir/lib.sh" || exit 1
sed -e '/^: >\/sys\/kernel\/tracing\//d' -e '/^\[ ! -e \/sys\/kernel\/tracing\/snapshot \]/d' \
	"$top/selftests/e2e/lib.sh" >>"$dir/lib.sh"

cat >"$dir/test.sh" <<'EOF'
. "$1/lib.sh"
l2_watch_for=10
name=veil-libtest-$$
T=0 FAILED=0
check() {	# check DESCRIPTION STATUS
	T=$((T + 1))
	if [ "$2" = 0 ]; then
		echo "ok $T $1"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $T $1"
	fi
}
now() { date +%s; }
# voided RC OUTPUT MARKER: a program that printed OUTPUT ended with status
# RC = 1 before "went on", printed "# @@VEIL MARKER" and voided the suite,
# naming the guest in the reason it left for the runner
voided() {
	[ "$1" = 1 ] && grep -q "^guest $name" /tmp/veil-suite-void 2>/dev/null &&
		! printf '%s\n' "$2" | grep -q '^went on' &&
		printf '%s\n' "$2" | grep -q "^# @@VEIL $3"
}
# guest DELAY LIFE [LINES]: holds the FIFOs, writes "hello" (or LINES
# lines "rc 0") after DELAY seconds, lives LIFE seconds more
guest() {
	(
		exec 3<>"/tmp/$name.s1.out" 4<>"/tmp/$name.s1.in"
		sleep "$1"
		if [ -n "${3:-}" ]; then
			i=0
			# in two writes, a moment apart, as a UART's bytes come
			while [ $i -lt "$3" ]; do
				printf 'rc' >&3
				sleep 0.01
				printf ' 0\n' >&3
				i=$((i + 1))
			done
		else
			echo hello >&3
		fi
		exec sleep "$2"
	) >/dev/null 2>&1 &
	echo $! >"/tmp/$name.pid"
	l2_watch "$name"
}
fresh() {
	rm -f "/tmp/$name".*
	mkfifo "/tmp/$name.s1.in" "/tmp/$name.s1.out"
}

# lines_whole DESCRIPTION: a new guest's 200 lines "rc 0", each read whole
lines_whole() {
	local n=0 bad=0 line
	guest 1 30 200
	while [ $n -lt 200 ] && line=$(l2_read "$name" 20); do
		n=$((n + 1))
		[ "$line" = "rc 0" ] || bad=$((bad + 1))
	done
	check "$1: its 200 lines whole ($n read, $bad not)" \
		"$([ $n = 200 ] && [ $bad = 0 ]; echo $?)"
	kill "$(l2_pid "$name")"
}

fresh
guest 1 2
line=$(l2_read "$name" 20)
check "l2_read gets the guest's line" "$([ "$line" = hello ]; echo $?)"
t=$(now)
l2_read "$name" 60
rc=$?
check "a read under way ends when the guest's QEMU ends (status $rc after $(($(now) - t)) s)" \
	"$([ $rc != 0 ] && [ $(($(now) - t)) -le 10 ]; echo $?)"
t=$(now)
l2_read "$name" 60; r1=$?
l2_until "$name" 60 true >/dev/null; r2=$?
l2_run "$name" true; r3=$?
wait_running "$(l2_pid "$name")"; r4=$?
check "l2_read, l2_until, l2_run and wait_running on the ended guest fail at once ($r1 $r2 $r3 $r4 after $(($(now) - t)) s)" \
	"$([ $r1 != 0 ] && [ $r2 != 0 ] && [ $r3 = 255 ] && [ $r4 != 0 ] && [ $(($(now) - t)) -le 5 ]; echo $?)"

# Ended between l2_read's check and its open: the watcher's empty open
# lets the read-only open go on to end of file.  The guest's line is read
# first, and the open waits until the guest has closed its ends (a kill
# is not an exit: an open made before the exit finds a writer and the
# line still buffered).
fresh
guest 0 60
line=$(l2_read "$name" 20)
pid=$(l2_pid "$name")
kill "$pid"
while pid_alive "$pid"; do
	sleep 0.05
done
t=$(now)
read -r -t 30 line <"/tmp/$name.s1.out"
rc=$?
check "an open just after the guest ended does not hang (status $rc after $(($(now) - t)) s)" \
	"$([ $rc != 0 ] && [ $(($(now) - t)) -le 10 ]; echo $?)"

# A later guest on the same FIFO, the earlier one's watcher still about
lines_whole "a later guest on the same FIFO"
# The ended guest's FIFOs removed, as l2_start does before making new
# ones: its watcher, still about, must not make a file in their place.
rm -f "/tmp/$name".*
sleep 1.5
check "an ended guest's watcher makes no file where its FIFO was" \
	"$([ ! -e "/tmp/$name.s1.out" ]; echo $?)"
fresh
lines_whole "a guest by the same name on new FIFOs"
rm -f "/tmp/$name".*

# The triple-fault classifier (shutdown_report, fault_at_resume) on
# kvm_exit lines as L1's trace buffers give them: a SHUTDOWN exit is "at
# resume" only with a not-present instruction fetch fault at the RIP
# its vCPU resumed at after its last port I/O or MSR exit.
exits=""
shutdown_exits() { printf '%s\n' "$exits" | awk 'NF { print "S " $0 }'; }
x() {	# x REASON RIP INFO2 INTR_INFO ERROR_CODE [THREAD]: one exit line
	echo " ${6:-CPU 0/KVM}-556     [000] .....   101.1: kvm_exit: vcpu 0 reason $1 rip $2 info1 0x0000000000000001 info2 $3 intr_info $4 error_code $5"
}
io=$(x io 0xffffffffb22e33f8 0xffffffffb22e33f9 0x00000000 0x00000000)
msr=$(x msr 0xffffffff81079b88 0x0000000000000000 0x00000000 0x00000000)
nx=0x80000b0e
classify() {	# classify WANT(0 at resume, 1 not) DESCRIPTION EXITS
	exits=$3
	shutdown_report >/tmp/shutdowns
	fault_at_resume
	local rc=$?
	check "classifier: $2 ($(tail -n 1 /tmp/shutdowns))" "$([ $rc = "$1" ]; echo $?)"
}
classify 0 "fault at the resume RIP of a port I/O exit" \
	"$io
$(x shutdown 0xffffffffb22e33f9 0x0 $nx 0x00000010)"
classify 0 "fault two bytes after an intercepted wrmsr" \
	"$msr
$(x shutdown 0xffffffff81079b8a 0x0 $nx 0x00000010)"
classify 0 "the same across a carry in the RIP" \
	"$(x msr 0xffffffff8107affe 0x0 0x0 0x0)
$(x shutdown 0xffffffff8107b000 0x0 $nx 0x00000010)"
classify 1 "fault three bytes after an MSR exit" \
	"$msr
$(x shutdown 0xffffffff81079b8b 0x0 $nx 0x00000010)"
classify 0 "a reserved-bit fetch fault at the resume RIP" \
	"$msr
$(x shutdown 0xffffffff81079b8a 0x0 $nx 0x00000018)"
classify 1 "a write fault at the resume RIP" \
	"$msr
$(x shutdown 0xffffffff81079b8a 0x0 $nx 0x00000002)"
classify 1 "the exit before was another vCPU's" \
	"$(x msr 0xffffffff81079b88 0x0 0x0 0x0 "CPU 1/KVM")
$(x shutdown 0xffffffff81079b8a 0x0 $nx 0x00000010)"
classify 1 "an I/O exit came after the MSR exit" \
	"$msr
$io
$(x shutdown 0xffffffff81079b8a 0x0 $nx 0x00000010)"
classify 1 "no exit before the SHUTDOWN" \
	"$(x shutdown 0xffffffff81079b8a 0x0 $nx 0x00000010)"
classify 1 "one of two SHUTDOWN exits elsewhere" \
	"$io
$(x shutdown 0xffffffffb22e33f9 0x0 $nx 0x00000010)
$(x shutdown 0x0000000000410c80 0x0 0x800000ec 0x00000000 "CPU 1/KVM")"

# The walk judge (fault_unexplained) on recorded exits and the lines
# shutdown_walk logs in L1 (stood in for by dmesg below): a SHUTDOWN exit
# is the test bed's only when its first event was a page fault on an
# instruction fetch and the walk logged for the same vCPU thread and RIP
# found that fetch allowed by the guest's own page tables.
walks=""
dmesg() { printf '%s\n' "$walks"; }
wk() {	# wk TID RIP WORD: a line shutdown_walk logs
	echo "[  107.7] shutdown_walk: tgid 500 tid $1 rip $2 cr2 $2 cr3 1a2b000: fetch $3, cr2 maps"
}
judge() {	# judge WANT(0 the test bed's, 1 not, 2 no walk) DESCRIPTION EXITS WALKS
	exits=$3 walks=$4
	shutdown_report >/tmp/shutdowns
	fault_unexplained
	local rc=$?
	check "walk judge: $2 (status $rc)" "$([ $rc = "$1" ]; echo $?)"
}
rip=0xffffffffa28a98e0
judge 0 "a reserved-bit fetch fault away from any resume RIP, the walk allows the fetch" \
	"$msr
$(x shutdown $rip 0x0 $nx 0x00000018)" "$(wk 556 ${rip#0x} maps)"
judge 0 "a not-present fetch fault, the walk allows the fetch" \
	"$(x shutdown $rip 0x0 $nx 0x00000010)" "$(wk 556 ${rip#0x} maps)"
judge 1 "the walk finds the page not present in memory" \
	"$(x shutdown $rip 0x0 $nx 0x00000010)" "$(wk 556 ${rip#0x} absent@1)"
judge 1 "the walk finds a reserved bit in memory" \
	"$(x shutdown $rip 0x0 $nx 0x00000018)" "$(wk 556 ${rip#0x} reserved@2)"
judge 1 "the first event was an invalid opcode" \
	"$(x shutdown $rip 0x0 0x80000306 0x00000000)" "$(wk 556 ${rip#0x} maps)"
judge 1 "the first event was a write fault" \
	"$(x shutdown $rip 0x0 $nx 0x00000002)" "$(wk 556 ${rip#0x} maps)"
judge 2 "no walk logged" \
	"$(x shutdown $rip 0x0 $nx 0x00000010)" ""
judge 2 "the walk logged was another thread's" \
	"$(x shutdown $rip 0x0 $nx 0x00000010)" "$(wk 557 ${rip#0x} maps)"
judge 2 "the walk logged was of another RIP" \
	"$(x shutdown $rip 0x0 $nx 0x00000010)" "$(wk 556 ffffffffa28a98e4 maps)"
judge 1 "one of two SHUTDOWN exits has its fetch explained" \
	"$(x shutdown $rip 0x0 $nx 0x00000010)
$(x shutdown 0x410c80 0x0 $nx 0x00000010 "CPU 1/KVM")" \
	"$(wk 556 ${rip#0x} maps)
$(wk 556 410c80 absent@4)"
wki() {	# wki TID RIP CR2 WORD: a walk line whose last fault was at CR2
	echo "[  132.3] shutdown_walk: tgid 500 tid $1 rip $2 cr2 $3 cr3 2980000: fetch maps, cr2 $4"
}
judge 0 "an interrupt in flight, the last fault on the IDT, which the walk finds mapped" \
	"$(x shutdown $rip 0x0 0x800000ec 0x00000000)" "$(wki 556 ${rip#0x} fffffe0000000080 maps)"
judge 1 "an interrupt in flight, the last fault elsewhere than the IDT" \
	"$(x shutdown $rip 0x0 0x800000ec 0x00000000)" "$(wki 556 ${rip#0x} ffff888001234080 maps)"
judge 1 "an interrupt in flight, the IDT not mapped in memory" \
	"$(x shutdown $rip 0x0 0x800000ec 0x00000000)" "$(wki 556 ${rip#0x} fffffe0000000080 absent@1)"
exits="" walks=""
rm -f /tmp/shutdowns /tmp/walks

# dead_guest: a guest whose QEMU has ended, after a command ran in it (so
# that veil may have touched it)
dead_guest() {
	fresh
	guest 0 0
	pid=$(l2_pid "$name")
	while pid_alive "$pid"; do
		sleep 0.05
	done
	: >"/tmp/$name.ran"
	rm -f /tmp/veil-suite-void
}

# A guest gone with such a triple fault: the check that notices it ends
# the program there, and marks the suite void for L1's init.
dead_guest
exits="$io
$(x shutdown 0xffffffffb22e33f9 0x0 $nx 0x00000010)"
out=$( (ok "a check after the guest died" 1; echo "went on") )
rc=$?
check "a check that finds a guest dead of an at-resume triple fault ends the program (status $rc) and voids the suite" \
	"$(voided "$rc" "$out" L2-TRIPLE-FAULT-AT-RESUME; echo $?)"
rm -f /tmp/veil-suite-void /tmp/shutdowns /tmp/walks "/tmp/$name".*

# ... unless the walk read the guest's tables and found that fetch not
# allowed: its memory explains the fault, which fails the check alone.
dead_guest
exits="$io
$(x shutdown 0xffffffffb22e33f9 0x0 $nx 0x00000010)"
walks=$(wk 556 ffffffffb22e33f9 absent@1)
printf '[    9.1] Run /init as init process\n@@VEIL BEGIN L2 serve_host\n' >"/tmp/$name.log"
out=$( (ok "a check after the guest died" 1; echo "went on $?") )
check "an at-resume triple fault that the guest's page tables explain fails the check, and nothing more" \
	"$([ ! -e /tmp/veil-suite-void ] && printf '%s\n' "$out" | grep -q '^went on 1$' &&
		! printf '%s\n' "$out" | grep -q '@@VEIL'; echo $?)"
# (the dead guest's console, quoted there, has its own markers: the runner
# must not take them for the program's)
check "the dead guest's console is quoted, its markers defused" \
	"$(printf '%s\n' "$out" | grep -q "^#   $name| @ @VEIL BEGIN L2 serve_host\$"; echo $?)"
rm -f /tmp/veil-suite-void /tmp/shutdowns /tmp/walks "/tmp/$name".*

# A fetch fault elsewhere that the guest's page tables allow: void.
dead_guest
exits="$msr
$(x shutdown $rip 0x0 $nx 0x00000018)"
walks=$(wk 556 ${rip#0x} maps)
out=$( (ok "a check after the guest died" 1; echo "went on") )
rc=$?
check "a check that finds a guest dead of a fetch fault its page tables allow ends the program (status $rc) and voids the suite" \
	"$(voided "$rc" "$out" L2-TRIPLE-FAULT-UNEXPLAINED; echo $?)"
rm -f /tmp/veil-suite-void /tmp/shutdowns /tmp/walks "/tmp/$name".*
exits="" walks=""

# A guest waited for in vain whose QEMU runs with nothing on its console
# (its boot stalled, veil not involved): the wait ends the program and
# voids the suite.  One that printed its boot line and then did not
# answer is a plain failure.
fresh
guest 60 1
out=$( (l2_wait_ready "$name" 1; echo "went on") )
rc=$?
check "a guest whose boot stalled before its init ends the program (status $rc) and voids the suite" \
	"$(voided "$rc" "$out" L2-BOOT-STALLED-UNTOUCHED; echo $?)"
rm -f /tmp/veil-suite-void
echo '@@VEIL BOOTED L2 test' >"/tmp/$name.log"
out=$( (l2_wait_ready "$name" 1; echo "went on $?") )
check "a guest that booted and did not answer fails the wait, and nothing more" \
	"$([ ! -e /tmp/veil-suite-void ] && printf '%s\n' "$out" | grep -q '^went on 1$' &&
		! printf '%s\n' "$out" | grep -q '@@VEIL'; echo $?)"
kill "$(cat "/tmp/$name.pid")" 2>/dev/null
rm -f /tmp/veil-suite-void "/tmp/$name".*

# A restored guest's console is judged by bad_klog as the runner judges
# every console: each kind of report a debug kernel makes, the watchdogs'
# and SLUB's own, and none in a clean log.
n=0
for line in 'UBSAN: shift-out-of-bounds in mm/x.c:1:2' \
	'BUG: KASAN: slab-use-after-free in f+0x1/0x2' \
	'WARNING: suspicious RCU usage' \
	'WARNING: inconsistent lock state' \
	'BUG: KFENCE: out-of-bounds read in f+0x1/0x2' \
	'@@KLOG L2 kmemleak: unreferenced object 0xffff888001234567 (size 64):' \
	'INFO: task kworker/0:1:12 blocked for more than 120 seconds.' \
	'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:' \
	'watchdog: Watchdog detected hard LOCKUP on cpu 1' \
	'BUG kmalloc-64 (Not tainted): Poison overwritten'; do
	printf '[    1.0] veil_guest: loaded\n%s\n' "$line" >"$1/klog"
	bad_klog "$1/klog" >/dev/null && n=$((n + 1))
done
printf '[    1.0] veil_guest: loaded\n@@VEIL KMEMLEAK L2 0\n' >"$1/klog"
check "bad_klog finds each kind of bad kernel log line ($n of 10) and nothing in a clean log" \
	"$([ $n = 10 ] && ! bad_klog "$1/klog" >/dev/null; echo $?)"
echo "1..$T"
[ $FAILED = 0 ]
EOF

busybox sh "$dir/test.sh" "$dir"
