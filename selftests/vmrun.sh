#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmrun.sh: boot one suite of veil's tests in nested VMs and judge the result.
#
# L1 is a Debian kernel under QEMU TCG with -cpu max (emulated AMD SVM with
# nested paging), so kvm-amd loads and L1 is a KVM host; L2 is a guest that
# QEMU starts inside L1 under L1's KVM.  Both boot from initramfs images
# built here.  See selftests/README.md.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/initramfs.sh
. "$top/selftests/lib/initramfs.sh"

usage() {
	cat <<USAGE
usage: selftests/vmrun.sh --suite SUITE [options]

Boot the tests of selftests/SUITE in an L1 VM (and an L2 VM inside it when
the suite has L2 tests), print their TAP results and a closing line
"N passed, N failed, N skipped".

  -s, --suite SUITE      folder under selftests/ holding suite.conf
  -k, --kernel K         L1 kernel: 6.1 or 6.12 (default 6.1)
      --l2-kernel K      L2 kernel (default: the L1 kernel)
  -t, --test NAME        run only this test program (repeatable)
      --from NAME        run the L1 programs from NAME on, in the suite's
                         order (and every L2 program): what check.sh runs
                         again after L1 died inside NAME
      --list             print the L1 and L2 programs that would run, and exit
      --timeout SECONDS  limit for the whole L1 run (default: suite's)
  -v, --verbose          stream the VM consoles while they run
  -h, --help             this text

Example: selftests/vmrun.sh --suite infra --kernel 6.12 --test kvm_host -v

Exit status: 0 every test passed (skips allowed), 1 a test failed or a VM
did not finish, 2 bad usage or a build failure.
USAGE
}

suite= kernel=6.1 l2kernel= only=() from= list=0 timeout_override= verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	-s|--suite) suite=$2; shift ;;
	-k|--kernel) kernel=$2; shift ;;
	--l2-kernel) l2kernel=$2; shift ;;
	-t|--test) only+=("$2"); shift ;;
	--from) from=$2; shift ;;
	--list) list=1 ;;
	--timeout) timeout_override=$2; shift ;;
	-v|--verbose) verbose=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "vmrun: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[ -n "$suite" ] || { usage >&2; exit 2; }
[ -n "$l2kernel" ] || l2kernel=$kernel
conf=$top/selftests/$suite/suite.conf
[ -f "$conf" ] || { echo "vmrun: no suite '$suite' ($conf missing)" >&2; exit 2; }

l1_modules= l1_veil= l1_tests= l1_bins= l1_tools= l1_helpers= l1_mem=2048 l1_env=
l1_libvirt= l1_debs= l2_debs= l1_disk_mb=0
l2_modules= l2_veil= l2_tests= l2_bins= l2_tools= l2_helpers= l2_mem=512 l2_env=
l2_cpu=host,xsave=off
timeout=600 test_timeout=300 l2_timeout=400 l2_autoboot=yes hang_after=240
# shellcheck source=/dev/null
. "$conf"
# A debug kernel (KASAN, lockdep, kmemleak) runs several times slower
# under TCG: every limit of the suite grows by VEIL_TIMEOUT_SCALE (4).
case $kernel$l2kernel in
*-debug*)
	scale=${VEIL_TIMEOUT_SCALE:-4}
	timeout=$((timeout * scale)) test_timeout=$((test_timeout * scale))
	l2_timeout=$((l2_timeout * scale)) hang_after=$((hang_after * 2))
	for v in $(compgen -v test_timeout_); do
		eval "$v=\$((\$$v * scale))"
	done
	;;
esac
[ -z "$timeout_override" ] || timeout=$timeout_override
# VEIL_L1_CPUS: L1's vCPUs (2), for selftests/flake.sh to compare.
l1_cpus=${VEIL_L1_CPUS:-2}

# --test keeps only the named programs, at whichever level has them.
if [ ${#only[@]} -gt 0 ]; then
	keep() {
		local t o out=
		for t in $1; do
			for o in "${only[@]}"; do
				[ "$t" != "$o" ] || out="$out $t"
			done
		done
		echo "$out"
	}
	l1_tests=$(keep "$l1_tests")
	# L1 tests that boot L2 themselves need its image and programs.
	[ "$l2_autoboot" = no ] && [ -n "${l1_tests// }" ] || l2_tests=$(keep "$l2_tests")
	if [ -z "${l1_tests// }" ] && [ -z "${l2_tests// }" ]; then
		echo "vmrun: suite '$suite' has no test named ${only[*]}" >&2
		exit 2
	fi
fi

# --from runs the L1 programs from NAME on; all of them are staged (a
# later program may use an earlier one: dm_veildisk runs vcrypt_helper),
# and so are the L2 programs, which the L1 programs from NAME on may boot.
l1_run=$l1_tests
if [ -n "$from" ]; then
	l1_run=" $l1_tests "
	case $l1_run in
	*" $from "*) l1_run=" $from ${l1_run#*" $from "}" ;;
	*)
		echo "vmrun: suite '$suite' has no L1 test named $from${only[*]:+ among ${only[*]}}" >&2
		exit 2
		;;
	esac
fi
if [ $list = 1 ]; then
	echo "L1:$(printf ' %s' $l1_run)"
	echo "L2:$(printf ' %s' $l2_tests)"
	exit 0
fi

# libvirtd goes into L1 only when a program that needs it is to run.
need_libvirt=0
for t in $l1_libvirt; do
	case " $l1_run " in *" $t "*) need_libvirt=1 ;; esac
done

rel1=$("$top/scripts/kernel.sh" release "$kernel")
rel2=$("$top/scripts/kernel.sh" release "$l2kernel")
work=$top/build/vm/$kernel-$l2kernel/$suite
mkdir -p "$work"

# Modules and test programs.  A build failure is a usage-level error: the
# build checks of 'make check' report it as a failed test.
build_for() {
	local k=$1 folders=(host-kmod guest-kmod)
	[ ! -d "$top/selftests/$suite/kmod" ] || folders+=("selftests/$suite/kmod")
	"$top/scripts/build-modules.sh" "$k" "${folders[@]}" >"$work/build-$k.log" 2>&1 || {
		cat "$work/build-$k.log" >&2
		echo "vmrun: module build for $k failed" >&2
		exit 2
	}
}
build_for "$kernel"
[ "$l2kernel" = "$kernel" ] || build_for "$l2kernel"
if [ -n "${l1_debs// }${l2_debs// }" ]; then
	# veil's own Debian packages, unpacked into the images as a real
	# install would put them (built again only when the tree changed).
	"$top/scripts/deb.sh" --no-lintian >"$work/deb-build.log" 2>&1 || {
		cat "$work/deb-build.log" >&2
		echo "vmrun: building the Debian packages failed" >&2
		exit 2
	}
fi
if [ -n "${l1_tools// }${l2_tools// }" ]; then
	make -s -C "$top/tools" >"$work/tools-build.log" 2>&1 || {
		cat "$work/tools-build.log" >&2
		echo "vmrun: building the tools failed" >&2
		exit 2
	}
fi
tests_out=$top/build/selftests/$suite
make -s -C "$top/selftests/$suite" OUT="$tests_out" \
	KSFT="$top/build/linux-source/tools/testing/selftests" \
	TOP="$top" >"$work/tests-build.log" 2>&1 || {
	cat "$work/tests-build.log" >&2
	echo "vmrun: building the tests of '$suite' failed" >&2
	exit 2
}
keeper=$top/build/selftests/lib/kvm_keeper
if [ ! -x "$keeper" ] || [ "$top/selftests/lib/kvm_keeper.c" -nt "$keeper" ]; then
	mkdir -p "$(dirname "$keeper")"
	gcc -static -O2 -Wall -Wextra -Werror -o "$keeper" \
		"$top/selftests/lib/kvm_keeper.c" || {
		echo "vmrun: building kvm_keeper failed" >&2
		exit 2
	}
fi

# A panic resets L1 (which -no-reboot turns into the end) 30 s later, not
# at once: time for dump_panic below to read its vCPUs from L0's monitor.
cmdline="console=ttyS0 panic=30 loglevel=4 rdinit=/init watchdog_thresh=60"
cmdline="$cmdline rcupdate.rcu_cpu_stall_timeout=120 mitigations=off"
# A soft lockup prints the stacks of every CPU, not only the stuck one.
cmdline="$cmdline softlockup_all_cpu_backtrace=1"
# memfd_secret(), off by default on 6.1, for the tests of secret memory.
cmdline="$cmdline secretmem.enable=1"
# No early PCI scan: on an AMD CPU the kernel looks for a GART aperture
# twice by reading the config space of every bus and slot through port
# I/O, each read an exit to L1's QEMU under nested SVM.  That took 4 of
# the 8 s an L2 needed to reach /init; the emulated PC has no such bridge.
cmdline="$cmdline pci=noearly"
# A debug kernel runs on 4-level page tables.  With -cpu max (LA57) the
# kernel uses 5 levels, and identify_cpu() clears the CPU's feature bits
# for a while with interrupts on: KASAN code in an interrupt then takes
# the 5-level direct map for a wild address ("wild-memory-access in
# rcu_is_watching" at boot, both kernels, with nothing of veil loaded).
case $kernel$l2kernel in
*-debug*) cmdline="$cmdline no5lvl" ;;
esac
# VEIL_CMDLINE: more kernel parameters for both levels, to look into a
# boot (loglevel=7 shows a hung task's stack, initcall_debug each call).
[ -z "${VEIL_CMDLINE:-}" ] || cmdline="$cmdline $VEIL_CMDLINE"

# stage_level ROOT LEVEL KERNEL RELEASE MODULES VEIL TESTS BINS TOOLS HELPERS ENV DEBS [RUN]:
# the TESTS staged, the RUN of them (all by default) run
stage_level() {
	local root=$1 level=$2 k=$3 rel=$4 mods=$5 veil=$6 tests=$7 bins=$8 tools=$9
	local helpers=${10} env=${11} debs=${12} run=${13:-$7}
	local m t b names=
	rm -rf "$root"
	stage_busybox "$root"
	: >"$root/etc/veil/modules.load"
	# shellcheck disable=SC2086
	[ -z "${mods// }" ] ||
		stage_kmods "$root" "$rel" "$("$top/scripts/kernel.sh" moddir "$k")" $mods
	for m in $veil; do
		cp "$top/build/$k/src/$m" "$root/lib/veil/"
		names="$names $(basename "$m")"
	done
	for t in $tests; do
		[ -x "$tests_out/$t" ] || { echo "vmrun: test program $t was not built" >&2; exit 2; }
		cp "$tests_out/$t" "$root/tests/"
	done
	for b in $bins; do
		stage_binary "$root" "$b"
	done
	for b in $tools; do
		install -m 0755 "$top/tools/$b/$b" "$root/usr/bin/$b"
		stage_libs "$root" "$top/tools/$b/$b"
	done
	for b in $debs; do
		stage_deb "$root" "$top/build/deb" "$b" || exit 2
	done
	for b in $helpers; do
		[ -x "$tests_out/$b" ] || { echo "vmrun: helper program $b was not built" >&2; exit 2; }
		install -m 0755 "$tests_out/$b" "$root/usr/bin/$b"
	done
	install -m 0755 "$top/selftests/lib/init" "$root/init"
	[ "$level" != L1 ] || install -m 0755 "$keeper" "$root/bin/kvm_keeper"
	cat >"$root/etc/veil/vm.conf" <<CONF
VEIL_LEVEL=$level
VEIL_SUITE=$suite
VEIL_TESTS="$run"
VEIL_MODULES="${names# }"
VEIL_TEST_TIMEOUT=$test_timeout
VEIL_L2_TESTS=
VEIL_ENV="$env"
VEIL_KEEPER=${VEIL_KEEPER:-1}
VEIL_RETRIES=$([ "${VEIL_L2_NO_REPEAT:-0}" = 1 ] && echo 0 || echo 2)
CONF
	# Per-program limits: test_timeout_NAME=SECONDS in suite.conf.
	for t in $tests; do
		eval "lim=\${test_timeout_$t:-}"
		[ -z "$lim" ] || echo "VEIL_TEST_TIMEOUT_$t=$lim" >>"$root/etc/veil/vm.conf"
	done
}

want_l2=0
if [ -n "${l2_tests// }" ]; then
	want_l2=1
	stage_level "$work/l2" L2 "$l2kernel" "$rel2" "$l2_modules" "$l2_veil" "$l2_tests" \
		"$l2_bins" "$l2_tools" "$l2_helpers" "$l2_env" "$l2_debs"
	pack "$work/l2" "$work/l2.cpio"
fi

l1_mods=$l1_modules
[ $want_l2 = 0 ] || l1_mods="$l1_mods kvm_amd"
stage_level "$work/l1" L1 "$kernel" "$rel1" "$l1_mods" "$l1_veil" "$l1_tests" "$l1_bins" \
	"$l1_tools" "$l1_helpers" "$l1_env" "$l1_debs" "$l1_run"
[ $need_libvirt = 0 ] || stage_libvirt "$work/l1" || exit 2
if [ $want_l2 = 1 ]; then
	stage_qemu "$work/l1"
	mkdir -p "$work/l1/l2"
	cp "$("$top/scripts/kernel.sh" vmlinuz "$l2kernel")" "$work/l1/l2/vmlinuz"
	mv "$work/l2.cpio" "$work/l1/l2/initrd"
	cat >"$work/l1/l2/run" <<RUN
#!/bin/sh
# Boot L2 under L1's KVM; extra QEMU arguments may follow.  The trace
# says on stderr why QEMU was asked to end (reason=6: the guest powered
# off); a QEMU that ends without it was reset (a triple fault, under
# -no-reboot) or killed.  An NMI panics the guest (unknown_nmi_panic):
# how the e2e suite has a guest that stopped answering print its stack.
exec qemu-system-x86_64 -accel kvm -machine pc -cpu $l2_cpu -smp 1 -m $l2_mem \\
	-nodefaults -no-user-config -display none -serial stdio -no-reboot \\
	-trace qemu_system_shutdown_request \\
	-kernel /l2/vmlinuz -initrd /l2/initrd -append "$cmdline unknown_nmi_panic" "\$@"
RUN
	chmod +x "$work/l1/l2/run"
	# The same guest for a test that has libvirt define it from domain XML.
	cat >"$work/l1/l2/params" <<PARAMS
L2_MEM=$l2_mem
L2_CPU=$l2_cpu
L2_CMDLINE="$cmdline"
PARAMS
	cat >>"$work/l1/etc/veil/vm.conf" <<CONF
VEIL_L2_TESTS="$([ "$l2_autoboot" = no ] || echo "$l2_tests")"
VEIL_L2_TIMEOUT=$l2_timeout
CONF
fi
pack "$work/l1" "$work/l1.cpio"

echo "# vmrun: suite $suite, L1 $rel1${l2_tests:+, L2 $rel2}"
log=$work/console.log
heartbeat=$work/heartbeat
# L0's QEMU: 8.1 or later (scripts/l0-qemu.sh says why and where it is).
if ! l0_qemu=$("$top/scripts/l0-qemu.sh" argv); then
	echo "# vmrun: falling back to $(qemu-system-x86_64 --version | head -n 1): test VMs may die at random" >&2
	l0_qemu=qemu-system-x86_64
fi
mapfile -t l0_qemu <<<"$l0_qemu"
echo "# vmrun: L0 $("${l0_qemu[0]}" --version | head -n 1)"
# An L1 that ends without a word: QEMU's own log (qemu.log) has the trace
# of a shutdown request (reason 6: L1 powered off; 4: a signal).  A reset
# (L1 rebooted, panicked or triple-faulted), which -no-reboot turns into
# the end, is not traced: none logged means that.  A triple fault also
# logs "Triple fault" (-d cpu_reset; not the registers: -no-reboot skips
# the reset that would dump them).
# L0's monitor on two FIFOs (monitor.in, monitor.out): read only when L1
# hangs, for the registers of its vCPUs.
# L1 only: a task blocked for 120 s panics it (hung_task_panic).  A
# blocked task already fails the run (lib/bad_kernel.ere), and is what an
# L1 that stalls shows first (khugepaged, in one hang of the e2e suite:
# both vCPUs idle, the heartbeat silent).  At loglevel=4 the console gets
# the warning but not the task's stack, and a stalled L1 cannot be asked
# for it; with hung_task_panic the detector turns the console verbose
# before it reports, so the stack is there, and the runner reads the
# panic as any other, 2 minutes before the heartbeat's limit would.
l1_cmdline="$cmdline hung_task_panic=1"
qemu=("${l0_qemu[@]}" -machine pc,accel=tcg -cpu max -smp "$l1_cpus" -m "$l1_mem"
      -nodefaults -no-user-config -display none -serial stdio
      -serial "file:$heartbeat" -pidfile "$work/qemu.pid" -no-reboot
      -monitor "pipe:$work/monitor"
      -trace qemu_system_shutdown_request -d cpu_reset -D "$work/qemu.log"
      -kernel "$("$top/scripts/kernel.sh" vmlinuz "$kernel")"
      -initrd "$work/l1.cpio" -append "$l1_cmdline")
append_at=$((${#qemu[@]} - 1))
# A blank disk (suite.conf's l1_disk_mb): its blocks stay in this
# process, so what L1 writes to it is in no page of L1's RAM but its cache.
if [ "$l1_disk_mb" -gt 0 ]; then
	rm -f "$work/disk.img"
	truncate -s "${l1_disk_mb}M" "$work/disk.img"
	qemu+=(-drive "file=$work/disk.img,if=virtio,format=raw,cache=unsafe")
fi
# QEMU's multi-threaded TCG before 8.1 can translate guest code while
# another vCPU is patching it (text_poke_bp for a static key) and keep the
# translation: L1 then dies of "int3" in code that holds no breakpoint any
# more.  l0-qemu.sh finds a newer QEMU; where the old one runs anyway, such
# a death before L1's init has printed its first marker (it happened with
# nothing of veil loaded) boots L1 again, at most twice, and says so.  Any
# later int3 fails the run as usual.
rm -f "$log".int3-* "$log".l2-triple-fault "$log".l2-boot-stalled "$work/first.out" \
	"$work/result.first" "$work/result.earlier"
boots=1 l2_retry=0
# The registers of a hung L1's vCPUs and the instructions at each one's
# RIP, from L0's monitor, into l1-hung.txt; their RIPs on stdout.  (Which
# level's code a RIP is in says whether L1 or one of its guests was
# running: L2's kernel is at other addresses than L1's.)
dump_hung() {
	local c
	for c in $(seq 0 $((l1_cpus - 1))); do
		printf 'cpu %s\ninfo registers\nx/6i $pc\n' "$c"
	done 1<>"$work/monitor.in"	# (read-write: never waits for a reader)
	timeout 10 cat "$work/monitor.out" >"$work/l1-hung.txt" 2>/dev/null
	echo "# vmrun: the hung L1's vCPUs ($(grep -aoE '[RE]IP=[0-9a-f]+' "$work/l1-hung.txt" |
		tr '\n' ' ')in ${work#"$top"/}/l1-hung.txt)"
}
# The registers of a panicked L1's vCPUs and, for each, the lowest page
# of the stack its RSP is in (vmap'ed stacks are THREAD_SIZE-aligned:
# 16 KiB, 32 KiB with KASAN; both are read), whose first word is
# STACK_END_MAGIC (0x57ac6e9d), and that page's guest-physical address:
# into l1-panic.txt.  On stdout, per page: its first word and how many of
# its 512 words are not zero (a "corrupted stack end" panic found
# something else there: a bit flipped, a word, or a page cleared whole).
dump_panic() {
	local c rsp rsps size base
	# (stopped first: the reset panic=30 asks for would end QEMU, under
	# -no-reboot, before the last of these answers)
	echo stop 1<>"$work/monitor.in"
	for c in $(seq 0 $((l1_cpus - 1))); do
		printf 'cpu %s\ninfo registers\n' "$c"
	done 1<>"$work/monitor.in"
	timeout 5 cat "$work/monitor.out" >"$work/l1-panic.txt" 2>/dev/null
	rsps=$(grep -aoE 'RSP=[0-9a-f]+' "$work/l1-panic.txt" | cut -d= -f2)
	c=0
	for rsp in $rsps; do
		printf 'cpu %s\n' "$c"
		for size in 16384 32768; do
			[ $size = 16384 ] || [ $(( 0x$rsp & size / 2 )) != 0 ] ||
				continue	# (the same address)
			base=$(printf '0x%x' $(( 0x$rsp & ~(size - 1) )))
			printf 'gva2gpa %s\nx/512gx %s\n' "$base" "$base"
		done
		c=$((c + 1))
	done 1<>"$work/monitor.in"
	timeout 10 cat "$work/monitor.out" >>"$work/l1-panic.txt" 2>/dev/null
	echo "# vmrun: L1 panicked; its stack ends ($(tr -d '\r' <"$work/l1-panic.txt" | awk '
		/^[0-9a-f]+: 0x[0-9a-f]+ 0x[0-9a-f]+/ {
			page = substr($1, 1, 13)
			if (!(page in first)) { first[page] = $2; order[++n] = page }
			nz[page] += ($2 !~ /^0x0+$/) + ($3 !~ /^0x0+$/)
		}
		END {
			for (i = 1; i <= n; i++)
				printf "%s000: %s, %d of 512 words not zero; ", order[i],
				       first[order[i]], nz[order[i]]
		}')registers and pages in ${work#"$top"/}/l1-panic.txt)"
	# Each vCPU's whole 16 KiB stack, and the exception frames in it
	# (the words the CPU pushes: RIP, CS 0x10, RFLAGS, RSP, SS 0x18):
	# how many, and the RIP and RSP of the outermost, where the first
	# exception struck (a fault that recurs in its own handler fills the
	# stack with frames down to its end).
	c=0
	for rsp in $rsps; do
		printf 'cpu %s\nx/2048gx 0x%x\n' $c $(( 0x$rsp & ~16383 ))
		c=$((c + 1))
	done 1<>"$work/monitor.in"
	timeout 30 cat "$work/monitor.out" >"$work/l1-panic-stack.txt" 2>/dev/null
	echo "# vmrun: exception frames on L1's stacks ($(tr -d '\r' <"$work/l1-panic-stack.txt" | awk '
		function off(x,    i, v) {	# the low 14 bits of a hex address
			v = 0
			for (i = length(x) - 3; i <= length(x); i++)
				v = v * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
			return v % 16384
		}
		function frames(    o, n, top) {
			n = 0
			for (o = 0; o + 32 < 16384; o += 8)
				if (w[o + 8] == "0x0000000000000010" &&
				    w[o + 32] == "0x0000000000000018" &&
				    substr(w[o + 24], 3, 12) == substr(base, 1, 12) &&
				    off(w[o + 24]) > o) {
					n++; top = o
				}
			if (base != "")
				printf "stack %s: %d, outermost RIP %s RSP %s; ", base, n,
				       n ? w[top] : "-", n ? w[top + 24] : "-"
		}
		/^[0-9a-f]+: 0x[0-9a-f]+ 0x[0-9a-f]+/ {
			a = substr($1, 1, length($1) - 1)
			if (off(a) == 0) { frames(); base = a; split("", w) }
			w[off(a)] = $2; w[off(a) + 8] = $3
		}
		END { frames() }')in ${work#"$top"/}/l1-panic-stack.txt)"
}
while :; do
	rm -f "$heartbeat" "$work/qemu.pid" "$work/qemu.log" "$work/monitor.in" \
		"$work/monitor.out" "$work/l1-hung.txt" "$work/l1-panic.txt" \
		"$work/l1-panic-stack.txt"
	mkfifo "$work/monitor.in" "$work/monitor.out"
	start=$(date +%s)
	set +e
	if [ $verbose = 1 ]; then
		(timeout -k 10 "$timeout" "${qemu[@]}" </dev/null 2>&1 | tee "$log"
		 exit "${PIPESTATUS[0]}") &
	else
		timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$log" 2>&1 &
	fi
	qjob=$!
	# L1's /init writes a line to its second serial port every 10 s.  An L1
	# that writes none for hang_after seconds (a stall of the emulated nested
	# SVM: both vCPUs busy, nothing scheduled) is stopped now rather than at
	# the suite's limit; the run then reads "did not finish", as for a hang.
	quiet=0 seen=-1 stopped=0
	while kill -0 "$qjob" 2>/dev/null; do
		sleep 5
		# (L1's own kernel line, not a guest's console that a test quotes)
		if [ $stopped = 0 ] &&
		   grep -aEq '^\[ *[0-9]+\.[0-9]+\] Kernel panic - not syncing' "$log"; then
			dump_panic
			kill "$(cat "$work/qemu.pid" 2>/dev/null)" 2>/dev/null
			stopped=1
		fi
		size=$(stat -c %s "$heartbeat" 2>/dev/null || echo 0)
		if [ "$size" != "$seen" ]; then
			seen=$size quiet=0
			continue
		fi
		quiet=$((quiet + 5))
		if [ $quiet -ge "$hang_after" ] && [ $stopped = 0 ]; then
			echo "# vmrun: L1 wrote no heartbeat for ${quiet}s; stopping it as hung"
			dump_hung
			kill "$(cat "$work/qemu.pid" 2>/dev/null)" 2>/dev/null
			stopped=1
		fi
	done
	wait "$qjob"
	qrc=$?
	set -e
	elapsed=$(( $(date +%s) - start ))
	[ $qrc != 124 ] || echo "# vmrun: L1 killed after the ${timeout}s limit"
	echo "# vmrun: VMs ran for ${elapsed}s; console log: ${log#"$top"/}"
	# (exit status 0 with no request: a reset; else QEMU was killed)
	# (a QEMU the runner stopped logs no request either: not a reset)
	ended=$(grep -a -m1 -o 'qemu_system_shutdown_request reason=[0-9]*' "$work/qemu.log" 2>/dev/null ||
		echo "no shutdown request logged$([ $qrc != 0 ] || [ $stopped = 1 ] ||
			echo ": L1 was reset")")
	[ $stopped = 0 ] || ended="$ended; stopped by the runner"
	! grep -aq '^Triple fault' "$work/qemu.log" 2>/dev/null || ended="$ended (L1 triple-faulted)"
	echo "# vmrun: L0 QEMU exit status $qrc; $ended"
	if [ $boots -lt 3 ] && ! grep -q '@@VEIL BOOTED L1' "$log" &&
	   grep -q 'int3: 0000' "$log"; then
		cp "$log" "$log.int3-$boots"
		echo "# vmrun: L1 died of int3 before its init ran (the emulator's" \
			"text-patching race; console kept as ${log#"$top"/}.int3-$boots);" \
			"booting it again"
		boots=$((boots + 1))
		continue
	fi
	# A program of the e2e suite that found an L2 guest dead of a triple
	# fault before veil did anything to it or asked anything of it, or
	# on an instruction fetch that its own page tables allowed, or on its
	# first instruction fetch after L1 emulated a port I/O or MSR
	# instruction for it, or whose boot stalled before its init with veil
	# not involved (selftests/e2e/lib.sh, guests_gone and boot_stalled:
	# nested TCG's failures), runs again in the same boot, at most twice
	# (selftests/lib/init).  A third such failure ends the suite ("@@VEIL
	# VOID"), which is run once more here from that program on (veil.from=
	# on L1's command line; what ran before it counts from this boot, as
	# selftests/lib/resume.awk and tap.awk -v partial=1 read it), and says
	# so; a failure of any kind after that fails the suite.
	void=$(grep -a -m1 -o '@@VEIL VOID .*' "$log" | tr -d '\r' || true)
	# (VEIL_L2_NO_REPEAT=1: not repeated, for selftests/flake.sh's counts.)
	if [ $l2_retry = 0 ] && [ -n "$void" ] && [ "${VEIL_L2_NO_REPEAT:-0}" != 1 ]; then
		why=$(echo "$void" | cut -d' ' -f5-)
		case $why in
		*"boot stalled"*) what="'s boot stalled before its init, veil not involved"
			kept=l2-boot-stalled ;;
		*"before veil touched it"*) what=" triple-faulted before veil touched it"
			kept=l2-triple-fault ;;
		*"page tables allow"*) what=" triple-faulted on a fetch its own page tables allow"
			kept=l2-triple-fault ;;
		*) what=" triple-faulted on its first fetch after a port I/O or MSR exit"
			kept=l2-triple-fault ;;
		esac
		cp "$log" "$log.$kept"
		name=$(echo "$void" | cut -d' ' -f4)
		again="running the suite again"
		if "$top/selftests/lib/resume.sh" --void "$log" "$work/result.first" \
			>"$work/first.out" &&
		   read -r _ _ _ at <"$work/result.first" && [ "$at" = "$name" ]; then
			qemu[append_at]="$l1_cmdline veil.from=$name"
			again="$again from $name on (what ran before it counts from this boot)"
		else
			rm -f "$work/result.first" "$work/first.out"
		fi
		echo "# vmrun: an L2 guest$what" \
			"($why; the third such failure in this boot;" \
			"console kept as ${log#"$top"/}.$kept); $again"
		l2_retry=1
		continue
	fi
	break
done

# An L2 that the runner boots must boot and finish; one that an L1 program
# boots itself (l2_autoboot=no) is that program's to judge.
expect_l2=$want_l2
[ "$l2_autoboot" != no ] || expect_l2=0
if [ -f "$work/result.first" ]; then
	# the programs before the voided one, from the boot before, then this
	# boot's; one count for both
	echo "# vmrun: counted from the boot before:"
	sed '$d' "$work/first.out"
	echo "# vmrun: this boot:"
	awk -v want_l2=$expect_l2 -v result="$work/result.last" \
		-v bad_re_file="$top/selftests/lib/bad_kernel.ere" \
		-f "$top/selftests/lib/tap.awk" "$log" | sed '$d'
	read -r p1 f1 s1 _ <"$work/result.first"
	read -r p2 f2 s2 <"$work/result.last"
	echo "$((p1 + p2)) $((f1 + f2)) $((s1 + s2))" >"$work/result"
	echo "$((p1 + p2)) passed, $((f1 + f2)) failed, $((s1 + s2)) skipped"
	# If this boot's L1 died in turn, check.sh runs the suite again from
	# where it died, and counts the boot before's programs from here.
	echo "$p1 $f1 $s1" >"$work/result.earlier"
	rm -f "$work/result.first" "$work/result.last" "$work/first.out"
else
	awk -v want_l2=$expect_l2 -v result="$work/result" \
		-v bad_re_file="$top/selftests/lib/bad_kernel.ere" \
		-f "$top/selftests/lib/tap.awk" "$log"
fi
read -r _ failed _ <"$work/result"
[ "$failed" = 0 ]
