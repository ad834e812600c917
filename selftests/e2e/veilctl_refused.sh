# SPDX-License-Identifier: GPL-2.0
# Checkpoints that must not be written: a guest whose PREPARE fails (its
# set is over the host's max_mib, so PUBLISH is refused and the guest
# acknowledges with an error), and a guest that unloaded veil_guest since
# it registered.  veilctl reports the guest's error, in --json too, writes
# nothing, and the guest runs on, thawed, with its memory intact.
echo "TAP version 13"
if [ ! -d /sys/module/veil_host ] && ! insmod "$VEIL_MODDIR/veil_host.ko"; then
	echo "1..0 # SKIP veil_host does not load"
	exit 4
fi
prev=$(cat /sys/module/veil_host/parameters/max_mib)

l2_start vm1
l2_wait_ready vm1 120
ok "the guest boots under KVM" $?
pid=$(l2_pid vm1)
l2_run vm1 "insmod /lib/veil/veil_guest.ko" >/tmp/out
ok "veil_guest loads in the guest" $?

# 4 MiB of secret against a host that takes 1 MiB per VM.
va=$(l2_run vm1 "vault hold A 4 >/tmp/A.log 2>&1 & echo \$!")
l2_until vm1 60 "grep -q 'holds its secret' /tmp/A.log"
l2_run vm1 "veil exclude $va" >/tmp/out
ok "veil exclude $va (the vault, 4 MiB)" $?
echo 1 >/sys/module/veil_host/parameters/max_mib
ok "veil_host takes at most 1 MiB per VM (max_mib=1)" $?

expect "a checkpoint whose PREPARE the guest failed is refused (exit 1)" 1 \
	veilctl checkpoint "$pid" --to /tmp/refused.mig --json
[ ! -e /tmp/refused.mig ]
ok "nothing written" $?
grep -q 'the guest could not prepare' /tmp/err
ok "veilctl says the guest could not prepare" $? || quote '' /tmp/err
grep -q '"result":"refused"' /tmp/out && grep -q '"step":"prepare"' /tmp/out &&
	grep -q '"guest_error":[1-9]' /tmp/out && grep -q '"written":false' /tmp/out
ok "--json names the step, the guest's error and that nothing was written" $? ||
	quote '' /tmp/out
# (whole outputs into files: a reader that stops early leaves lines behind)
l2_run vm1 "dmesg" >/tmp/dmesg
grep -q 'PUBLISH of .* refused' /tmp/dmesg
ok "the guest logged the refused PUBLISH" $?
veilctl status "$pid" --json >/tmp/st
grep -q '"run_state":"running"' /tmp/st && grep -q '"state":"running"' /tmp/st
ok "the VM runs and veil_host holds nothing for it" $? || quote '' /tmp/st
frozen=
for i in $(seq 1 300); do
	l2_run vm1 "veil status --json" >/tmp/gst
	frozen=$(sed -n 's/.*"frozen": *\([0-9]*\).*/\1/p' /tmp/gst)
	[ "$frozen" = 0 ] && break
	sleep 0.2
done
[ "$frozen" = 0 ] && l2_run vm1 "kill -0 $va" >/dev/null
ok "the vault is alive and thawed (frozen: ${frozen:-?})" $?

echo "$prev" >/sys/module/veil_host/parameters/max_mib
expect "with the cap back at $prev MiB the checkpoint is taken" 0 \
	veilctl checkpoint "$pid" --to /tmp/ok.mig
[ -s /tmp/ok.mig ]
ok "it is written" $?
rm -f /tmp/ok.mig

# The guest unloads veil_guest: it unregisters, and the host forgets it.
l2_run vm1 "veil include $va; rmmod veil_guest" >/tmp/out
ok "veil_guest unloads in the guest" $? || quote '' /tmp/out
l2_run vm1 "dmesg" >/tmp/dmesg
! grep -q 'control page left allocated' /tmp/dmesg
ok "it unregistered its control page (no page left allocated)" $?
veilctl status "$pid" --json >/tmp/st
grep -q '"registered":false' /tmp/st
ok "the host no longer counts the guest as registered" $? || quote '' /tmp/st
expect "a checkpoint of the unregistered guest is refused (exit 4)" 4 \
	veilctl checkpoint "$pid" --to /tmp/unreg.mig
[ ! -e /tmp/unreg.mig ]
ok "nothing written" $?
l2_ping vm1 >/dev/null
ok "the guest still runs" $?
finish vm1
