#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# L2 side of 'make demo': a guest under L1's KVM with veil_guest loaded.
n=0 bad=0
step() {
	n=$((n + 1))
	if eval "$2"; then echo "ok $n $1"; else echo "not ok $n $1"; bad=1; fi
}
echo "TAP version 13"
echo "1..2"
step "runs under KVM (kvm-clock available)" \
	'grep -q kvm-clock /sys/devices/system/clocksource/clocksource0/available_clocksource'
step "veil_guest is loaded" \
	'insmod /lib/veil/veil_guest.ko && [ -d /sys/module/veil_guest ]'
echo "@@DEMO guest kernel $(uname -r)"
echo "@@DEMO guest veil $( [ -d /sys/module/veil_guest ] && echo loaded || echo missing)"
exit $bad
