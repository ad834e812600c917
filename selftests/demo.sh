#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: what 'make demo' runs.  Boots the nested host (L1) and guest
# (L2) with veil's modules loaded and prints what each level reports.
#
#   KERNEL=6.12 selftests/demo.sh
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
k=${KERNEL:-6.1}
echo "veil demo: booting a KVM host (L1, emulated) and a guest inside it (L2)..."
out=$("$top/selftests/vmrun.sh" --suite demo --kernel "$k" 2>&1)
rc=$?
log=$top/build/vm/$k-$k/demo/console.log

value() {	# value LEVEL KEY
	sed -n "s/.*@@DEMO $1 $2 //p" "$log" 2>/dev/null | tr -d '\r' | head -n 1
}

printf '\n%-8s %-28s %-10s %s\n' level kernel "veil" "notes"
printf '%-8s %-28s %-10s %s\n' "L1 host" "$(value host kernel)" "$(value host veil)" \
	"/dev/kvm $(value host kvm), kvm_amd with nested paging"
printf '%-8s %-28s %-10s %s\n' "L2 guest" "$(value guest kernel)" "$(value guest veil)" \
	"runs under L1's KVM"
cat <<TEXT

Not built yet: the guest<->host hypercall, the exclusion collectors in the
guest, veilctl's protected checkpoint, and dm-veilcrypt.  When they are,
this demo takes a plain and a veil checkpoint of the guest and shows what
each one holds.
TEXT
if [ $rc != 0 ]; then
	echo
	echo "demo: the VMs did not do what was expected:"
	grep -E '^(not ok|[0-9]+ passed)' <<<"$out"
	echo "console log: ${log#"$top"/}"
fi
exit $rc
