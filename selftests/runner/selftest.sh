#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The runner proves it can fail: a planted failing test, and a planted WARN
# under a test that passes, must each make vmrun.sh fail and say why.  All
# run in one boot of L1 (a boot costs more than the programs), so the
# WARN must also be charged to the program that caused it and to no other.
# A third program asks to be run again after its first attempt (as an e2e
# program does when the test bed failed under it): that attempt's results
# must be set aside, its WARN still charged, and the second attempt must
# find what the first left behind cleaned up.  A fourth program, in a boot
# of its own, makes L1 panic from a page fault in kernel mode: the runner
# must fail the run, say that L1 panicked, and find the fault's exception
# frame on the stack it reads from L0's monitor.  A fifth, in a third
# boot, leaves a task blocked past the hung-task limit: L1 must panic
# (hung_task_panic), and its console show that task's stack.
# Prints TAP; exits non-zero if the runner missed anything.
#
#   selftests/runner/selftest.sh 6.1
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
k=${1:-6.1}
n=0 bad=0

out=$("$top/selftests/vmrun.sh" --suite runner --kernel "$k" \
	--test planted_failure --test planted_warn --test planted_void 2>&1)
rc=$?

# check DESCRIPTION yes|no PATTERN: the runner's output has (or has not) a
# line matching the extended regular expression PATTERN.
check() {
	local desc=$1 want=$2 p=$3 has=no
	grep -Eq -- "$p" <<<"$out" && has=yes
	n=$((n + 1))
	if [ $has = "$want" ]; then
		echo "ok $n runner $k: $desc"
	else
		bad=$((bad + 1))
		echo "not ok $n runner $k: $desc"
		echo "#   expected $([ "$want" = yes ] || echo "no ")line matching: $p"
	fi
}

# exits_one DESCRIPTION: the run just made exited 1 ($rc).
exits_one() {
	n=$((n + 1))
	if [ "$rc" = 1 ]; then
		echo "ok $n runner $k: $1"
	else
		bad=$((bad + 1))
		echo "not ok $n runner $k: $1 (saw $rc)"
	fi
}

echo "TAP version 13"
echo "1..20"
n=0
exits_one "a run with planted failures exits 1"
check "a planted failing test fails the run" yes \
	'^not ok L1 planted_failure: global.planted_failure_must_fail_the_run'
check "a test that passes is counted as passed" yes \
	'^ok L1 planted_warn: global.module_that_warns_loads_and_unloads'
check "a planted WARN fails the program whose module caused it" yes \
	'^not ok L1 planted_warn: kernel log: .*WARNING'
check "the WARN is not charged to the program before it" no \
	'^not ok L1 planted_failure: kernel log'
check "a voided attempt's failure is set aside" yes \
	'^# void\| not ok L1 planted_void: planted: the test bed failed'
check "and is not counted" no '^not ok L1 planted_void: planted'
check "a voided attempt's WARN is still charged to it" yes \
	'^not ok L1 planted_void: kernel log: .*WARNING'
check "the program ran again, and says why" yes \
	'^# retried: L1 planted_void: ran again, .*: planted: the test bed failed under it'
check "its second attempt found what the first left cleaned up" yes \
	'^ok L1 planted_void: the first attempt.s request to run again is gone'
check "the suite did not run again" no '^# vmrun: an L2 guest'
check "the count says five passed, three failed" yes '^5 passed, 3 failed'
if [ $bad != 0 ]; then
	echo "# the runner's output ended:"
	tail -n 40 <<<"$out" | sed 's/^/#   /'
fi

bad1=$bad
out=$("$top/selftests/vmrun.sh" --suite runner --kernel "$k" --test planted_panic 2>&1)
rc=$?
exits_one "a run whose L1 panics exits 1"
check "and does not finish" yes '^not ok L1: did not finish'
check "the runner says L1 panicked and reads its stacks' ends" yes \
	'^# vmrun: L1 panicked; its stack ends \([0-9a-f]+000: 0x'
check "it finds the page fault's exception frame on the stack" yes \
	"^# vmrun: exception frames on L1's stacks \\(.*stack [0-9a-f]+: [1-9][0-9]*, outermost RIP 0xffffffff"
if [ $bad != "$bad1" ]; then
	echo "# the runner's output ended:"
	tail -n 40 <<<"$out" | sed 's/^/#   /'
fi

bad2=$bad
out=$("$top/selftests/vmrun.sh" --suite runner --kernel "$k" --test planted_hang 2>&1)
rc=$?
exits_one "a run whose L1 has a task blocked past the limit exits 1"
check "the blocked task fails its program" yes \
	'^not ok L1 planted_hang: .*INFO: task .* blocked for more than'
check "and panics L1, which the runner says" yes '^# vmrun: L1 panicked'
# The stack of the blocked task, which loglevel=4 keeps off the console
# unless hung_task_panic is set.
console=$top/build/vm/$k-$k/runner/console.log
out=$(tr -d '\r' <"$console" 2>/dev/null | grep -av '^@@' | grep -a -A 40 'INFO: task .* blocked for more than')
check "L1's console has the blocked task's stack, at the planted module's init" yes \
	'veil_plant_warn_init\+0x'
if [ $bad != "$bad2" ]; then
	echo "# L1's console after the blocked task's report:"
	head -n 40 <<<"$out" | sed 's/^/#   /'
fi
[ $bad = 0 ]
