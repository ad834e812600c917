#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# smoke.sh: build the fuzz targets and run each on a fixed number of inputs
# grown from its seeds, with a fixed random seed (what 'make check' runs).
# Prints "ok fuzz <target>" or "not ok fuzz <target>" for each, and exits 1
# if any failed.
#
#   FUZZ_RUNS=20000 selftests/fuzz/smoke.sh
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/selftests/fuzz
out=$top/build/fuzz
runs=${FUZZ_RUNS:-20000}
rc=0

mkdir -p "$out"
if ! make -s -C "$here" OUT="$out" >"$out/build.log" 2>&1; then
	echo "not ok fuzz build (log: ${out#"$top"/}/build.log)"
	tail -n 30 "$out/build.log" | sed 's/^/  | /'
	exit 1
fi

for t in $(make -s --no-print-directory -C "$here" targets); do
	work=$out/smoke/$t
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	# New inputs go to a scratch corpus: the seeds stay as they are.
	if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$out/fuzz_$t" -runs="$runs" -seed=1 -timeout=10 -max_total_time=300 \
		-artifact_prefix="$work/artifacts/" "$work/corpus" "$here/corpus/$t" \
		>"$work/log" 2>&1; then
		sed -n "s/^#[0-9]*[[:space:]]*DONE[[:space:]]*/# fuzz $t: /p" "$work/log"
		echo "ok fuzz $t"
	else
		echo "not ok fuzz $t (log: ${work#"$top"/}/log)"
		grep -v '^INFO:' "$work/log" | tail -n 30 | sed 's/^/  | /'
		rc=1
	fi
done
exit $rc
