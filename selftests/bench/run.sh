#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: what 'make bench' runs.  Runs every selftests/bench/*.sh (each
# boots the VMs it needs and prints its own table) and reports which failed.
# Benchmarks measure; they do not pass or fail on speed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ran=0 bad=0
for b in "$here"/*.sh; do
	[ "$(basename "$b")" != run.sh ] || continue
	echo "== $(basename "$b" .sh)"
	ran=$((ran + 1))
	"$b" || { bad=$((bad + 1)); echo "bench: $(basename "$b") did not complete"; }
done
[ $ran -gt 0 ] || echo "bench: no benchmarks under selftests/bench/ yet"
[ $bad = 0 ]
