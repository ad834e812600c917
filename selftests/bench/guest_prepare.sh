#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# veil_guest: what the socket read probes cost a reader (not armed, armed,
# the reader excluded), then PREPARE of 64 MiB, 512 MiB and 2 GiB excluded
# against one read pass over the same memory, in one L1 per kernel
# (selftests/bench/guest/).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
for k in ${KERNEL:-$("$top/scripts/kernel.sh" list)}; do
	echo "-- kernel $k"
	"$top/scripts/build-modules.sh" "$k" guest-kmod >/dev/null || { rc=1; continue; }
	"$top/selftests/vmrun.sh" --suite bench/guest --kernel "$k" -v 2>&1 |
		grep -E '^(# +excluded|# +[0-9]+ MiB|# +(socket reads|unix-|tcp-)|(not )?ok |bench:|[0-9]+ passed)' || rc=1
done
exit $rc
