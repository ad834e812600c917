#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# flake.sh: how often the test bed itself fails.  Boots the infra suite's
# kvm_host program (KVM VMs created and destroyed in L1, which flips KVM's
# static keys) ROUNDS times on KERNEL, with and without the kvm_keeper
# that every L1 runs, and counts the runs that did not pass and, of those,
# the ones whose L1 hung or oopsed.
#
#   selftests/flake.sh [KERNEL [ROUNDS [KEEPERS]]]   (default: 6.12 20 "0 1")
#
# KEEPERS "0" measures only the runs without the keeper.  The QEMU that
# runs L1 is scripts/l0-qemu.sh's, or VEIL_L0_QEMU.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.12}
rounds=${2:-20}
keepers=${3:-0 1}

echo "# flake: L0 $("$top/scripts/l0-qemu.sh" argv | head -n 1)"
for keeper in $keepers; do
	bad=0 hung=0 oops=0
	for i in $(seq 1 "$rounds"); do
		out=$(VEIL_KEEPER=$keeper "$top/selftests/vmrun.sh" --suite infra \
			--kernel "$kernel" --test kvm_host 2>&1)
		rc=$?
		log=$top/build/vm/$kernel-$kernel/infra/console.log
		if [ $rc != 0 ]; then
			bad=$((bad + 1))
			grep -q 'did not finish' <<<"$out" && hung=$((hung + 1))
			grep -Eq 'Oops|int3|BUG:' "$log" && oops=$((oops + 1))
			cp "$log" "$log.flake-$keeper-$i"
		fi
		echo "# keeper=$keeper run $i: rc $rc"
	done
	echo "keeper=$keeper: $bad of $rounds runs failed ($hung hung, $oops with an oops) on $kernel"
done
