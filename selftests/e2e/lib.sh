#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Helpers for the e2e suite's L1 tests (prepended to each test program).
#
# An L2 guest NAME runs /l2/run with its QMP socket at /tmp/NAME.qmp, its
# console in /tmp/NAME.log and its ttyS1 on the FIFOs /tmp/NAME.s1.in and
# /tmp/NAME.s1.out (QEMU's "pipe" character device, which holds both FIFOs
# open read-write, so neither side's open blocks).
tap_n=0 tap_bad=0

# Under nested TCG an L2 guest now and then triple-faults with nothing of
# veil's having touched its memory (a page fault on an instruction fetch in
# its kernel text, seconds after boot).  To tell that apart from a guest
# veil broke, each program starts with an empty record of SHUTDOWN and
# port I/O and MSR exits (lib/init enables them; a SHUTDOWN exit swaps the buffer
# into the snapshot), and veil_host logs what guests send it and what it
# asks of them (its dynamic debug messages, on when it is loaded here or
# was at boot): see guests_gone, veil_untouched and fault_at_resume.
: >/sys/kernel/tracing/trace 2>/dev/null
[ ! -e /sys/kernel/tracing/snapshot ] || echo 2 >/sys/kernel/tracing/snapshot 2>/dev/null
dyndbg_on() {	# dyndbg_on: veil_host's debug messages, if it is loaded
	local f
	[ -d /sys/module/veil_host ] || return 0
	for f in /proc/dynamic_debug/control /sys/kernel/debug/dynamic_debug/control; do
		[ -w $f ] && echo 'module veil_host +p' >$f 2>/dev/null && return 0
	done
	return 1
}
dyndbg_on
# shutdown_walk (kmod/shutdown_walk.c) logs a guest's page walk at each
# SHUTDOWN exit, for fault_unexplained; without it, triple faults are
# judged as before it existed.
[ -z "${VEIL_MODDIR:-}" ] || [ ! -e /dev/kvm ] || [ -d /sys/module/shutdown_walk ] ||
	command insmod "$VEIL_MODDIR/shutdown_walk.ko" ||
	echo "# shutdown_walk is not loaded: no guest page walk at a triple fault"

insmod() {	# insmod MODULE [ARGS...]: veil_host with its debug messages on
	case $1 in
	*/veil_host.ko) command insmod "$@" dyndbg=+p ;;
	*) command insmod "$@" ;;
	esac
}

# fault_at_resume: every SHUTDOWN exit in /tmp/shutdowns (at least one)
# came at the instruction where its guest resumed after a port I/O or
# MSR exit, with a page fault on an instruction fetch as the event that
# could not be delivered (intr_info 0x80000b0e), the page not present
# (error code 0x10) or a reserved bit set in a page-table entry (0x18).
#
# Seen in L2 6.12 under L1 6.1 three times in three reports, once in a
# guest veil never touched: RIP was io_serial_in+0x19, the instruction
# after the 8250 driver's "in" from one of its registers.  The fetch
# from the page whose previous instruction had just been fetched found
# it not present: the guest's page tables changed while L1 handled the
# exit, or the emulator walked them wrongly.  Nothing of veil's writes
# guest memory then (veil_host writes a guest only through its control
# page, after checking veil's magic there, and through SANITIZE/RESTORE
# of a stopped VM), and a guest with a page table veil zeroed faults
# where that table is first used, not at the resume point of an
# unrelated I/O exit.  Once (L2 6.12 under L1 6.1) the same fault came
# at native_write_msr+0xa, the instruction after a wrmsr that L1
# intercepted: the same kind, after an MSR exit.  Once (L2 6.1 under L1
# 6.12, in a CI rehearsal) at io_serial_in's resume RIP with error code
# 0x18, right after the guest registered and before veil asked anything
# of it: the walk found a reserved bit instead of a missing page, the
# same failure of the emulated walk (reserved-bit faults in nested paging
# were QEMU 7.2's).  Any other error code, or a fault elsewhere, is not
# this kind.
fault_at_resume() {
	set -- $(tail -n 1 /tmp/shutdowns)
	[ "$1" = at-resume ] && [ "$4" -gt 0 ] && [ "$2" = "$4" ]
}

# fault_unexplained: every SHUTDOWN exit in /tmp/shutdowns (at least one)
# came with a page fault on an instruction fetch as the event that could
# not be delivered (intr_info 0x80000b0e, error code bit 4), and the
# guest's own page tables, read from its memory at that exit by
# shutdown_walk (kmod/shutdown_walk.c: the line it logged for the same
# vCPU thread and RIP), allow that fetch: present at every level, no
# reserved bit, executable, at RIP and at the end of the longest
# instruction there.  The fault came from the emulator under L1, not from
# what the guest's memory held.  A guest whose page tables veil (or
# anything) had zeroed or overwritten has them so in memory, and its walk
# says where ("absent@2", "reserved@1"): not this kind.  Nor is a fault
# whose first event was not a fetch, a guest whose walk was not logged, or
# one whose walk could not read a table.  Also this kind, whatever event
# was in flight: the last fault (CR2) a read of the IDT, in its fixed page
# of the CPU entry area, which the walk finds mapped: the CPU reads it as
# the kernel, and a mapped page cannot refuse that read (seen in a
# rehearsal: L2 6.1 under L1 6.12, a timer interrupt, vector 0xec, in
# flight; RIP and the IDT's #DF gate both mapped).  Seen in L2 6.1 under L1 6.12 in
# a CI run: a fetch fault with error code 0x18 (a reserved bit, reported
# without the present bit, which the emulator does and hardware does not)
# 39 ms after an MSR exit, at another RIP, after veilctl was killed
# following PREPARE, i.e. before anything was zeroed.
# Status 0: this kind; 1: not this kind; 2: a SHUTDOWN exit has no walk
# logged (shutdown_walk not loaded), so the walk cannot judge.
fault_unexplained() {
	dmesg | grep -a 'shutdown_walk: tgid ' >/tmp/walks
	awk -v walks=/tmp/walks '
	BEGIN {
		while ((getline line <walks) > 0) {
			nf = split(line, f, " ")
			tid = rip = fetch = cr2 = cr2walk = ""
			for (i = 1; i < nf; i++) {
				if (f[i] == "tid") tid = f[i + 1]
				else if (f[i] == "rip") rip = f[i + 1]
				else if (f[i] == "fetch") fetch = f[i + 1]
				else if (f[i] == "cr2" && cr2 == "") cr2 = f[i + 1]
				else if (f[i] == "cr2") cr2walk = f[i + 1]
			}
			sub(/,$/, "", fetch)
			walk[tid " " rip] = fetch
			# the last fault was a read of the IDT (its fixed page in
			# the CPU entry area), which the tables map
			idt[tid " " rip] = cr2 ~ /^fffffe0000000[0-9a-f][0-9a-f][0-9a-f]$/ &&
				cr2walk == "maps"
		}
	}
	/^shutdown\| / {
		n++
		who = substr($0, 11, index($0, "[") - 11)
		sub(/[[:space:]]+$/, "", who)
		tid = who
		sub(/.*-/, "", tid)
		rip = intr = ec = ""
		for (i = 1; i < NF; i++) {
			if ($i == "rip") rip = $(i + 1)
			else if ($i == "intr_info") intr = $(i + 1)
			else if ($i == "error_code") ec = $(i + 1)
		}
		sub(/^0x0*/, "", rip)
		# bit 4 of the error code: the fault was an instruction fetch
		fetch = index("13579bdf", tolower(substr(ec, length(ec) - 1, 1))) > 0
		if ((tid " " rip) in walk)
			w++
		if (walk[tid " " rip] == "maps" &&
		    ((intr == "0x80000b0e" && fetch) || idt[tid " " rip]))
			m++
	}
	END { exit n == 0 || w < n ? 2 : m < n }' /tmp/shutdowns
}

veil_untouched() {	# veil_untouched NAME: veil did nothing to guest NAME
	# no command ran in it (l2_run), and veil_host, if loaded, logs its
	# requests and received nothing but registrations in this program
	[ ! -e "/tmp/$1.ran" ] || return 1
	! dmesg | grep -q 'veil_host: vm [0-9]*: \(request\|generation\|ack\|sanitized\|restored\)' ||
		return 1
	[ ! -d /sys/module/veil_host ] ||
		cat /proc/dynamic_debug/control /sys/kernel/debug/dynamic_debug/control 2>/dev/null |
		grep 'veil_host' | grep -q '=p'
}
# shutdown_report: the SHUTDOWN exits recorded in this program, each after
# the last port I/O or MSR exit of the same vCPU thread before it; and, last,
# "at-resume N of M": how many of the M came, with a page fault on an
# instruction fetch (not present, or a reserved bit), at the very instruction where their vCPU
# resumed after that exit (for port I/O its next RIP, info2; for an MSR
# exit its RIP + 2).
# Each buffer (the live one and the snapshot a SHUTDOWN exit swapped out)
# is read on its own: they hold different stretches of time.
shutdown_exits() {
	local t=/sys/kernel/tracing
	cat $t/snapshot 2>/dev/null | awk '{ print "S " $0 }'
	cat $t/trace 2>/dev/null | awk '{ print "T " $0 }'
} 2>/dev/null
shutdown_report() {
	shutdown_exits | awk '
	function hex(h) { sub(/^0x0*/, "", h); return h }
	# hex(H) + D, D small; "" when the low 32 bits carry (no match then)
	function plus(h, d,   lo, v, i) {
		h = hex(h)
		lo = length(h) > 8 ? substr(h, length(h) - 7) : h
		v = 0
		for (i = 1; i <= length(lo); i++)
			v = v * 16 + index("0123456789abcdef", tolower(substr(lo, i, 1))) - 1
		v += d
		if (v >= 4294967296)
			return ""
		# (busybox awk prints %x of at most 2^31 - 1)
		return hex("0x" substr(h, 1, length(h) - length(lo)) \
		    sprintf("%04x%04x", int(v / 65536), v % 65536))
	}
	$1 != buf { buf = $1; split("", io); split("", ioline) }
	/ kvm_exit: / {
		line = substr($0, 3)
		who = substr(line, 1, index(line, "[") - 1)
		reason = rip = next_rip = ""
		for (i = 1; i < NF; i++) {
			if ($i == "reason") reason = $(i + 1)
			else if ($i == "rip") rip = $(i + 1)
			else if ($i == "info2") next_rip = $(i + 1)
		}
		if (reason == "io") {
			io[who] = hex(next_rip)
			ioline[who] = line
		} else if (reason == "msr") {
			# rdmsr and wrmsr are two bytes long; info2 is not a RIP
			io[who] = plus(rip, 2)
			ioline[who] = line
		} else if (reason == "shutdown") {
			n++
			if (who in io)
				print "before| " ioline[who]
			print "shutdown| " line
			if ((who in io) && io[who] == hex(rip) &&
			    line ~ /intr_info 0x80000b0e error_code 0x000000(10|18)( |$)/)
				m++
		}
	}
	END { printf "at-resume %d of %d\n", m, n }'
}

# Every wait below is multiplied by VEIL_E2E_SLOW (make check-debug sets
# it: L1 and L2 both on a debug kernel boot and run several times slower).
slow=${VEIL_E2E_SLOW:-1}

# quote PREFIX [FILE...]: the lines of FILEs (or stdin) as TAP comments,
# "#   PREFIX" before each.  A guest's console carries its own "@@VEIL"
# markers, which the runner would take for this program's (it finds them
# anywhere in a line): each "@@" quoted becomes "@ @".
quote() {
	local p=$1
	shift
	awk -v p="$p" '{ gsub(/@@/, "@ @"); print "#   " p $0 }' "$@"
}

ok() {	# ok DESCRIPTION CONDITION-EXIT-STATUS; returns that status
	tap_n=$((tap_n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $tap_n $1"
	else
		echo "not ok $tap_n $1"
		tap_bad=1
		guests_gone
	fi
	return "$2"
}

# guests_gone: for each guest whose QEMU has ended without l2_stop, once,
# its last console lines and QEMU's own last words, so that a failure
# caused by a guest that died says so where the failure is reported.
guests_gone() {
	local f name pid walk
	for f in /tmp/*.s1.in; do
		[ -p "$f" ] || continue
		name=${f##*/}
		name=${name%.s1.in}
		[ -e "/tmp/$name.pid" ] && [ ! -e "/tmp/$name.told" ] || continue
		pid=$(cat "/tmp/$name.pid")
		pid_alive "$pid" && continue
		: >"/tmp/$name.told"
		# Our child unless libvirt started it: 128+N is signal N.
		wait "$pid" 2>/dev/null
		echo "# guest $name: its QEMU ($pid) has ended (exit status $?; 127: not ours to ask); the end of its console:"
		grep -av '^[[:space:]]*$' "/tmp/$name.log" 2>/dev/null | tail -n 15 |
			quote "$name| "
		[ -f "/var/log/libvirt/qemu/$name.log" ] &&
			tail -n 6 "/var/log/libvirt/qemu/$name.log" | quote "$name qemu log| "
		[ -z "$(command -v virsh)" ] ||
			virsh -c qemu:///system -q domstate --reason "$name" 2>/dev/null |
			quote "$name libvirt state| "
		# SHUTDOWN exits (a triple fault) of this program's guests, with
		# RIP, and the port I/O or MSR exit of the same vCPU before each
		echo "#   L1 kvm_exit shutdown trace on: $(cat /sys/kernel/tracing/events/kvm/kvm_exit/enable 2>&1)"
		shutdown_report >/tmp/shutdowns
		tail -n 7 /tmp/shutdowns | quote 'L1 kvm_exit '
		dmesg | grep -v 'shutdown_walk: tgid ' | tail -n 5 | quote 'L1 dmesg| '
		dmesg | grep -a 'shutdown_walk: tgid ' | tail -n 3 | sed 's/^.*shutdown_walk: /#   L1 guest page walk at SHUTDOWN| /'
		# Three kinds of triple fault are the test bed's failure, not
		# veil's, and the program runs again (suite_void): one in a guest
		# veil did nothing to; one on an instruction fetch that the
		# guest's own page tables, read at the fault, allow
		# (fault_unexplained); and, only where no walk was logged, one
		# where the guest's very first instruction fetch after L1
		# emulated a port I/O or MSR instruction for it failed
		# (fault_at_resume).  A walk that finds the fetch not allowed
		# in memory overrules the last: the guest's memory explains it.
		fault_unexplained
		walk=$?
		if grep -q '^shutdown| ' /tmp/shutdowns && veil_untouched "$name"; then
			echo "# @@VEIL L2-TRIPLE-FAULT-UNTOUCHED guest $name"
			suite_void "guest $name triple-faulted before veil touched it"
		elif [ $walk = 0 ]; then
			echo "# @@VEIL L2-TRIPLE-FAULT-UNEXPLAINED guest $name: its page tables allow the fetch that faulted"
			suite_void "guest $name triple-faulted on an instruction fetch its own page tables allow"
		elif [ $walk = 2 ] && fault_at_resume; then
			echo "# @@VEIL L2-TRIPLE-FAULT-AT-RESUME guest $name: $(tail -n 1 /tmp/shutdowns) SHUTDOWN exits at the RIP where the guest resumed after a port I/O or MSR exit"
			suite_void "guest $name triple-faulted on its first fetch after a port I/O or MSR exit"
		fi
	done
	return 0
}

# suite_void REASON: the test bed failed (a triple fault, just reported):
# this program ends here, and L1's init runs it again from where it began
# (at most twice in a boot; then vmrun.sh runs the whole suite again),
# instead of letting its later checks each wait out their limit for a
# guest that is gone.  REASON is what the runner says of the repeat.
suite_void() {
	echo "$1" >/tmp/veil-suite-void
	echo "# the test bed failed: this program ends, and runs again"
	exit 1
}

expect() {	# expect DESCRIPTION WANTED-STATUS COMMAND...
	local d=$1 want=$2 rc
	shift 2
	"$@" >/tmp/out 2>/tmp/err
	rc=$?
	if [ $rc = "$want" ]; then
		ok "$d" 0
	else
		ok "$d (expected exit $want, got $rc)" 1
		quote '' /tmp/out /tmp/err
	fi
}

# A guest that has died must not make every later check wait out its
# time limit: each wait below ends as soon as the guest's QEMU has.
pid_alive() {	# pid_alive PID: a process that has not ended (nor is a zombie)
	local state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

l2_alive() {	# l2_alive NAME: guest NAME's QEMU runs
	pid_alive "$(cat "/tmp/$1.pid" 2>/dev/null)"
}

vm_alive() {	# vm_alive PID-OR-NAME: as veilctl names a VM
	case $1 in
	*[!0-9]*) l2_alive "$1" ;;
	*) pid_alive "$1" ;;
	esac
}

# l2_watch NAME: once guest NAME's QEMU has ended, an empty open of its
# ttyS1 FIFO, every half second for a minute (l2_watch_for halves), lets
# an l2_read that was blocked opening it (see there) go on to end of
# file.  Nothing is ever written.  The watcher opens the FIFO through a
# link of its own, so that it never reaches a FIFO made later under the
# guest's name, nor makes a file there when l2_start has just removed
# it.  A watcher is never killed: its PID may be another process's by
# then.
l2_watch() {
	local name=$1 pid link i
	pid=$(l2_pid "$name")
	link=/tmp/.l2-watch.$name.$pid
	ln -f "/tmp/$name.s1.out" "$link" 2>/dev/null || return 0
	(
		while pid_alive "$pid"; do
			sleep 0.5
		done
		for i in $(seq 1 "${l2_watch_for:-120}"); do
			: 1<>"$link"
			sleep 0.5
		done
		rm -f "$link"
	) >/dev/null 2>&1 &
}

l2_start() {	# l2_start NAME [QEMU ARGS...]
	local name=$1
	shift
	rm -f "/tmp/$name".*
	mkfifo "/tmp/$name.s1.in" "/tmp/$name.s1.out" \
		"/tmp/$name.mon.in" "/tmp/$name.mon.out" ||
		echo "# l2_start: no FIFOs for guest $name: $(ls -l "/tmp/$name".* 2>&1)"
	# (its human monitor on two more FIFOs, for l2_probe)
	/l2/run -qmp "unix:/tmp/$name.qmp,server=on,wait=off" \
		-chardev "pipe,id=s1,path=/tmp/$name.s1" -device isa-serial,chardev=s1 \
		-chardev "pipe,id=mon,path=/tmp/$name.mon" -mon chardev=mon,mode=readline \
		"$@" >"/tmp/$name.log" 2>&1 &
	echo $! >"/tmp/$name.pid"
	echo "# started guest $name (QEMU $!)"
	l2_watch "$name"
}

l2_pid() {
	cat "/tmp/$1.pid"
}

# l2_read NAME SECONDS: one line from the guest's ttyS1.  QEMU holds the
# FIFO read-write and is its only writer: opened read-only here, the read
# ends at end of file as soon as QEMU does, instead of at SECONDS.  The
# open waits for a writer; before QEMU holds the FIFO that is QEMU, and
# one that has ended meanwhile is l2_watch's empty open.
l2_read() {
	local line
	l2_alive "$1" || return 1
	read -r -t "$(($2 * slow))" line <"/tmp/$1.s1.out" || return 1
	echo "$line"
}

l2_send() {
	echo "$2" 1<>"/tmp/$1.s1.in"
}

l2_wait_ready() {	# l2_wait_ready NAME SECONDS
	local line
	line=$(l2_read "$1" "$2") && [ "$line" = ready ] && return 0
	boot_stalled "$1"
	return 1
}

# boot_stalled NAME: guest NAME, waited for in vain, has not reached its
# init (no "@@VEIL BOOTED" line on its console), its QEMU still runs and
# veil did nothing to it: the emulated nested SVM stalled its boot, as
# it stalls whole L1s now and then (seen once in a CI rehearsal: L2 6.12
# under L1 6.1, its vCPU thread in KVM_RUN throughout and not a byte on
# its console in 120 s).  Says so and voids the program: it runs
# again (suite_void).  A guest that booted and then did not answer is a failure.
# Only for a guest booted from its kernel: one restored from a checkpoint
# prints no boot line, and l2_wait_ready is not for it.
boot_stalled() {
	l2_alive "$1" && ! grep -aq '@@VEIL BOOTED' "/tmp/$1.log" 2>/dev/null &&
		veil_untouched "$1" || return 0
	echo "# @@VEIL L2-BOOT-STALLED-UNTOUCHED guest $1: nothing on its console"
	suite_void "guest $1's boot stalled before its init, veil not involved"
}

l2_ping() {	# l2_ping NAME: prints the guest's pong count
	local line
	l2_send "$1" ping
	line=$(l2_read "$1" 20) || return 1
	case $line in
	"pong "*) echo "${line#pong }" ;;
	*) return 1 ;;
	esac
}

l2_run() {	# l2_run NAME CMD: run CMD in the guest; its output, its status
	local line
	: >"/tmp/$1.ran"
	l2_send "$1" "run $2"
	while line=$(l2_read "$1" 30); do
		case $line in
		"out "*) echo "${line#out }" ;;
		"rc "*) return "${line#rc }" ;;
		esac
	done
	return 255
}

until_ok() {	# until_ok SECONDS COMMAND...: COMMAND succeeds within SECONDS
	local end
	end=$(($(date +%s) + $1 * slow))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# l2_until NAME SECONDS CMD: CMD (one line) succeeds in the guest within SECONDS.
# Tests wait for what they need, never a fixed time: a slower or busier
# machine only takes longer.
l2_until() {
	local end
	end=$(($(date +%s) + $2 * slow))
	until l2_run "$1" "$3" >/dev/null 2>&1; do
		if ! l2_alive "$1"; then
			echo "# $1: its QEMU has ended; not waiting for: $3"
			return 1
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "# $1: still not true after $2 s: $3"
			return 1
		fi
		sleep 0.2
	done
}

l2_stop() {	# l2_stop NAME: let serve_host finish and the guest power off
	local pid i
	pid=$(l2_pid "$1")
	l2_send "$1" done
	for i in $(seq 1 240); do
		if ! pid_alive "$pid"; then
			: >"/tmp/$1.told"
			echo "# guest $1 powered off after $((i / 2)) s"
			return 0
		fi
		sleep 0.5
	done
	# Say where it is stuck before ending it.
	echo "# guest $1 still running 120 s after 'done'; QEMU in L1:"
	grep -E '^(State|Threads)' "/proc/$pid/status" | quote ''
	l2_probe "$1" "$pid"
	echo "# last lines of its console:"
	tail -n 40 "/tmp/$1.log" | quote ''
	kill -9 "$pid" 2>/dev/null
	return 1
}

# l2_hmp NAME COMMAND: COMMAND's answer from guest NAME's human monitor
# (its lines until none comes for 2 s, not the monitor's echo of the
# command); nothing for a guest libvirt started.
l2_hmp() {
	local line
	[ -p "/tmp/$1.mon.in" ] || return 1
	echo "$2" 1<>"/tmp/$1.mon.in"
	while IFS= read -r -t 2 line; do
		echo "$line"
	done <"/tmp/$1.mon.out" | tr -d '\r' | grep -v -e '^(qemu)' -e "$(printf '\033')"
}

# l2_probe NAME PID: what a guest that stopped answering is doing, said
# before it is killed: its VM exits over 5 s (KVM's statistics in L1's
# debugfs: none while its vCPU thread runs means L1 never gets the CPU
# back from it), its threads' state, times and wait channels, its
# registers at both ends, and what its kernel prints of the stack it is
# on when sent an NMI (the guests boot with unknown_nmi_panic; panic=30
# then ends it).
l2_probe() {
	local d f t round
	d=$(ls -d "/sys/kernel/debug/kvm/$2"-* 2>/dev/null | head -n 1)
	for round in 0 1; do
		[ $round = 0 ] || sleep 5
		for f in exits irq_exits halt_exits io_exits mmio_exits hypercalls \
			insn_emulation pf_taken nested_run; do
			[ -n "$d" ] && [ -r "$d/$f" ] && printf ' %s=%s' "$f" "$(cat "$d/$f")"
		done >"/tmp/$1.exits.$round"
		for t in /proc/"$2"/task/*; do
			# state, utime, stime and guest_time in ticks, wait channel
			printf ' %s: %s %s;' "${t##*/}" \
				"$(awk '{ sub(/^.*\) /, ""); print $1, $12, $13, $41 }' "$t/stat")" \
				"$(cat "$t/wchan")"
		done 2>/dev/null >"/tmp/$1.threads.$round"
		l2_hmp "$1" "info registers" | grep -E '^(RAX|RSI|R8 |R12|RIP|CS |CR0|EFER)' \
			>"/tmp/$1.regs.$round"
	done
	echo "# its VM exits (L1 debugfs ${d:-missing}):"
	echo "#   then:$(cat "/tmp/$1.exits.0")"
	echo "#   5 s later:$(cat "/tmp/$1.exits.1")"
	echo "# its threads (TID: state utime stime guest_time wchan):"
	echo "#   then:$(cat "/tmp/$1.threads.0")"
	echo "#   5 s later:$(cat "/tmp/$1.threads.1")"
	echo "# its registers, then and 5 s later:"
	quote '' "/tmp/$1.regs.0" "/tmp/$1.regs.1"
	echo "# its instructions at RIP:"
	l2_hmp "$1" 'x/6i $pc' | quote ''
	l2_hmp "$1" nmi >/dev/null
	sleep 5
}

wait_registered() {	# wait_registered VM: the host sees its guest registered (/tmp/st)
	local end
	end=$(($(date +%s) + 60))
	until veilctl status "$1" --json >/tmp/st 2>&1 &&
		grep -q '"registered":true' /tmp/st; do
		vm_alive "$1" || return 1
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

checkpoint_pair() {	# checkpoint_pair NAME: plain and veil checkpoints of guest NAME
	local pid hp gp
	pid=$(l2_pid "$1")
	expect "plain checkpoint (--plain)" 0 veilctl checkpoint "$pid" --to /tmp/plain.mig --plain
	expect "veil checkpoint" 0 veilctl checkpoint "$pid" --to /tmp/veil.mig --json
	pages=$(sed -n 's/.*"excluded_pages":\([0-9]*\).*/\1/p' /tmp/out)
	[ "${pages:-0}" -gt 0 ]
	ok "the veil checkpoint excluded pages (${pages:-none})" $?
	# REGISTER, PUBLISH and ACK reached the host: its INFO matches the guest.
	hp=$(veilctl status "$pid" --json | sed -n 's/.*"pages":\([0-9]*\).*/\1/p')
	gp=$(l2_run "$1" "veil status --json" |
		sed -n 's/.*"published_pages": *\([0-9]*\).*/\1/p')
	[ -n "$hp" ] && [ "$hp" = "$gp" ] && [ "$hp" = "$pages" ]
	ok "host INFO and guest status agree on the published pages (host ${hp:-?}, guest ${gp:-?})" $?
}

wait_running() {	# wait_running QEMU-PID: QMP answers and says running
	local i
	for i in $(seq 1 240); do
		veilctl status "$1" --json 2>/dev/null | grep -q '"run_state":"running"' &&
			return 0
		vm_alive "$1" || return 1
		sleep 0.5
	done
	return 1
}

wait_guardian() {	# wait_guardian: a killed veilctl's guardian is done
	local i
	for i in $(seq 1 240); do
		cat /proc/[0-9]*/comm 2>/dev/null | grep -q '^veilctl$' || return 0
		sleep 0.5
	done
	return 1
}

magic() {	# magic FILE: first four bytes in hex
	od -An -tx1 -N4 "$1" | tr -d ' \n'
}

# bad_klog FILE: the lines of a guest's kernel log (FILE, or - for the
# standard input) that the runner would fail a run for: any splat, a
# debug kernel's reports and what kmemleak found at its end included.
# bad_kernel_re is set after the first line of every program built with
# this file (selftests/lib/bad_kernel.ere); were it empty, every line would
# count.
bad_klog() {
	grep -E "$bad_kernel_re" "$1"
}

finish() {	# finish ORIGINAL [RESTORED]: stop the guests, judge them, end TAP
	if [ -n "${2:-}" ]; then
		l2_stop "$2"
		ok "the restored guest shuts down cleanly" $?
		if bad_klog "/tmp/$2.log" >/tmp/bad; then
			quote '' /tmp/bad
			ok "the restored guest's kernel log is clean" 1
		else
			ok "the restored guest's kernel log is clean" 0
		fi
	fi
	l2_stop "$1"
	# The next test of this VM needs the room: /tmp is memory.
	rm -f /tmp/*.mig /tmp/*.elf /tmp/*.qcow2
	# The original guest's console is judged with the rest of the run.
	cat "/tmp/$1.log"
	echo "1..$tap_n"
	exit $tap_bad
}

# libvirt: libvirtd runs in L1 (suite.conf l1_libvirt) and defines the L2
# guest from domain XML: the same kernel, initramfs and serial lines as
# l2_start, a qcow2 disk for internal snapshots.
virsh() {	# libvirt's own client, on the connection veilctl uses by default
	command virsh -c qemu:///system "$@"
}

lv_start_daemon() {	# lv_start_daemon: libvirtd answers within 120 s
	local i
	libvirtd >/tmp/libvirtd.out 2>&1 &
	echo $! >/tmp/libvirtd.pid
	for i in $(seq 1 240); do
		virsh -q uri >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	quote 'libvirtd| ' /tmp/libvirtd.out
	return 1
}

lv_define() {	# lv_define NAME: define domain NAME (console /tmp/NAME.log)
	local name=$1
	. /l2/params
	rm -f "/tmp/$name".*
	mkfifo "/tmp/$name.s1.in" "/tmp/$name.s1.out"
	qemu-img create -q -f qcow2 "/tmp/$name.qcow2" 32M
	cat >"/tmp/$name.xml" <<XML
<domain type='kvm'>
  <name>$name</name>
  <memory unit='MiB'>$L2_MEM</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/l2/vmlinuz</kernel>
    <initrd>/l2/initrd</initrd>
    <cmdline>$L2_CMDLINE</cmdline>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='host-passthrough' check='none'>
    <feature policy='disable' name='xsave'/>
  </cpu>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/tmp/$name.qcow2'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <serial type='file'>
      <source path='/tmp/$name.log' append='on'/>
      <target port='0'/>
    </serial>
    <serial type='pipe'>
      <source path='/tmp/$name.s1'/>
      <target port='1'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
	virsh -q define "/tmp/$name.xml" >/dev/null
}

lv_start() {	# lv_start NAME: start the domain; l2_pid names its QEMU
	virsh -q start "$1" >/dev/null || return 1
	cp "/run/libvirt/qemu/$1.pid" "/tmp/$1.pid"
	l2_watch "$1"
}

lv_state() {	# lv_state NAME: libvirt's state of the domain (running, paused, ...)
	virsh -q domstate "$1" 2>/dev/null | head -n 1
}
