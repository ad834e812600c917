#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# L1 side of 'make demo': a KVM host with veil_host loaded.  TAP on stdout,
# "@@DEMO" lines for the summary table.
n=0 bad=0
step() {
	n=$((n + 1))
	if eval "$2"; then echo "ok $n $1"; else echo "not ok $n $1"; bad=1; fi
}
echo "TAP version 13"
echo "1..2"
step "kvm_amd runs with nested paging" \
	'[ "$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)" = Y ]'
step "veil_host is loaded" \
	'insmod /lib/veil/veil_host.ko && [ -d /sys/module/veil_host ]'
echo "@@DEMO host kernel $(uname -r)"
echo "@@DEMO host veil $( [ -d /sys/module/veil_host ] && echo loaded || echo missing)"
echo "@@DEMO host kvm $( [ -c /dev/kvm ] && echo ready || echo missing)"
exit $bad
