# SPDX-License-Identifier: GPL-2.0
# The protected checkpoint of a VM that libvirt runs.  libvirtd, started in
# L1 from Debian's packages, defines the L2 guest from domain XML and holds
# its QEMU's monitor; veilctl names the VM by domain and takes, through
# libvirt's API, each checkpoint a libvirt user keeps: an internal snapshot,
# a memory-only external snapshot, a memory-only core dump and a managed
# save.  In each the excluded vault's secret is gone and the control
# process's is there; the running VM keeps its vault; and a guest resumed
# with libvirt's own commands (virsh start, virsh restore, virsh
# snapshot-revert) has the vault terminated and the control process alive.
echo "TAP version 13"
# An earlier program of the suite may have loaded veil_host already.
[ -c /dev/veil ] || insmod "$VEIL_MODDIR/veil_host.ko"
if [ ! -c /dev/veil ]; then
	echo "1..0 # SKIP veil_host does not provide /dev/veil"
	exit 4
fi
if ! command -v libvirtd >/dev/null; then
	echo "1..0 # SKIP libvirtd is not in this VM"
	exit 4
fi

vm=lv1
lv_start_daemon
ok "libvirtd starts and answers" $? || { echo "1..$tap_n"; exit 1; }
lv_define $vm && lv_start $vm
ok "libvirt defines the guest from domain XML and starts it" $? ||
	tail -n 20 /var/log/libvirt/qemu/$vm.log | quote 'qemu log| '
l2_wait_ready $vm 120
ok "the guest boots under KVM" $?
pid=$(l2_pid $vm)
l2_run $vm "insmod /lib/veil/veil_guest.ko" >/dev/null
ok "veil_guest loads in the guest" $?

wait_registered $vm
ok "veilctl names the VM by domain: the host sees the guest registered" $? ||
	quote '' /tmp/st
grep -q "\"domain\":\"$vm\"" /tmp/st && grep -q "\"pid\":$pid," /tmp/st
ok "status --json gives the domain and its QEMU ($pid)" $?
veilctl list >/tmp/list
grep -q "^$pid .* $vm " /tmp/list
ok "list shows QEMU $pid as domain $vm" $? || quote '' /tmp/list

va=$(l2_run $vm "vault hold A >/tmp/A.log 2>&1 & echo \$!")
vb=$(l2_run $vm "vault hold B >/tmp/B.log 2>&1 & echo \$!")
l2_until $vm 60 "grep -q 'holds its secret' /tmp/A.log && grep -q 'holds its secret' /tmp/B.log"
l2_run $vm "kill -0 $va && kill -0 $vb && veil exclude $va" >/dev/null
ok "vault ($va) and control ($vb) hold their secrets; the vault is excluded" $?

expect "naming the domain's QEMU by PID is refused (exit 2)" 2 \
	veilctl checkpoint "$pid" --to /tmp/bypid.mig
grep -q "libvirt holds its monitor: name it by domain" /tmp/err
ok "the refusal says to name the VM by domain" $? || quote '' /tmp/err
veilctl --json checkpoint "$pid" --to /tmp/bypid.mig >/tmp/j 2>/dev/null
grep -q '"ok":false' /tmp/j && grep -q '"exit":2' /tmp/j && grep -q '"schema":1' /tmp/j &&
	grep -q '"error":"VM [0-9]* is libvirt.s domain' /tmp/j
ok "with --json the refusal is an object too (schema 1, exit 2, the message)" $? ||
	quote '' /tmp/j

expect "restore names libvirt's own commands for a domain (exit 2)" 2 \
	veilctl restore $vm --from /tmp/none.mig
grep -q "virsh restore" /tmp/err
ok "the refusal points at virsh" $? || quote '' /tmp/err

running_intact() {	# running_intact WHAT: the VM runs on with its vault
	[ "$(lv_state $vm)" = running ] && l2_run $vm "kill -0 $va" >/dev/null
	ok "$1: the VM runs on and its vault still holds the secret" $?
}

secrets() {	# secrets WHAT FILE: vault's secret gone, the control's there
	local n m
	n=$(vault find A "$2")
	m=$(vault find B "$2")
	[ "$n" = 0 ] && [ "$m" -gt 0 ]
	ok "$1: vault secret in it: no ($n copies), control secret: yes ($m)" $?
}

# An internal snapshot (into the qcow2 disk), veil's first: the disk then
# holds only it when searched; a plain one after it shows that the search
# finds the secret there.
expect "veil checkpoint, internal snapshot" 0 \
	veilctl checkpoint $vm --format snapshot --to vsnap --json
grep -q '"protected":true' /tmp/out && grep -q "\"domain\":\"$vm\"" /tmp/out
ok "the snapshot is protected (--json says so)" $? || quote '' /tmp/out
secrets "internal snapshot" /tmp/$vm.qcow2
running_intact "internal snapshot"
virsh snapshot-list $vm --name | grep -qx vsnap
ok "libvirt lists the snapshot" $?
expect "plain checkpoint, internal snapshot" 0 \
	veilctl checkpoint $vm --format snapshot --to psnap --plain
n=$(vault find A /tmp/$vm.qcow2)
[ "$n" -gt 0 ]
ok "the vault secret is in the disk once the plain snapshot is added: yes ($n copies)" $?

expect "veil checkpoint, memory-only external snapshot (the default)" 0 \
	veilctl checkpoint $vm --to /tmp/$vm.mem
secrets "memory snapshot" /tmp/$vm.mem
running_intact "memory snapshot"
[ -z "$(ls /tmp/$vm.mem.* 2>/dev/null)" ]
ok "no temporary file is left beside it" $?

expect "veil checkpoint, memory-only core dump" 0 \
	veilctl checkpoint $vm --format dump --to /tmp/$vm.elf
[ "$(magic /tmp/$vm.elf)" = 7f454c46 ]
ok "the dump is an ELF file" $?
secrets "core dump" /tmp/$vm.elf
running_intact "core dump"
rm -f /tmp/$vm.elf

# veilctl killed while libvirt writes: the guardian lets the write end,
# puts the frames back, resumes the VM, thaws the guest and leaves no file.
rm -f /tmp/k.err
VEILCTL_PAUSE_AFTER=save-started veilctl checkpoint $vm --to /tmp/k.mem 2>/tmp/k.err &
k=$!
for i in $(seq 1 300); do
	grep -q "paused after save-started" /tmp/k.err && break
	sleep 0.2
done
kill -9 $k
wait $k 2>/dev/null
wait_guardian
frozen=$(l2_run $vm "veil status --json" | sed -n 's/.*"frozen": *\([0-9]*\).*/\1/p')
[ "$(lv_state $vm)" = running ] && l2_run $vm "kill -0 $va" >/dev/null && [ "$frozen" = 0 ]
ok "veilctl killed while libvirt writes: the VM runs, the vault is intact and thawed (frozen: ${frozen:-?})" $? ||
	{ virsh domstate $vm --reason; cat /tmp/k.err; } 2>&1 | quote ''
[ -z "$(ls /tmp/k.mem* 2>/dev/null)" ]
ok "veilctl killed while libvirt writes: no file left behind" $? || ls -l /tmp/k.mem* | quote ''

before=$(l2_ping $vm)
expect "veil checkpoint, managed save" 0 veilctl checkpoint $vm --format managedsave
[ "$(lv_state $vm)" = "shut off" ] && virsh dominfo $vm | grep -q "^Managed save: *yes"
ok "the domain is shut off with a managed save image" $?
secrets "managed save" /var/lib/libvirt/qemu/save/$vm.save
veilctl list >/tmp/list
grep -q "^- .* $vm .*shut off, managed save" /tmp/list
ok "list shows the domain shut off with its managed save" $? || quote '' /tmp/list

restored() {	# restored HOW: the guest resumed by HOW killed the vault only
	cp "/run/libvirt/qemu/$vm.pid" "/tmp/$vm.pid" && rm -f "/tmp/$vm.told"
	l2_watch $vm
	[ "$(lv_state $vm)" = running ]
	ok "$1: the guest runs" $?
	l2_until $vm 60 "! kill -0 $va"
	ok "$1: the vault is terminated" $?
	l2_run $vm "kill -0 $vb" >/dev/null
	ok "$1: the control process is alive" $?
	l2_run $vm "dmesg" | bad_klog - >/tmp/oops
	[ ! -s /tmp/oops ]
	ok "$1: no kernel bug or warning in the guest" $? || quote '' /tmp/oops
}

virsh -q start $vm >/dev/null
ok "virsh start resumes the managed save" $?
restored "virsh start"
after=$(l2_ping $vm)
[ -n "$before" ] && [ "$after" = $((before + 1)) ]
ok "virsh start: the guest carries on from the checkpoint (pong $after after $before)" $?

virsh -q destroy $vm >/dev/null
virsh -q restore /tmp/$vm.mem >/dev/null
ok "virsh restore resumes the memory snapshot" $?
restored "virsh restore"

virsh -q snapshot-revert $vm vsnap >/dev/null
ok "virsh snapshot-revert resumes the internal snapshot" $?
restored "virsh snapshot-revert"

l2_stop $vm
ok "the guest shuts down cleanly" $?
kill "$(cat /tmp/libvirtd.pid)" 2>/dev/null
rm -f /tmp/$vm.mem /var/lib/libvirt/qemu/save/*
finish $vm
