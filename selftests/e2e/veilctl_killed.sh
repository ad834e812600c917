# SPDX-License-Identifier: GPL-2.0
# veilctl killed at a random point of a checkpoint that excludes 256 MiB,
# by SIGKILL, SIGINT or SIGTERM in turn: whatever step it was in (PREPARE,
# SANITIZE, the snapshot, RESTORE), its guardian puts the VM back.  After
# every round the VM runs, the excluded vault's 256 MiB hold exactly what
# it wrote, and no partial file is left; in the end a new checkpoint
# succeeds without the vault's secret.  VEIL_E2E_KILL_ROUNDS sets how many
# rounds must be killed mid-way (default 4, about 8 s each on an idle
# machine; make stress: 200).
echo "TAP version 13"
if { [ ! -d /sys/module/veil_host ] && ! insmod "$VEIL_MODDIR/veil_host.ko"; } ||
	[ ! -c /dev/veil ]; then
	echo "1..0 # SKIP veil_host does not provide /dev/veil"
	exit 4
fi
rounds=${VEIL_E2E_KILL_ROUNDS:-4}

# centiseconds since boot
now_cs() {
	local up
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}" | sed 's/^0*//;s/^$/0/'
}

# a random number in [0, $1)
random_below() {
	echo $(($(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % $1))
}

# bulk_check N: the vault checks its 256 MiB for the Nth time, and is alive
bulk_check() {
	local i
	l2_run vm1 "kill -USR1 $va" >/dev/null || return 1
	for i in $(seq 1 120); do
		l2_run vm1 "grep -q 'bulk check $1:' /tmp/K.log" >/dev/null && return 0
		l2_run vm1 "kill -0 $va" >/dev/null || return 1
		sleep 0.5
	done
	return 1
}

l2_start vm1 -m 512
l2_wait_ready vm1 120
ok "the guest boots under KVM with 512 MiB" $?
pid=$(l2_pid vm1)
l2_run vm1 "insmod /lib/veil/veil_guest.ko" >/tmp/out
ok "veil_guest loads in the guest" $?
wait_registered "$pid"
ok "the host sees the guest registered" $?

va=$(l2_run vm1 "vault hold K 256 >/tmp/K.log 2>&1 & echo \$!")
held=1
for i in $(seq 1 120); do
	l2_run vm1 "grep -q 'holds its secret' /tmp/K.log" >/dev/null && { held=0; break; }
	sleep 0.5
done
ok "the vault ($va) holds its secret and 256 MiB of data" $held
l2_run vm1 "veil exclude $va" >/tmp/out
ok "veil exclude $va" $?
checks=1
bulk_check $checks
ok "the vault's 256 MiB are intact before any checkpoint" $?

t0=$(now_cs)
expect "an undisturbed checkpoint" 0 veilctl checkpoint "$pid" --to /tmp/r.mig --json
took=$(($(now_cs) - t0))
pages=$(sed -n 's/.*"excluded_pages":\([0-9]*\).*/\1/p' /tmp/out)
[ "${pages:-0}" -ge 65536 ]
ok "it excluded at least 256 MiB (${pages:-no} pages) in $took cs" $?
wait_running "$pid"
rm -f /tmp/r.mig

# Rounds go on until $rounds of them were killed mid-way (at most three
# times as many rounds in all): a kill may come after veilctl finished.
killed=0 finished=0 bad=0 r=0
while [ $killed -lt "$rounds" ] && [ $r -lt $((3 * rounds)) ]; do
	r=$((r + 1))
	case $((r % 3)) in
	0) sig=KILL ;;
	1) sig=INT ;;
	*) sig=TERM ;;
	esac
	# in the first three quarters of a checkpoint, where the steps are
	delay=$(random_below $((took * 3 / 4 + 1)))
	rm -f /tmp/r.mig /tmp/r.mig.*
	veilctl checkpoint "$pid" --to /tmp/r.mig >/tmp/r.out 2>/tmp/r.err &
	k=$!
	sleep "$((delay / 100)).$(printf %02d $((delay % 100)))"
	kill -s "$sig" "$k" 2>/dev/null
	wait "$k"
	rc=$?
	what="round $r (SIG$sig after $delay cs)"
	if ! wait_guardian || ! wait_running "$pid"; then
		echo "# $what: the VM is not running again"
		bad=$((bad + 1))
		break
	fi
	# Killed or not, once the guardian is done: the file is complete under
	# its name (veilctl got as far as renaming it), or there is none.
	if [ $rc = 0 ] || [ -e /tmp/r.mig ]; then
		finished=$((finished + 1))
		# Checkpoints after the first are quicker: aim earlier.
		[ $took -gt 100 ] && took=$((took * 4 / 5))
		[ "$(magic /tmp/r.mig)" = 5145564d ] ||
			{ echo "# $what: exit $rc, and the file is not complete"; bad=$((bad + 1)); }
	else
		killed=$((killed + 1))
	fi
	if ls /tmp/r.mig.* >/dev/null 2>&1; then
		echo "# $what: exit $rc, and a temporary file was left:" /tmp/r.mig.*
		bad=$((bad + 1))
	fi
	checks=$((checks + 1))
	if ! bulk_check $checks; then
		echo "# $what: the vault's data was damaged or it died:"
		l2_run vm1 "tail -n 3 /tmp/K.log" | quote ''
		bad=$((bad + 1))
		break
	fi
done
echo "# $r rounds: $killed killed mid-way, $finished finished first"
[ $bad = 0 ]
ok "veilctl killed at random points: the VM runs on with the vault's 256 MiB intact every time" $?
[ $killed -ge "$rounds" ]
ok "$killed of $r rounds were killed before the checkpoint ended (wanted $rounds)" $?
p=$(l2_ping vm1)
[ -n "$p" ]
ok "the guest answers (pong $p)" $?

rm -f /tmp/r.mig
expect "a new checkpoint succeeds" 0 veilctl checkpoint "$pid" --to /tmp/r.mig
n=$(vault find K /tmp/r.mig)
[ "$n" = 0 ]
ok "and holds no copy of the vault's secret ($n)" $?
l2_run vm1 "kill -0 $va" >/dev/null
ok "the vault is alive after it all" $?

finish vm1
