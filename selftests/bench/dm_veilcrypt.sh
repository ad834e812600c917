#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dm-veilcrypt against dm-crypt: fio on a brd ramdisk in one L1 run per
# kernel (see selftests/dm/dm_bench.sh), aes-xts-plain64, 4096-byte
# sectors: read and write, 4 KiB and 1 MiB, 1 and 2 jobs, queue depth 1
# and 32.  Prints MB/s and the VM's CPU time per byte for each device, and
# veilcrypt's ratio to the best dm-crypt setting and to dm-crypt as it
# comes (goals: at least 1.0 and 1.1).
#
#   KERNEL=6.12 selftests/bench/dm_veilcrypt.sh     (default: 6.1 and 6.12)
#   VEIL_BENCH_SECS=5 ...                           (seconds per run, default 3)
#
# Under TCG the absolute numbers say little about real hardware; the ratios
# compare the I/O paths on the same emulated CPUs.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
for k in ${KERNEL:-6.1 6.12}; do
	VEIL_BENCH=1 VEIL_BENCH_SECS=${VEIL_BENCH_SECS:-3} \
		"$top/selftests/vmrun.sh" --suite dm --kernel "$k" >/dev/null 2>&1 || rc=1
	log=$top/build/vm/$k-$k/dm/console.log
	tr -d '\r' <"$log" | awk -v k="$k" '
	$1 == "@@BENCH" { v[$2, $3] = $4; c[$2, $3] = $5; seen = 1 }
	$1 == "@@BENCHNOTE" { $1 = ""; notes = notes "#" $0 "\n" }
	function ratio(a, b) { return a != "" && b > 0 ? sprintf("%.2f", a / b) : "-" }
	function cell(d, w) { return v[d, w] == "" ? "-" : v[d, w] "/" c[d, w] }
	END {
		if (!seen) { print "dm bench: no results (see " FILENAME ")"; exit 1 }
		printf "\ndm-veilcrypt bench, kernel %s, aes-xts-plain64, 4096-byte sectors, brd\n", k
		printf "%s", notes
		print "# cells: MB/s / CPU ns per byte (whole VM); vc = veilcrypt, best = best dm-crypt"
		printf "%-18s %11s %11s %11s %11s %11s %8s %8s\n", "workload", "raw",
		       "dm-crypt", "dmc-nowq", "veilcrypt", "vc-nosplit", "vc/best", "vc/dmc"
		n = 0
		for (i = 1; i <= 16; i++) {
			split("read write", rws, " "); split("4k 1m", bss, " ")
			rw = rws[int((i - 1) / 8) + 1]; bs = bss[int((i - 1) / 4) % 2 + 1]
			j = int((i - 1) / 2) % 2 + 1; q = (i - 1) % 2 ? 32 : 1
			w = rw "-" bs "-j" j "-qd" q
			best = v["dm-crypt", w] + 0
			if (v["dm-crypt-nowq", w] + 0 > best) best = v["dm-crypt-nowq", w] + 0
			r1 = ratio(v["veilcrypt", w], best); r2 = ratio(v["veilcrypt", w], v["dm-crypt", w])
			if (r1 != "-" && r1 < 1.0) miss1++
			if (r2 != "-" && r2 < 1.1) miss2++
			printf "%-18s %11s %11s %11s %11s %11s %8s %8s\n", w, cell("raw", w),
			       cell("dm-crypt", w), cell("dm-crypt-nowq", w), cell("veilcrypt", w),
			       cell("veilcrypt-nosplit", w), r1, r2
		}
		printf "rows below goal: %d of 16 under 1.0x best dm-crypt, %d of 16 under 1.1x dm-crypt\n",
		       miss1, miss2
	}' || rc=1
done
exit $rc
