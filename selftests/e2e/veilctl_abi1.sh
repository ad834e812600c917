# SPDX-License-Identifier: GPL-2.0
# A host that takes guest ABI 1 only (veil_host max_abi=1), as a host not
# yet upgraded: veil_guest registers with ABI 1, leaves out the byte ranges
# inside kernel objects (and says so once), and what it publishes still
# keeps whole frames, such as a libveil page and the vault's memory, out of
# the checkpoint while the guest runs on.
echo "TAP version 13"
# An earlier test may have loaded it: the parameter is writable at run time,
# and is put back at the end.
prev=
if [ -d /sys/module/veil_host ]; then
	prev=$(cat /sys/module/veil_host/parameters/max_abi)
	echo 1 >/sys/module/veil_host/parameters/max_abi
elif ! insmod "$VEIL_MODDIR/veil_host.ko" max_abi=1; then
	echo "1..0 # SKIP veil_host does not load"
	exit 4
fi
if [ ! -c /dev/veil ]; then
	echo "1..0 # SKIP veil_host does not provide /dev/veil"
	exit 4
fi
[ "$(cat /sys/module/veil_host/parameters/max_abi)" = 1 ]
ok "veil_host takes guest ABI 1 only (max_abi=1)" $?

l2_start vm1
l2_wait_ready vm1 120
ok "the guest boots under KVM" $?
pid=$(l2_pid vm1)
l2_run vm1 "insmod /lib/veil/veil_guest.ko" >/tmp/out
ok "veil_guest loads in the guest" $?

abi=
for i in $(seq 1 300); do
	veilctl status "$pid" --json >/tmp/st 2>&1
	abi=$(sed -n 's/.*"registered":true.*"guest_abi":\([0-9]*\).*/\1/p' /tmp/st)
	[ -n "$abi" ] && break
	sleep 0.2
done
[ "$abi" = 1 ]
ok "the guest registered with ABI 1 (host says ${abi:-nothing})" $? ||
	quote '' /tmp/st
l2_run vm1 "dmesg" >/tmp/dmesg
grep -q 'control page registered with the host, ABI 1' /tmp/dmesg
ok "the guest logs the ABI it registered with" $? ||
	tail -n 20 /tmp/dmesg | quote 'dmesg| '

va=$(l2_run vm1 "vault hold A >/tmp/A.log 2>&1 & echo \$!")
vc=$(l2_run vm1 "vault app C >/tmp/C.log 2>&1 & echo \$!")
l2_until vm1 60 "grep -q 'holds its secret' /tmp/A.log && grep -q 'protected by libveil' /tmp/C.log"
l2_run vm1 "kill -0 $va && kill -0 $vc && grep -q 'protected by libveil' /tmp/C.log" >/dev/null
ok "vault ($va) and a libveil application ($vc) hold their secrets" $?
l2_run vm1 "veil exclude $va" >/tmp/out
ok "veil exclude $va" $?

checkpoint_pair vm1
n=$(l2_run vm1 "dmesg" | grep -c 'the host speaks ABI 1: data inside kernel objects')
[ "$n" = 1 ]
ok "the guest says once that byte ranges stay in this host's checkpoints ($n lines)" $?

n=$(vault find C /tmp/plain.mig)
m=$(vault find C /tmp/veil.mig)
[ "$n" -gt 0 ] && [ "$m" = 0 ]
ok "libveil page: in the plain checkpoint $n copies, in the veil one $m" $?
n=$(vault find A /tmp/plain.mig)
m=$(vault find A /tmp/veil.mig)
[ "$m" -lt "$n" ]
ok "vault secret: plain checkpoint $n copies, veil checkpoint $m (its memory, file and pipe are gone)" $?

l2_run vm1 "kill -0 $va && kill -0 $vc" >/dev/null
ok "the running guest's vault and application still hold their secrets" $?
veilctl status "$pid" --json | grep -q '"run_state":"running"'
ok "the VM runs on" $?

[ -z "$prev" ] || echo "$prev" >/sys/module/veil_host/parameters/max_abi
finish vm1
