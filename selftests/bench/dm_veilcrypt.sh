#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dm-veilcrypt against dm-crypt: fio on a brd ramdisk in one L1 run (see
# selftests/dm/dm_bench.sh), aes-xts-plain64, 4096-byte sectors.  Prints
# MB/s per device and veilcrypt's ratio to each dm-crypt setting.
#
#   KERNEL=6.12 selftests/bench/dm_veilcrypt.sh     (default 6.1)
#
# Under TCG the absolute numbers say little about real hardware; the ratios
# compare the I/O paths on the same emulated CPU.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
k=${KERNEL:-6.1}
VEIL_BENCH=1 "$top/selftests/vmrun.sh" --suite dm --kernel "$k" >/dev/null 2>&1
rc=$?
log=$top/build/vm/$k-$k/dm/console.log
tr -d '\r' <"$log" | awk -v k="$k" '
$1 == "@@BENCH" { v[$2, $3] = $4; seen = 1 }
function ratio(a, b) { return a != "" && b > 0 ? sprintf("%.2f", a / b) : "-" }
END {
	if (!seen) { print "dm bench: no results (see " FILENAME ")"; exit 1 }
	printf "dm-veilcrypt bench, kernel %s, aes-xts-plain64, 4096-byte sectors, brd, MB/s\n", k
	printf "%-11s %8s %9s %14s %10s %9s %12s\n", "workload", "raw",
	       "dm-crypt", "dm-crypt-nowq", "veilcrypt", "/dm-crypt", "/dm-crypt-nowq"
	n = split("seq-read seq-write rand-read rand-write", w, " ")
	for (i = 1; i <= n; i++)
		printf "%-11s %8s %9s %14s %10s %9s %12s\n", w[i], v["raw", w[i]],
		       v["dm-crypt", w[i]], v["dm-crypt-nowq", w[i]],
		       v["veilcrypt", w[i]],
		       ratio(v["veilcrypt", w[i]], v["dm-crypt", w[i]]),
		       ratio(v["veilcrypt", w[i]], v["dm-crypt-nowq", w[i]])
	printf "\ncrypto API alone (%s, one request per 4096-byte sector): encrypt %s, decrypt %s MB/s\n",
	       v["crypto-api", "driver"], v["crypto-api", "encrypt"], v["crypto-api", "decrypt"]
	printf "veilcrypt / crypto API: seq-write %s, seq-read %s\n",
	       ratio(v["veilcrypt", "seq-write"], v["crypto-api", "encrypt"]),
	       ratio(v["veilcrypt", "seq-read"], v["crypto-api", "decrypt"])
}' || rc=1
exit $rc
