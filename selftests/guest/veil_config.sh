#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A guest that remembers: 'veil apply' makes the selection equal to
# /etc/veil/exclude.conf (names, cgroups, systemd units, the dontdump
# switch), removing what the file does not name; 'veil exclude --unit'
# finds a unit's cgroup through systemctl; status shows the switch and the
# module's counters; and --json answers failures with an object too.
# systemctl is a stand-in here (busybox has no systemd) that answers
# "show --property=ControlGroup --value -- UNIT" as systemd does.
n=0 failed=0

ok() {	# ok DESCRIPTION COMMAND...
	desc=$1
	shift
	n=$((n + 1))
	if "$@" >/tmp/veil_config.out 2>&1; then
		echo "ok $n $desc"
	else
		echo "not ok $n $desc"
		sed 's/^/# /' /tmp/veil_config.out
		failed=$((failed + 1))
	fi
}

exit_code() {	# exit_code EXPECTED COMMAND...
	want=$1
	shift
	"$@"
	rc=$?
	[ $rc -eq "$want" ] || { echo "exit $rc, expected $want"; return 1; }
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
if [ ! -e /sys/fs/cgroup/cgroup.procs ]; then
	echo "1..0 # SKIP no cgroup v2 hierarchy"
	exit 4
fi

mkdir -p /tmp/bin /sys/fs/cgroup/veiltest /sys/fs/cgroup/app.slice/app.service
cat >/tmp/bin/systemctl <<'STUB'
#!/bin/sh
[ "$1 $2 $3 $4" = "show --property=ControlGroup --value --" ] || exit 1
case $5 in
app.service) echo /app.slice/app.service ;;
*) echo ;;
esac
STUB
chmod +x /tmp/bin/systemctl
export PATH=/tmp/bin:$PATH
conf=/tmp/exclude.conf
cat >$conf <<'CONF'
# what stays out of checkpoints
comm sleepy
cgroup /veiltest
unit app.service   # a systemd unit
dontdump on
CONF

echo "TAP version 13"
echo "1..20"
sleep 1000 &
pid=$!
veil dontdump off
veil exclude "$pid" && veil exclude --comm stale

selection() {	# the selection as "kind name" lines, sorted
	veil list | awk '{ print $1, ($1 == "pid" ? $2 : $2) }' | sort
}

has_exactly() {	# has_exactly LINE...: the selection is these lines
	selection >/tmp/sel.now
	printf '%s\n' "$@" | sort >/tmp/sel.want
	diff /tmp/sel.want /tmp/sel.now
}

ok "apply --dry-run says what it would change" \
	sh -c "veil apply --file $conf --dry-run >/tmp/dry && grep -q '^removed pid $pid' /tmp/dry &&
	       grep -q '^added cgroup /app.slice/app.service (unit app.service)' /tmp/dry &&
	       grep -q '^set dontdump on' /tmp/dry"
ok "apply --dry-run changes nothing" has_exactly "comm stale" "pid $pid"
ok "apply makes the selection equal to the file" veil apply --file $conf
ok "the selection holds the file's names, cgroup and unit, and nothing else" \
	has_exactly "cgroup /app.slice/app.service" "cgroup /veiltest" "comm sleepy"
ok "apply set the dontdump switch" grep -q Y /sys/module/veil_guest/parameters/dontdump
ok "a second apply changes nothing" \
	sh -c "veil apply --file $conf >/tmp/again && [ ! -s /tmp/again ]"
ok "status shows the dontdump switch and the module's counters" \
	sh -c "veil status >/tmp/st && grep -q '^dontdump:   on' /tmp/st &&
	       grep -q '^prepares:   [0-9]*, thaws [0-9]*' /tmp/st && grep -q '^last error: ' /tmp/st"
ok "status --json carries its schema version and the counters" \
	sh -c "veil status --json | grep -q '^{\"schema\": 1, \"command\": \"status\", \"ok\": true, .*\"dontdump\": true.*\"prepares\": [0-9]*, \"thaws\": [0-9]*'"
ok "list --json is an object with its schema version" \
	sh -c "veil list --json | grep -q '^{\"schema\": 1, \"command\": \"list\", \"ok\": true, \"entries\": \\['"

ok "a unit that is excluded already is refused (exit 1)" \
	exit_code 1 veil exclude --unit app.service
ok "include --unit removes the unit's cgroup" \
	sh -c "veil include --unit app.service && ! veil list | grep -q app.service"
ok "a unit without a cgroup (not running) is not found (exit 3)" \
	exit_code 3 veil exclude --unit stopped.service
ok "a name that is no unit is bad usage (exit 2)" \
	exit_code 2 veil exclude --unit 'not a unit'

cat >/tmp/bad.conf <<'CONF'
comm sleepy
pid 1234
CONF
veil apply --file $conf >/dev/null
ok "a file that names a PID is refused with its line (exit 1)" \
	sh -c "veil apply --file /tmp/bad.conf 2>/tmp/bad.err; [ \$? = 1 ] && grep -q 'bad.conf:2:' /tmp/bad.err"
ok "a refused file changes nothing" \
	has_exactly "cgroup /app.slice/app.service" "cgroup /veiltest" "comm sleepy"

printf 'comm sleepy\nunit stopped.service\n' >/tmp/part.conf
ok "a unit that does not run fails the apply (exit 3)..." \
	exit_code 3 veil apply --file /tmp/part.conf
ok "...after the rest of the file is applied" has_exactly "comm sleepy"
ok "apply --json reports each change and the failure" \
	sh -c "veil apply --file $conf --json >/tmp/aj; grep -q '\"change\": \"added\", \"kind\": \"cgroup\", \"name\": \"/veiltest\"' /tmp/aj &&
	       grep -q '\"ok\": true, \"exit\": 0' /tmp/aj"
ok "a failure with --json is an object with the exit status" \
	sh -c "veil include 999999 --json >/tmp/fj; [ \$? = 3 ] &&
	       grep -q '^{\"schema\": 1, \"command\": \"include\", \"ok\": false, \"exit\": 3, \"error\": ' /tmp/fj"
ok "--version prints the tree's version" sh -c "veil --version | grep -q '^veil [0-9]'"

veil apply --file /dev/null >/dev/null
veil dontdump off
kill "$pid"
rmdir /sys/fs/cgroup/app.slice/app.service /sys/fs/cgroup/app.slice /sys/fs/cgroup/veiltest
[ "$failed" -eq 0 ]
