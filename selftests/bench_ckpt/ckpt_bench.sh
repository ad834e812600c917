# SPDX-License-Identifier: GPL-2.0
# Checkpoint wall time and size, plain against veil, in one VM and one run:
# a guest of 1 GiB whose vault process holds 256 MiB (25 % of its RAM) of
# incompressible data and is excluded.  Plain and veil checkpoints
# alternate, ROUNDS of each; "@@BENCH" lines carry the numbers.
ROUNDS=3
echo "TAP version 13"
insmod "$VEIL_MODDIR/veil_host.ko"
if [ ! -c /dev/veil ]; then
	echo "1..0 # SKIP veil_host does not provide /dev/veil"
	exit 4
fi
l2_start vm1
l2_wait_ready vm1 180
ok "the guest boots under KVM" $?
pid=$(l2_pid vm1)
l2_run vm1 "insmod /lib/veil/veil_guest.ko" >/dev/null
ok "veil_guest loads" $?
va=$(l2_run vm1 "vault hold bench 256 >/tmp/v.log 2>&1 & echo \$!")
for i in $(seq 1 100); do
	l2_run vm1 "grep -q holds /tmp/v.log" && break
	sleep 1
done
l2_run vm1 "veil exclude $va" >/dev/null
ok "a vault with 256 MiB is excluded" $?

field() {	# field FILE NAME
	sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"
}
for r in $(seq 1 $ROUNDS); do
	for kind in plain veil; do
		rm -f /tmp/b.mig
		if [ $kind = plain ]; then
			veilctl checkpoint "$pid" --to /tmp/b.mig --plain --json >/tmp/b.json
		else
			veilctl checkpoint "$pid" --to /tmp/b.mig --json >/tmp/b.json
		fi
		ok "$kind checkpoint, round $r" $?
		echo "@@BENCH $kind $(field /tmp/b.json seconds) $(field /tmp/b.json bytes) $(field /tmp/b.json excluded_pages)"
	done
done
rm -f /tmp/b.mig
finish vm1
