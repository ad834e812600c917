#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dm-veilcrypt against dm-crypt: fio on two RAM disks (brd, which
# completes bios synchronously, and null_blk, which completes them from an
# interrupt as a disk does) in one L1 run per kernel (see
# selftests/dm/dm_bench.sh), aes-xts-plain64, 4096-byte sectors: read and
# write, 4 KiB and 1 MiB, 1 and 2 jobs, queue depth 1 and 32.  Prints
# MB/s and the VM's CPU time per byte for each device, and veilcrypt's
# ratio to the best dm-crypt setting and to dm-crypt as it
# comes (goals: at least 1.0 and 1.1).
#
#   KERNEL=6.12 selftests/bench/dm_veilcrypt.sh     (default: 6.1 and 6.12)
#   VEIL_BENCH_SECS=5 ...                           (seconds per run, default 3)
#   VEIL_BENCH_ONLY=write-4k ...                    (workloads named so only)
#
# Under TCG the absolute numbers say little about real hardware; the ratios
# compare the I/O paths on the same emulated CPUs.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
for k in ${KERNEL:-6.1 6.12}; do
	VEIL_BENCH=1 VEIL_BENCH_SECS=${VEIL_BENCH_SECS:-3} VEIL_BENCH_ONLY=${VEIL_BENCH_ONLY:-all} \
		"$top/selftests/vmrun.sh" --suite dm --kernel "$k" >/dev/null 2>&1 || rc=1
	log=$top/build/vm/$k-$k/dm/console.log
	tr -d '\r' <"$log" | awk -v k="$k" '
	$1 == "@@BENCH" {
		split($2, dl, "@")
		if (!(dl[2] in seen)) { seen[dl[2]] = 1; lowers[++nl] = dl[2] }
		v[dl[2], dl[1], $3] = $4; c[dl[2], dl[1], $3] = $5
	}
	$1 == "@@BENCHNOTE" { $1 = ""; notes = notes "#" $0 "\n" }
	function ratio(a, b) { return a != "" && b > 0 ? sprintf("%.2f", a / b) : "-" }
	function cell(l, d, w) { return v[l, d, w] == "" ? "-" : v[l, d, w] "/" c[l, d, w] }
	function table(l,    i, rw, bs, j, q, w, best, r1, r2, miss1, miss2, rows, rws, bss) {
		printf "\ndm-veilcrypt bench, kernel %s, on %s, aes-xts-plain64, 4096-byte sectors\n", k, l
		print "# cells: MB/s / CPU ns per byte (whole VM); vc = veilcrypt, best = best dm-crypt"
		printf "%-18s %11s %11s %11s %11s %11s %8s %8s\n", "workload", "raw",
		       "dm-crypt", "dmc-nowq", "veilcrypt", "vc-nosplit", "vc/best", "vc/dmc"
		split("read write", rws, " "); split("4k 1m", bss, " ")
		for (i = 1; i <= 16; i++) {
			rw = rws[int((i - 1) / 8) + 1]; bs = bss[int((i - 1) / 4) % 2 + 1]
			j = int((i - 1) / 2) % 2 + 1; q = (i - 1) % 2 ? 32 : 1
			w = rw "-" bs "-j" j "-qd" q
			best = v[l, "dm-crypt", w] + 0
			if (v[l, "dm-crypt-nowq", w] + 0 > best) best = v[l, "dm-crypt-nowq", w] + 0
			r1 = ratio(v[l, "veilcrypt", w], best); r2 = ratio(v[l, "veilcrypt", w], v[l, "dm-crypt", w])
			if (r1 != "-") rows++
			if (r1 != "-" && r1 < 1.0) miss1++
			if (r2 != "-" && r2 < 1.1) miss2++
			printf "%-18s %11s %11s %11s %11s %11s %8s %8s\n", w, cell(l, "raw", w),
			       cell(l, "dm-crypt", w), cell(l, "dm-crypt-nowq", w), cell(l, "veilcrypt", w),
			       cell(l, "veilcrypt-nosplit", w), r1, r2
		}
		printf "rows below goal on %s: %d of %d under 1.0x best dm-crypt, %d of %d under 1.1x dm-crypt\n",
		       l, miss1, rows, miss2, rows
	}
	END {
		if (!nl) { print "dm bench: no results (see " FILENAME ")"; exit 1 }
		printf "\ndm-veilcrypt bench, kernel %s\n%s", k, notes
		for (i = 1; i <= nl; i++)
			table(lowers[i])
	}' || rc=1
done
exit $rc
