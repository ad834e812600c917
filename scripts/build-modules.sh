#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build veil's kernel modules for one kernel of the matrix, out of tree and
# with -Werror, in build/<kernel>/ so that both kernels can be built side by
# side from one checkout.
#
#   build-modules.sh 6.1 [folder ...]   (default: host-kmod guest-kmod)
#
# Prints one line per folder, "built <folder> for <release>" or
# "FAILED <folder> for <release>", and exits non-zero if any failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
k=$1
shift
folders=("$@")
[ ${#folders[@]} -gt 0 ] || folders=(host-kmod guest-kmod)

rel=$("$top/scripts/kernel.sh" release "$k") || exit 1
kdir=$("$top/scripts/kernel.sh" kdir "$k") || exit 1
out=$top/build/$k/src
mkdir -p "$out"
cp -a --update "$top/uapi" "$top/lib" "$top/VERSION" "$out/"

declare -A cfg=(
	[host-kmod]="CONFIG_VEIL_HOST=m CONFIG_DM_VEILCRYPT=m"
	[guest-kmod]="CONFIG_VEIL_GUEST=m"
)

rc=0
for f in "${folders[@]}"; do
	mkdir -p "$out/$f"
	# The sources only: a 'make' in the folder itself (for the running
	# kernel) leaves objects there that are not this kernel's.
	tar -C "$top/$f" --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude=modules.order \
		--exclude=Module.symvers --exclude='*.o.d' -cf - . | tar -C "$out/$f" -xf -
	log=$top/build/$k/$(echo "$f" | tr / _).log
	if make -C "$kdir" M="$out/$f" ${cfg[$f]:-} W=1 modules >"$log" 2>&1; then
		echo "built $f for $rel"
	else
		echo "FAILED $f for $rel (log: ${log#"$top"/})"
		tail -n 30 "$log" | sed 's/^/  | /'
		rc=1
	fi
done
exit $rc
