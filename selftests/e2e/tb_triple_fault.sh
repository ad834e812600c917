# SPDX-License-Identifier: GPL-2.0
# The test bed's judge of a guest's triple fault, on real ones: guests that
# triple-fault on purpose (tf_guest), each with what its own page tables
# say of the fetch that faulted.  shutdown_walk must log each walk as the
# guest's memory has it, and fault_unexplained, which voids a program when
# a guest's memory allows the fetch that faulted, must call none of these
# the test bed's: each is explained by the guest's own page tables, or its
# first fault was not a fetch.
echo "TAP version 13"

if [ ! -e /dev/kvm ]; then
	echo "1..0 # SKIP no /dev/kvm in L1"
	exit 4
fi
[ -d /sys/module/shutdown_walk ]
ok "shutdown_walk is loaded (a kprobe on kvm_amd's SHUTDOWN handler)" $?

for c in "absent absent@3" "reserved reserved@2" "nx nx@2" "ud2 maps"; do
	set -- $c
	: >/sys/kernel/tracing/trace
	echo 2 >/sys/kernel/tracing/snapshot
	out=$(tf_guest "$1")
	rc=$?
	set -- "$1" "$2" $out
	[ $rc = 0 ] && [ "$3" = tid ]
	ok "$1: the guest's KVM_RUN ends with a SHUTDOWN exit (tf_guest: $rc, $out)" $?
	tid=$4 rip=$6
	walk=$(dmesg | grep -a "shutdown_walk: tgid [0-9]* tid $tid rip $rip " | tail -n 1)
	walk=${walk#*shutdown_walk: }
	case $walk in
	*"cr3 80000: fetch $2, cr2 "*) ok "$1: the walk in its memory says '$2' ($walk)" 0 ;;
	*) ok "$1: the walk in its memory says '$2' (logged: ${walk:-nothing})" 1 ;;
	esac
	shutdown_report >/tmp/shutdowns
	grep -q "^shutdown| *tf_guest-$tid .* rip 0x0*$rip " /tmp/shutdowns
	ok "$1: the SHUTDOWN exit is in the record the judge reads" $?
	fault_unexplained
	rc=$?
	[ $rc = 1 ]
	ok "$1: the judge finds it explained, not the test bed's (status $rc)" $?
done
echo "1..$tap_n"
[ $tap_bad = 0 ]
