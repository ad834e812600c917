#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The veil command against veil_guest: exclude, list, include, status,
# extents, dontdump, the zswap warning, and its exit codes (tools/include/veil_exit.h) for
# refused requests and bad usage.
n=0 failed=0

ok() {	# ok DESCRIPTION COMMAND...
	desc=$1
	shift
	n=$((n + 1))
	if "$@" >/tmp/veil_cli.out 2>&1; then
		echo "ok $n $desc"
	else
		echo "not ok $n $desc"
		sed 's/^/# /' /tmp/veil_cli.out
		failed=$((failed + 1))
	fi
}

exit_code() {	# exit_code EXPECTED COMMAND...
	want=$1
	shift
	"$@" >/dev/null 2>&1
	[ $? -eq "$want" ]
}

json_escapes() {	# a command name with a quote and a backslash
	veil exclude --comm 'a"b\c' || return 1
	veil list --json >/tmp/veil_cli.json
	veil include --comm 'a"b\c' || return 1
	cat /tmp/veil_cli.json
	grep -qF '"name": "a\"b\\c"' /tmp/veil_cli.json
}

# veil status warns about zswap exactly when it is on, in text and JSON.
zswap_warning() {
	z=/sys/module/zswap/parameters/enabled
	was=$(cat $z)
	echo N >$z || return 1
	veil status >/tmp/zs.off && veil status --json >>/tmp/zs.off || return 1
	echo Y >$z || return 1
	veil status >/tmp/zs.on && veil status --json >>/tmp/zs.on
	echo "$was" >$z
	cat /tmp/zs.off /tmp/zs.on
	! grep -q 'zswap is on' /tmp/zs.off && grep -q '"zswap": false' /tmp/zs.off &&
		grep -q '^warning: *zswap is on' /tmp/zs.on && grep -q '"zswap": true' /tmp/zs.on
}

if ! command -v veil >/dev/null; then
	echo "1..0 # SKIP the veil tool is not installed"
	exit 4
fi
if [ ! -e /sys/module/veil_guest ] &&
   ! insmod "${VEIL_MODDIR:-/lib/veil}/veil_guest.ko" test_hooks=1 kernel_objects=1; then
	echo "1..0 # SKIP cannot load veil_guest"
	exit 4
fi

echo "TAP version 13"
echo "1..21"
sleep 1000 &
pid=$!

ok "exclude a PID with its children" veil exclude --children "$pid"
ok "list shows it, with its command and pages" \
	sh -c "veil list | grep -q \"pid $pid +children (sleep) processes=1 anon=[1-9]\""
ok "list --json names it" sh -c "veil list --json | grep -q '\"pid\": $pid, \"children\": true'"
ok "status counts one entry" sh -c "veil status | grep -q 'selection:  1 entries'"
ok "extents shows a non-empty dry run" sh -c "veil extents | grep -q '^[1-9][0-9]* extents'"
ok "excluding it again is refused (exit 1)" exit_code 1 veil exclude "$pid"
ok "include it" veil include "$pid"
ok "including it again finds no such entry (exit 3)" exit_code 3 veil include "$pid"
ok "a word is not a PID (exit 2)" exit_code 2 veil exclude notapid
ok "--comm with a PID is bad usage (exit 2)" exit_code 2 veil exclude --comm sleep "$pid"
ok "a bad PID after good ones changes nothing (exit 2)" \
	sh -c "veil exclude $pid notapid; [ \$? = 2 ] && ! veil list | grep -q 'pid $pid'"
ok "list --json escapes quotes and backslashes in names" json_escapes
ok "an unknown command is bad usage (exit 2)" exit_code 2 veil frobnicate
ok "dontdump on sets the module parameter" \
	sh -c 'veil dontdump on && grep -q Y /sys/module/veil_guest/parameters/dontdump'
ok "dontdump off clears it" \
	sh -c 'veil dontdump off && grep -q N /sys/module/veil_guest/parameters/dontdump'
ok "exclude and include with --json or -j print their success" \
	sh -c "veil exclude --json $pid | grep -q '\"command\": \"exclude\", \"ok\": true}' &&
		veil include -j $pid | grep -q '\"command\": \"include\", \"ok\": true}'"
ok "include --exited, none being left, finds none (exit 3)" \
	sh -c "veil include --exited; veil include --exited; [ \$? = 3 ]"
ok "--exited goes with include alone (exit 2)" \
	sh -c "veil exclude --exited; [ \$? = 2 ] && veil include --exited $pid; [ \$? = 2 ]"
ok "include --exited drops an exited process's entry" \
	sh -c "sleep 1000 & p=\$!; veil exclude \$p || exit 1; kill \$p; wait \$p 2>/dev/null;
		veil list | grep -q exited && veil include --exited && ! veil list | grep -q exited"
ok "--help with --json prints the help only" \
	sh -c "veil --help --json >/tmp/h && grep -q '^usage' /tmp/h && ! grep -q schema /tmp/h"
if [ -w /sys/module/zswap/parameters/enabled ]; then
	ok "status warns when zswap is on, and only then" zswap_warning
else
	n=$((n + 1))
	echo "ok $n status warns when zswap is on # SKIP this kernel has no zswap"
fi

kill "$pid"
[ "$failed" -eq 0 ]
