#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: what 'make demo' runs.  Boots a KVM host (L1) and a guest in it
# (L2); in the guest a "vault" process keeps a secret in memory, a file and
# a pipe, and a control process keeps another; veil
# excludes the vault; the host takes a plain and a veil checkpoint, looks
# for both secrets in each, and restores the veil checkpoint.
#
#   KERNEL=6.12 selftests/demo.sh
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
k=${KERNEL:-6.1}
echo "veil demo: booting a KVM host (L1, emulated) and a guest inside it (L2)..."
out=$("$top/selftests/vmrun.sh" --suite demo --kernel "$k" 2>&1)
rc=$?
log=$top/build/vm/$k-$k/demo/console.log

value() {	# value KEY
	sed -n "s/.*@@DEMO $1 //p" "$log" 2>/dev/null | tr -d '\r' | head -n 1
}
row() {
	printf '  %-44s %-14s %s\n' "$1" "$2" "$3"
}

echo
echo "host kernel $(value host_kernel), guest kernel $(value guest_kernel)"
if [ -n "$(value missing)" ]; then
	echo "not built yet: $(value missing)"
else
	echo
	row "" "expected" "seen"
	row "vault secret in the plain checkpoint" yes "$(value vault_plain)"
	row "vault secret in the veil checkpoint" no "$(value vault_veil)"
	row "control secret in the plain checkpoint" yes "$(value control_plain)"
	row "control secret in the veil checkpoint" yes "$(value control_veil)"
	row "running VM's vault still holds its secret" yes "$(value vault_running)"
	row "restored VM: vault" terminated "$(value restored_vault)"
	row "restored VM: control process" alive "$(value restored_control)"
	echo
	row "checkpoint time, plain / veil (s)" "" \
		"$(printf '%.2f / %.2f' "$(value time_plain)" "$(value time_veil)")"
	row "pages excluded" "" "$(value pages)"
	row "checkpoint size, plain / veil (bytes)" "" "$(value size_plain) / $(value size_veil)"
fi
if [ $rc != 0 ]; then
	echo
	echo "demo: the VMs did not do what was expected:"
	grep -E '^(not ok|[0-9]+ passed)' <<<"$out"
	echo "console log: ${log#"$top"/}"
fi
exit $rc
