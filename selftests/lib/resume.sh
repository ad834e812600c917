#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# resume.sh [--void] CONSOLE RESULT [EARLIER]: where a suite whose run
# stopped short runs again from, and what of that run counts.
#
# CONSOLE is the console log of an L1 that did not finish (check.sh) or,
# with --void, of one whose suite was voided (vmrun.sh): resume.awk names
# the L1 program to run again from.  When there is one, the programs
# before it count: tap.awk -v partial=1 reads the lines before that
# program's last start, prints their results on stdout, and RESULT gets
# "PASSED FAILED SKIPPED NAME".  EARLIER, when that file exists, holds
# "PASSED FAILED SKIPPED" of a boot before CONSOLE's that was voided and
# whose programs CONSOLE's boot did not run again (vmrun.sh keeps it):
# they count too.  Exits 1, with RESULT removed, when the run stopped
# anywhere else (then the whole suite runs again, and nothing counts).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
void=0
if [ "${1:-}" = --void ]; then
	void=1
	shift
fi
[ $# -ge 2 ] || { echo "usage: resume.sh [--void] CONSOLE RESULT [EARLIER]" >&2; exit 2; }
console=$1 result=$2 earlier=${3:-}

rm -f "$result"
at=$(awk -v void=$void -f "$top/selftests/lib/resume.awk" "$console") || exit 1
[ -n "$at" ] || exit 1
head -n "$((${at#* } - 1))" "$console" |
	awk -v partial=1 -v result="$result.tap" \
		-v bad_re_file="$top/selftests/lib/bad_kernel.ere" \
		-f "$top/selftests/lib/tap.awk" || { rm -f "$result.tap"; exit 1; }
read -r p f s <"$result.tap" || { rm -f "$result.tap"; exit 1; }
rm -f "$result.tap"
if [ -n "$earlier" ] && [ -f "$earlier" ]; then
	read -r p0 f0 s0 _ <"$earlier" || exit 1
	p=$((p + p0)) f=$((f + f0)) s=$((s + s0))
fi
echo "$p $f $s ${at% *}" >"$result"
