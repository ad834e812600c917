#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What check.sh does with an L1 that did not finish, on the build machine
# against made-up console logs: resume.awk names the L1 program L1 died
# inside (and nothing when it died booting, between programs, in the L2
# run or after the end) and, for vmrun.sh, the program that voided a
# boot's suite; resume.sh counts with tap.awk -v partial=1 what ran before
# that program (failures included, and a voided boot's before it) and does
# not ask L1 to finish, and vmrun.sh --from picks the L1 programs from
# there on with every L2 program.
# Prints TAP; exits 1 when a check fails.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0 bad=0

check() {	# check DESCRIPTION EXPECTED ACTUAL
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n $1"
	else
		bad=$((bad + 1))
		echo "not ok $n $1"
		echo "#   expected '$2', saw '$3'"
	fi
}

resume() { awk -f "$top/selftests/lib/resume.awk" "$1"; }

# partial LOG [EARLIER]: what resume.sh counts of LOG (and EARLIER) up to
# the program L1 died inside, and that program: "P F S NAME", or its exit
# status when it found none
partial() {
	"$top/selftests/lib/resume.sh" "$1" "$dir/result" ${2:+"$2"} >"$dir/partial.out" ||
		{ echo "exit $? $([ -e "$dir/result" ] && echo "with" || echo "without") a result"; return; }
	cat "$dir/result"
}

# prog NAME [RC]: a program's lines on an L1 console, one result each
prog() {
	echo "@@VEIL BEGIN L1 $1"
	echo "TAP version 13"
	if [ "${2:-0}" = 0 ]; then
		echo "ok 1 $1 passed"
	else
		echo "not ok 1 $1 failed"
	fi
	echo "@@VEIL END L1 $1 ${2:-0} 10 900"
}

echo "TAP version 13"
echo "1..20"

# L1 reset inside the third program, after two programs, one of which
# failed (the failure must count) and one of which the kernel charged.
{
	printf '[    0.000000] Linux version 6.1.0\r\n'
	echo "@@VEIL BOOTED L1 6.1.0"
	prog one
	prog two 1
	echo "@@KLOG L1 two: [   12.000000] WARNING: CPU: 1 PID: 7 at x.c:1 f+0x1/0x2"
	echo "@@VEIL BEGIN L1 three"
	echo "ok 1 three: a result of the run that died"
	echo "[   40.000000] Kernel panic - not syncing: stack-protector"
} >"$dir/died.log"
check "an L1 dead inside a program: that program and the line it began on" \
	"three 12" "$(resume "$dir/died.log")"
check "the programs before it count, their failures included" \
	"1 2 0 three" "$(partial "$dir/died.log")"
check "and L1 is not asked to have finished" \
	no "$(grep -q 'did not finish' "$dir/partial.out" && echo yes || echo no)"
check "a whole read of the same log still fails it for not finishing" \
	yes "$(awk -v bad_re_file="$top/selftests/lib/bad_kernel.ere" \
		-f "$top/selftests/lib/tap.awk" "$dir/died.log" |
		grep -q '^not ok L1: did not finish' && echo yes || echo no)"

# The program had asked to run again once (the test bed failed under
# it) and died in its second attempt: the first attempt's results are
# set aside, what the kernel logged meanwhile still counts.
{
	echo "@@VEIL BOOTED L1 6.12.0"
	prog one
	echo "@@VEIL BEGIN L1 two"
	echo "ok 1 two: a first attempt's result"
	echo "@@VEIL END L1 two 1 10 900"
	echo "@@KLOG L1 two: [    9.000000] BUG: kernel NULL pointer dereference, address: 0"
	echo "@@VEIL RETRY L1 two guest vm1 triple-faulted"
	echo "@@VEIL BEGIN L1 two"
	echo "ok 1 two: a second attempt's result"
} >"$dir/retry.log"
check "an L1 dead in a program's second attempt: its last start" \
	"two 11" "$(resume "$dir/retry.log")"
check "the first attempt is set aside, its kernel report kept" \
	"1 1 0 two" "$(partial "$dir/retry.log")"

# Nowhere to resume from: L1 dead before its first program, between two
# programs, in the L2 run of the suite, after a void or after its end.
{
	echo "@@VEIL BOOTED L1 6.1.0"
	echo "[    3.000000] Kernel panic - not syncing: Fatal exception"
} >"$dir/boot.log"
check "an L1 dead before its first program: no program to resume from" \
	"" "$(resume "$dir/boot.log")"
echo "7 7 7 stale" >"$dir/result"
check "... so nothing counts: resume.sh fails and leaves no result" \
	"exit 1 without a result" "$(partial "$dir/boot.log" "$dir/earlier.none")"
{ echo "@@VEIL BOOTED L1 6.1.0"; prog one; prog two; } >"$dir/between.log"
check "an L1 dead between two programs: none" "" "$(resume "$dir/between.log")"
{
	echo "@@VEIL BOOTED L1 6.1.0"
	prog one
	echo "@@VEIL BEGIN L1 l2-boot"
	echo "@@VEIL BOOTED L2 6.1.0"
} >"$dir/l2.log"
check "an L1 dead while the suite's L2 runs: none" "" "$(resume "$dir/l2.log")"
{
	echo "@@VEIL BOOTED L1 6.1.0"
	prog one 1
	echo "@@VEIL VOID L1 one guest vm1 triple-faulted"
	echo "@@VEIL BEGIN L1 two"
} >"$dir/void.log"
check "an L1 dead after a void: none" "" "$(resume "$dir/void.log")"

# A void (a third failure of the test bed in one boot): vmrun.sh boots
# again from the program that voided it, whose last start is wanted.
{
	echo "@@VEIL BOOTED L1 6.1.0"
	prog one
	echo "@@VEIL BEGIN L1 two"
	echo "@@VEIL END L1 two 1 10 900"
	echo "@@VEIL RETRY L1 two guest vm1 triple-faulted"
	echo "@@VEIL BEGIN L1 two"
	echo "@@VEIL END L1 two 1 10 900"
	echo "@@VEIL VOID L1 two guest vm1 triple-faulted"
	echo "# skipped three: the suite runs again"
	echo "@@VEIL DONE L1"
} >"$dir/voided.log"
check "a void: the program that voided the suite and its last start" \
	"two 9" "$(awk -v void=1 -f "$top/selftests/lib/resume.awk" "$dir/voided.log")"
check "a run without a void: none" "" \
	"$(awk -v void=1 -f "$top/selftests/lib/resume.awk" "$dir/died.log")"
{ echo "@@VEIL BOOTED L1 6.1.0"; prog one; echo "@@VEIL DONE L1"; } >"$dir/done.log"
check "an L1 that reached its end: none" "" "$(resume "$dir/done.log")"

# An L1 dead in a boot that began after a void: the programs of the boot
# before, which vmrun.sh counted but this boot's console does not show,
# count too (vmrun.sh kept them), as do the programs of this boot before
# the one it died in.
echo "5 1 2" >"$dir/earlier"
check "an L1 dead after a void's new boot: the boot before's programs count too" \
	"6 3 2 three" "$(partial "$dir/died.log" "$dir/earlier")"
check "... but not where the whole suite runs again" \
	"exit 1 without a result" "$(partial "$dir/between.log" "$dir/earlier")"
check "a void's count, as vmrun.sh takes it: that boot's programs before it" \
	"1 0 0 two" "$("$top/selftests/lib/resume.sh" --void "$dir/voided.log" "$dir/result" >/dev/null &&
		cat "$dir/result")"

# vmrun.sh --from, as check.sh calls it (--list: no VM boots).
list() { "$top/selftests/vmrun.sh" --suite "$1" --from "$2" --list 2>&1 | tr '\n' ' '; }
check "--from keeps the L1 programs from the named one on, and every L2 one" \
	"L1: veilctl_killed veilctl_libvirt L2: serve_host " "$(list e2e veilctl_killed)"
check "--from the last program keeps it alone" \
	"L1: dm_l2_disk L2: dm_l2_guest " "$(list dm dm_l2_disk)"
out=$("$top/selftests/vmrun.sh" --suite e2e --from no_such_program --list 2>&1)
check "--from a program the suite does not have is refused, and says so" \
	"2 yes" "$? $(grep -q "has no L1 test named no_such_program" <<<"$out" && echo yes || echo no)"

[ $bad = 0 ]
