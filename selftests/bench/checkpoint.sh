#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Checkpoint wall time veil / plain for a guest with 25 % of its RAM
# excluded (goal <= 1.02), and checkpoint size shrink per excluded byte
# (goal >= 0.95).  One L1, one L2, plain and veil rounds alternating.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
k=${KERNEL:-6.1}
"$top/selftests/vmrun.sh" --suite bench_ckpt --kernel "$k" >/dev/null 2>&1
log=$top/build/vm/$k-$k/bench_ckpt/console.log
grep -a '@@BENCH' "$log" | tr -d '\r' | sed 's/.*@@BENCH //' | awk '
	{ n[$1]++; t[$1] += $2; b[$1] += $3; if ($4 > 0) pages = $4 }
	END {
		if (!n["plain"] || !n["veil"]) {
			print "checkpoint: no measurements (see the console log)"
			exit 1
		}
		tp = t["plain"] / n["plain"]; tv = t["veil"] / n["veil"]
		bp = b["plain"] / n["plain"]; bv = b["veil"] / n["veil"]
		printf "%-34s %12s %12s %8s\n", "", "plain", "veil", "ratio"
		printf "%-34s %12.2f %12.2f %8.3f  (goal <= 1.02)\n", \
			"checkpoint time (s, mean of " n["veil"] ")", tp, tv, tv / tp
		printf "%-34s %12d %12d\n", "checkpoint size (bytes)", bp, bv
		if (pages > 0)
			printf "%-34s %12s %12d %8.3f  (goal >= 0.95)\n", \
				"excluded bytes, size shrink/byte", "", pages * 4096, \
				(bp - bv) / (pages * 4096)
	}'
