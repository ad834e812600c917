# SPDX-License-Identifier: GPL-2.0
# Crash safety: veilctl killed with SIGKILL after each step of a checkpoint
# leaves the VM running, its guest carrying on, no file behind, and a new
# veilctl able to checkpoint again.  (Unprotected guest: the steps that
# touch guest memory are covered where veil_guest runs.)
echo "TAP version 13"

l2_start vm1
l2_wait_ready vm1 120
ok "the guest boots under KVM and answers on ttyS1" $?
pid=$(l2_pid vm1)
last=$(l2_ping vm1)

for step in stop save-started save link cont; do
	rm -f /tmp/k.mig /tmp/k.err
	VEILCTL_PAUSE_AFTER=$step veilctl checkpoint "$pid" --to /tmp/k.mig \
		--allow-unprotected 2>/tmp/k.err &
	k=$!
	for i in $(seq 1 300); do
		grep -q "paused after $step" /tmp/k.err && break
		sleep 0.2
	done
	grep -q "paused after $step" /tmp/k.err
	ok "veilctl reaches step '$step'" $?
	kill -9 $k
	wait $k 2>/dev/null
	wait_guardian && wait_running "$pid"
	ok "killed after '$step': the VM is running again" $?
	p=$(l2_ping vm1)
	[ "$p" = $((last + 1)) ]
	ok "killed after '$step': the guest carries on (pong $p after $last)" $?
	[ -n "$p" ] && last=$p
	[ ! -e /tmp/k.mig ] && ! ls /tmp/k.mig.* >/dev/null 2>&1
	ok "killed after '$step': no checkpoint file left behind" $?
done

expect "a new veilctl checkpoints again" 0 \
	veilctl checkpoint "$pid" --to /tmp/k.mig --allow-unprotected
[ "$(magic /tmp/k.mig)" = 5145564d ]
ok "and its file is complete (magic $(magic /tmp/k.mig))" $?

finish vm1
