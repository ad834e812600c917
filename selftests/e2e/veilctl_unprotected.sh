# SPDX-License-Identifier: GPL-2.0
# veilctl against a real QEMU/KVM guest that does not run veil_guest:
# discovery, refusals, and the unprotected checkpoint paths (migrate to a
# file, ELF dump, a snapshot in the qcow2 disk) with the guest running on afterwards and a migrate file
# that restores into a second QEMU which carries on from the checkpoint.
echo "TAP version 13"

qemu-img create -q -f qcow2 /tmp/disk1.qcow2 32M
qemu-img create -q -f qcow2 /tmp/disk2.qcow2 32M
l2_start vm1 -drive file=/tmp/disk1.qcow2,format=qcow2,if=ide
l2_wait_ready vm1 120
ok "the guest boots under KVM and answers on ttyS1" $?
pid=$(l2_pid vm1)

veilctl list >/tmp/list
grep -q "^$pid .*/tmp/vm1.qmp" /tmp/list
ok "list shows QEMU $pid with its QMP socket" $?
veilctl --json list | grep -q "\"pid\":$pid,"
ok "list --json names the VM" $?
veilctl status "$pid" --json >/tmp/st
grep -q '"run_state":"running"' /tmp/st
ok "status --json reports the VM running" $?

expect "checkpoint of a guest without veil is refused (exit 4)" 4 \
	veilctl checkpoint "$pid" --to /tmp/c1.mig
[ ! -e /tmp/c1.mig ]
ok "nothing written after the refusal" $?
before=$(l2_ping vm1)
[ -n "$before" ]
ok "the guest still runs after the refusal (pong $before)" $?

expect "--allow-unprotected checkpoint by QMP socket, migrate format" 0 \
	veilctl checkpoint /tmp/vm1.qmp --to /tmp/c1.mig --allow-unprotected
[ "$(magic /tmp/c1.mig)" = 5145564d ]
ok "the file is a QEMU migration stream (magic QEVM, saw $(magic /tmp/c1.mig))" $?
grep -q "UNPROTECTED" /tmp/out
ok "the output says the checkpoint is unprotected" $?
after=$(l2_ping vm1)
[ "$after" = $((before + 1)) ]
ok "the guest runs on after the checkpoint (pong $after after $before)" $?
veilctl status "$pid" --json | grep -q '"run_state":"running"'
ok "QEMU is running again" $?

expect "an existing file is not replaced without --force" 1 \
	veilctl checkpoint "$pid" --to /tmp/c1.mig --allow-unprotected
expect "--force replaces it" 0 \
	veilctl checkpoint "$pid" --to /tmp/c1.mig --allow-unprotected --force --json
grep -q '"protected":false' /tmp/out && grep -q '"format":"migrate"' /tmp/out
ok "--json reports format and protection" $?

expect "dump format" 0 \
	veilctl checkpoint "$pid" --to /tmp/c1.elf --format dump --allow-unprotected
[ "$(magic /tmp/c1.elf)" = 7f454c46 ]
ok "the dump is an ELF file (saw $(magic /tmp/c1.elf))" $?
rm -f /tmp/c1.elf	# as large as guest RAM; /tmp is RAM too
expect "savevm format: a snapshot inside the VM's qcow2 disk" 0 \
	veilctl checkpoint "$pid" --to snap1 --format savevm --allow-unprotected
qemu-img snapshot -U -l /tmp/disk1.qcow2 | grep -q snap1
ok "qemu-img lists snapshot snap1 in the disk" $?
expect "a snapshot name with blanks is refused" 1 \
	veilctl checkpoint "$pid" --to "a b" --format savevm --allow-unprotected
ck=$(l2_ping vm1)
[ "$ck" = $((after + 1)) ]
ok "the guest runs on after the dump and the snapshot (pong $ck)" $?

# The checkpoint taken now carries pong count $ck; a restored guest goes on
# from there while the original goes on by itself.
veilctl checkpoint "$pid" --to /tmp/c2.mig --allow-unprotected >/dev/null 2>&1
l2_start vm2 -drive file=/tmp/disk2.qcow2,format=qcow2,if=ide -incoming defer
until_ok 60 test -S /tmp/vm2.qmp
expect "restore into a QEMU started with -incoming defer" 0 \
	veilctl restore /tmp/vm2.qmp --from /tmp/c2.mig
r=$(l2_ping vm2)
[ "$r" = $((ck + 1)) ]
ok "the restored guest carries on from the checkpoint (pong $r after $ck)" $?
o=$(l2_ping vm1)
[ "$o" = $((ck + 1)) ]
ok "the original guest is untouched by the restore (pong $o)" $?

expect "restore into a running VM is refused" 1 \
	veilctl restore "$pid" --from /tmp/c2.mig
expect "a process that is not a VM: exit 3" 3 veilctl status 1
expect "a missing argument: exit 2" 2 veilctl checkpoint "$pid"

finish vm1 vm2
