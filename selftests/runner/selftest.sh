#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The runner proves it can fail: a planted failing test, and a planted WARN
# under a test that passes, must each make vmrun.sh fail and say why.
# Prints TAP; exits non-zero if the runner missed either.
#
#   selftests/runner/selftest.sh 6.1
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
k=${1:-6.1}
n=0 bad=0

# expect NAME DESCRIPTION PATTERN...: vmrun on test NAME must exit 1 and
# print every PATTERN (extended regular expressions).
expect() {
	local name=$1 desc=$2 out rc p ok=1
	shift 2
	out=$("$top/selftests/vmrun.sh" --suite runner --kernel "$k" --test "$name" 2>&1)
	rc=$?
	[ $rc = 1 ] || { ok=0; echo "# vmrun exited $rc, expected 1"; }
	for p in "$@"; do
		grep -Eq -- "$p" <<<"$out" || { ok=0; echo "# missing in the runner's output: $p"; }
	done
	n=$((n + 1))
	if [ $ok = 1 ]; then
		echo "ok $n runner $k: $desc"
	else
		bad=$((bad + 1))
		echo "not ok $n runner $k: $desc"
		sed 's/^/#   /' <<<"$out" | tail -n 40
	fi
}

echo "TAP version 13"
echo "1..2"
expect planted_failure "a planted failing test fails the run" \
	'^not ok L1 planted_failure: global.planted_failure_must_fail_the_run' \
	'^0 passed, 1 failed'
expect planted_warn "a planted WARN fails a run whose tests all pass" \
	'^ok L1 planted_warn: global.module_that_warns_loads_and_unloads' \
	'^not ok L1 planted_warn: kernel log: .*WARNING' \
	'^1 passed, 1 failed'
[ $bad = 0 ]
