# SPDX-License-Identifier: GPL-2.0
# L1 side of 'make demo'.  TAP on stdout for the runner, "@@DEMO KEY VALUE"
# lines for the table selftests/demo.sh prints.
echo "TAP version 13"
demo() {
	echo "@@DEMO $*"
}
demo host_kernel "$(uname -r)"
insmod "$VEIL_MODDIR/veil_host.ko"
ok "veil_host loads on the KVM host" $?
l2_start vm1
l2_wait_ready vm1 120
ok "the guest boots under KVM" $?
pid=$(l2_pid vm1)
demo guest_kernel "$(l2_run vm1 "uname -r")"
if [ ! -c /dev/veil ]; then
	demo missing "veil_host has no /dev/veil"
	finish vm1
fi
l2_run vm1 "insmod /lib/veil/veil_guest.ko" >/dev/null
ok "veil_guest loads in the guest" $?
for i in $(seq 1 50); do
	veilctl status "$pid" --json 2>/dev/null | grep -q '"registered":true' && break
	sleep 0.2
done
va=$(l2_run vm1 "vault hold vault >/tmp/vault.log 2>&1 & echo \$!")
vb=$(l2_run vm1 "vault hold control >/tmp/control.log 2>&1 & echo \$!")
sleep 1
l2_run vm1 "veil exclude $va" >/dev/null
ok "the vault (PID $va) is excluded" $?

veilctl checkpoint "$pid" --to /tmp/plain.mig --plain --json >/tmp/plain.json
ok "plain checkpoint" $?
veilctl checkpoint "$pid" --to /tmp/veil.mig --json >/tmp/veil.json
ok "veil checkpoint" $?
field() {	# field FILE NAME
	sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"
}
yes_no() {	# yes_no COUNT
	if [ "${1:-0}" -gt 0 ]; then echo "yes ($1)"; else echo "no"; fi
}
demo vault_plain "$(yes_no "$(vault find vault /tmp/plain.mig)")"
demo vault_veil "$(yes_no "$(vault find vault /tmp/veil.mig)")"
demo control_plain "$(yes_no "$(vault find control /tmp/plain.mig)")"
demo control_veil "$(yes_no "$(vault find control /tmp/veil.mig)")"
if l2_run vm1 "kill -0 $va" >/dev/null; then r=yes; else r=no; fi
demo vault_running "$r"
demo time_plain "$(field /tmp/plain.json seconds)"
demo time_veil "$(field /tmp/veil.json seconds)"
demo pages "$(field /tmp/veil.json excluded_pages)"
demo size_plain "$(field /tmp/plain.json bytes)"
demo size_veil "$(field /tmp/veil.json bytes)"

l2_start vm2 -incoming defer
sleep 1
veilctl restore /tmp/vm2.qmp --from /tmp/veil.mig >/dev/null
ok "the veil checkpoint restores into a new QEMU" $?
r=alive
for i in $(seq 1 25); do
	l2_run vm2 "kill -0 $va" >/dev/null 2>&1 || { r=terminated; break; }
	sleep 0.2
done
demo restored_vault "$r"
if l2_run vm2 "kill -0 $vb" >/dev/null; then r=alive; else r=gone; fi
demo restored_control "$r"
finish vm1 vm2
