#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# flake.sh: how often the test bed itself fails.  Runs one program of a
# suite ROUNDS times under each VARIANT, the variants taking turns run by
# run (so that a machine that gets busier meanwhile weighs on all of them
# alike), and counts the runs that failed and how: L1 hung, L1 oopsed or
# panicked, L1 reset (triple fault), an L2 guest triple-faulted.  vmrun.sh
# is told not to run a suite again after an L2 triple fault it takes for
# the test bed's: here every boot counts once.
#
#   selftests/flake.sh [-s SUITE] [-t TEST] [-k KERNEL] [-l L2KERNEL]
#                      [-n ROUNDS] [VARIANT...]
#
# A VARIANT is what vmrun.sh is run with: environment assignments joined
# by commas ("VEIL_L1_CPUS=1", "VEIL_KEEPER=0,VEIL_L1_CPUS=2"), or "-"
# for none.  Defaults: the infra suite's kvm_host on 6.12, 20 rounds, the
# variants VEIL_KEEPER=0 and VEIL_KEEPER=1.  The failed runs' consoles are
# kept beside the suite's console log as console.log.flake-V-N, with
# vmrun's output (.vmrun) and what it read from L0's monitor of a hung or
# panicked L1 (l1-hung.txt.flake-V-N, l1-panic.txt.flake-V-N,
# l1-panic-stack.txt.flake-V-N).  Examples:
#
#   selftests/flake.sh 6.12 20                  (the old form: keeper off/on)
#   selftests/flake.sh -s e2e -t veilctl_protected -k 6.12 -l 6.1 \
#           VEIL_L1_CPUS=2 VEIL_L1_CPUS=1
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
suite=infra test=kvm_host kernel=6.12 l2kernel='' rounds=20
# The old positional form: KERNEL [ROUNDS [KEEPERS]].
if [ $# -gt 0 ] && [[ $1 != -* ]] && [[ $1 != *=* ]] && [ "$1" != - ]; then
	kernel=$1 rounds=${2:-20}
	mapfile -t old < <(for k in ${3:-0 1}; do echo "VEIL_KEEPER=$k"; done)
	set -- "${old[@]}"
fi
usage() { sed -n '/^# flake.sh/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while getopts s:t:k:l:n:h opt; do
	case $opt in
	s) suite=$OPTARG ;;
	t) test=$OPTARG ;;
	k) kernel=$OPTARG ;;
	l) l2kernel=$OPTARG ;;
	n) rounds=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- VEIL_KEEPER=0 VEIL_KEEPER=1
variants=("$@")
: "${l2kernel:=$kernel}"
log=$top/build/vm/$kernel-$l2kernel/$suite/console.log

declare -A bad hung oops reset l2tf secs
for v in "${variants[@]}"; do
	bad[$v]=0 hung[$v]=0 oops[$v]=0 reset[$v]=0 l2tf[$v]=0 secs[$v]=0
done
echo "# flake: $suite/$test on L1 $kernel, L2 $l2kernel; L0 $("$top/scripts/l0-qemu.sh" argv | head -n 1)"
for i in $(seq 1 "$rounds"); do
	for v in "${variants[@]}"; do
		envs=()
		[ "$v" = - ] || IFS=, read -r -a envs <<<"$v"
		start=$(date +%s)
		out=$(env "${envs[@]}" VEIL_L2_NO_REPEAT=1 "$top/selftests/vmrun.sh" \
			--suite "$suite" --kernel "$kernel" --l2-kernel "$l2kernel" \
			--test "$test" 2>&1)
		rc=$?
		secs[$v]=$((secs[$v] + $(date +%s) - start))
		how=
		if [ $rc != 0 ]; then
			bad[$v]=$((bad[$v] + 1))
			# The runner says "did not finish" of any L1 death; only
			# vmrun's heartbeat watchdog says it was hung.
			if grep -q 'stopping it as hung' <<<"$out"; then
				hung[$v]=$((hung[$v] + 1)) how="$how L1-hung"
			fi
			# A panic resets L1 (panic=30, or vmrun stops it first),
			# which -no-reboot turns into the end vmrun calls a
			# reset: a reset counts only when L1 printed no oops or
			# panic.
			if grep -Eq 'Oops|int3: 0000|BUG:|Kernel panic' "$log"; then
				oops[$v]=$((oops[$v] + 1)) how="$how L1-oops"
			elif grep -q 'L1 was reset\|L1 triple-faulted' <<<"$out"; then
				reset[$v]=$((reset[$v] + 1)) how="$how L1-reset"
			fi
			if grep -aq 'kvm_exit: vcpu [0-9]* reason shutdown' "$log"; then
				l2tf[$v]=$((l2tf[$v] + 1)) how="$how L2-triple-fault"
			fi
			tag=flake-${v//[^A-Za-z0-9_=]/_}-$i
			cp "$log" "$log.$tag"
			# vmrun's own words, and what it read of a hung or
			# panicked L1 (its next run deletes them)
			printf '%s\n' "$out" >"$log.$tag.vmrun"
			for f in l1-hung.txt l1-panic.txt l1-panic-stack.txt; do
				[ ! -e "${log%/*}/$f" ] || cp "${log%/*}/$f" "${log%/*}/$f.$tag"
			done
		fi
		echo "# $v run $i: rc $rc${how:+ (${how# })}, $(($(date +%s) - start)) s"
	done
done
for v in "${variants[@]}"; do
	echo "$v: ${bad[$v]} of $rounds runs failed (${hung[$v]} L1 hung," \
		"${oops[$v]} L1 oops or panic, ${reset[$v]} L1 reset," \
		"${l2tf[$v]} L2 triple fault); $((secs[$v] / rounds)) s a run"
done
