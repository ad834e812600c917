#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# L2 side of the e2e suite: answers the L1 test on the second serial line
# (ttyS1) until told "done".
#   ping      -> "pong N", N counting the pings this guest's memory has seen:
#                a guest restored from a checkpoint goes on from the
#                checkpoint's count, which proves the restore was real
#   run CMD   -> CMD's output lines as "out ...", then "rc STATUS"
#                (CMD must send the output of anything it leaves running
#                to a file)
echo "TAP version 13"
echo "1..1"
stty -F /dev/ttyS1 raw -echo || { echo "not ok 1 serve_host: no ttyS1"; exit 1; }
exec 3<>/dev/ttyS1
echo ready >&3
n=0
while read -r cmd <&3; do
	case $cmd in
	ping)
		n=$((n + 1))
		echo "pong $n" >&3
		;;
	run\ *)
		sh -c "${cmd#run }" </dev/null >/tmp/run.out 2>&1 3>&-
		rc=$?
		sed 's/^/out /' /tmp/run.out >&3
		echo "rc $rc" >&3
		;;
	done)
		echo "ok 1 serve_host: answered $n pings"
		exit 0
		;;
	esac
done
echo "not ok 1 serve_host: ttyS1 closed after $n pings"
exit 1
