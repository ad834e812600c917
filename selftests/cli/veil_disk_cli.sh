#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# veil-disk's command line on the build machine: regular files only, no
# VM, no device-mapper, no loop device, no keyring.
#   * format, dump, check, add-key, change-key, remove-key, resize,
#     header-backup, header-restore and benchmark answer --json with one
#     object on one line: "schema" 1, "command", "ok", and what they did;
#   * a failure under --json (wrong key, refused, not found, bad usage)
#     is one object too, with "ok": false, "exit" equal to the exit
#     status and the "error" printed on standard error;
#   * the exit status follows veil_exit.h: 2 usage, 3 not found,
#     4 refused, 6 wrong key; a refused or failed change leaves the image
#     as it was;
#   * --help shows the exit status table.
# Prints TAP; exits 1 when a check fails, 4 (skip) when veil-disk is not
# built or jq is missing.
#
#   VEIL_DISK=path/to/veil-disk selftests/cli/veil_disk_cli.sh
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
VD=${VEIL_DISK:-$top/tools/veil-disk/veil-disk}
PB="--pbkdf-memory 32 --pbkdf-force-iterations 1 --pbkdf-parallel 1"
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

if [ ! -x "$VD" ]; then
	echo "# SKIP veil-disk is not built ($VD); make -C tools"
	exit 4
fi
if ! command -v jq >/dev/null 2>&1; then
	echo "# SKIP jq is missing (make deps installs it)"
	exit 4
fi

T=0
FAILED=0
ok() { T=$((T + 1)); echo "ok $T $*"; }
nok() { T=$((T + 1)); FAILED=$((FAILED + 1)); echo "not ok $T $*"; }
diag() { echo "# $*"; }
digest() { sha256sum "$1" | cut -d' ' -f1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/veil_disk_cli.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
printf 'first key' >k1
printf 'second key' >k2
printf 'third key' >k3
printf 'not a key of it' >wrong

# Every object: schema 1, the command, ok; a failure adds exit and error.
COMMON='.schema == 1 and (.ok | type == "boolean")'

# run ARGS...: veil-disk ARGS --json; stdout in $out, status in $rc.
run() {
	out=$("$VD" "$@" --json 2>stderr)
	rc=$?
}

# json_is DESC WANT_RC FILTER: judge the last run: the exit status, one
# line on stdout, and FILTER (jq) true of it.
json_is() {
	local lines

	lines=$(printf '%s' "$out" | grep -c '')
	if [ "$rc" != "$2" ]; then
		nok "$1"
		diag "expected exit $2, saw $rc; stderr: $(head -c 300 stderr)"
	elif [ "$lines" != 1 ]; then
		nok "$1"
		diag "expected one line of JSON on stdout, saw $lines: $(printf '%s' "$out" | head -c 300)"
	elif ! printf '%s' "$out" | jq -e "$COMMON and ($3)" >/dev/null 2>&1; then
		nok "$1"
		diag "expected JSON with $3, saw: $(printf '%s' "$out" | head -c 600)"
	else
		ok "$1"
	fi
}

# expect_ok DESC FILTER COMMAND ARGS...
expect_ok() {
	local desc=$1 filter=$2

	shift 2
	run "$@"
	json_is "$desc" 0 ".ok == true and .command == \"$1\" and (has(\"exit\") | not) and ($filter)"
}

# expect_fail DESC RC FILTER COMMAND ARGS...: also, the error is the
# first line veil-disk printed on standard error.
expect_fail() {
	local desc=$1 want=$2 filter=$3 first

	shift 3
	run "$@"
	json_is "$desc" "$want" ".ok == false and .command == \"$1\" and .exit == $want and (.error | type == \"string\" and length > 0) and ($filter)"
	first=$(sed -n 's/^veil-disk: //p' stderr | head -n 1)
	if [ "$rc" = "$want" ] && [ -n "$first" ] &&
	   [ "$(printf '%s' "$out" | jq -r .error 2>/dev/null)" != "$first" ]; then
		nok "$desc: \"error\" is the message on stderr"
		diag "stderr said '$first', JSON said '$(printf '%s' "$out" | jq -r .error 2>/dev/null)'"
	fi
}

# unchanged DESC FILE HASH
unchanged() {
	if [ "$(digest "$2")" = "$3" ]; then ok "$1"; else nok "$1"; fi
}

# ---- format, dump, check ----

expect_ok "format --json: the image's UUID, geometry and keyslot 0" \
	".image == \"a.img\" and (.uuid | test(\"$UUID_RE\")) and .encrypted == true and .cipher == \"aes-xts-plain64\" and .data_size == 1048576 and .sector_size == 4096 and .keyslot == 0" \
	format a.img --size 1M --key-file k1 $PB
uuid=$(printf '%s' "$out" | jq -r .uuid 2>/dev/null)

expect_ok "dump --json: both header copies valid, the format's UUID, one keyslot" \
	".primary.valid and .backup.valid and .newest == \"primary\" and .primary.uuid == \"$uuid\" and (.primary.keyslots | length) == 1 and .primary.keyslots[0].slot == 0" \
	dump a.img

expect_ok "check --json with the right key: MAC verified" \
	'.result == "ok" and .mac_verified == true and .header == "primary"' \
	check a.img --key-file k1

expect_ok "check --json without a key: whole, MAC not checked" \
	'.mac_verified == false' \
	check a.img

h=$(digest a.img)
expect_fail "check --json with a wrong key: exit 6, a JSON failure" 6 \
	'.mac_verified == false and (.result | type == "string")' \
	check a.img --key-file wrong
unchanged "check with a wrong key writes nothing" a.img "$h"

expect_fail "check --json with a missing key file: exit 3" 3 'true' \
	check a.img --key-file no-such.key

# ---- keys ----

expect_ok "add-key --json: the new key's keyslot" \
	'.image == "a.img" and .keyslot == 1' \
	add-key a.img --key-file k1 --new-key-file k2 $PB
expect_ok "the added key opens the image" '.mac_verified == true' \
	check a.img --key-file k2

h=$(digest a.img)
expect_fail "add-key --json with a wrong key: exit 6" 6 'true' \
	add-key a.img --key-file wrong --new-key-file k3 $PB
unchanged "add-key with a wrong key leaves the image as it was" a.img "$h"

expect_fail "add-key --json into a keyslot in use: exit 4" 4 'true' \
	add-key a.img --key-file k1 --new-key-file k3 --key-slot 0 $PB
unchanged "add-key into a keyslot in use leaves the image as it was" a.img "$h"

expect_ok "change-key --json: the new keyslot and the one it replaced" \
	'.keyslot == 2 and .replaced == 1' \
	change-key a.img --key-file k2 --new-key-file k3 $PB
expect_fail "after change-key the old key opens nothing: exit 6" 6 'true' \
	check a.img --key-file k2
expect_ok "after change-key the new key opens the image" '.mac_verified == true' \
	check a.img --key-file k3

expect_fail "remove-key --json of an unused keyslot: exit 3" 3 'true' \
	remove-key a.img --key-file k1 --key-slot 5

expect_ok "remove-key --json: the keyslot removed, how many are left" \
	'.keyslot == 2 and .keyslots_left == 1' \
	remove-key a.img --key-file k3
expect_ok "dump --json after remove-key: keyslot 0 alone" \
	'[.primary.keyslots[].slot] == [0] and [.backup.keyslots[].slot] == [0]' \
	dump a.img

h=$(digest a.img)
expect_fail "remove-key --json of the last keyslot without --force: exit 4" 4 'true' \
	remove-key a.img --key-file k1
unchanged "the refused remove-key leaves the image as it was" a.img "$h"

# ---- resize, header-backup, header-restore ----

expect_ok "resize --json: the new data size" \
	'.image == "a.img" and .data_size == 2097152' \
	resize a.img --key-file k1 --size 2M
expect_ok "dump --json after resize: both copies say 2 MiB" \
	'.primary.data_size == 2097152 and .backup.data_size == 2097152' \
	dump a.img
h=$(digest a.img)
expect_fail "resize --json shrinking without --force: exit 4" 4 'true' \
	resize a.img --key-file k1 --size 1M
unchanged "the refused resize leaves the image as it was" a.img "$h"

expect_ok "header-backup --json: the file and its length" \
	'.file == "a.hdr" and .bytes == 4194304' \
	header-backup a.img --file a.hdr
expect_fail "header-backup --json onto an existing file: exit 4" 4 'true' \
	header-backup a.img --file a.hdr
expect_fail "header-backup --json without --file: exit 2" 2 'true' \
	header-backup a.img

dd if=/dev/zero of=a.img bs=4096 count=1 conv=notrunc 2>/dev/null
expect_ok "dump --json of a damaged primary: the backup is the newest" \
	'.primary.valid == false and (.primary.invalid_field | type == "string") and .newest == "backup"' \
	dump a.img
expect_ok "header-restore --json: the backup's UUID" \
	".file == \"a.hdr\" and .uuid == \"$uuid\" and .bytes == 4194304" \
	header-restore a.img --file a.hdr
expect_ok "after header-restore the primary is whole and the key opens it" \
	'.mac_verified == true and .header == "primary"' \
	check a.img --key-file k1

# ---- plain images, refusals, not found ----

expect_ok "format --plain --json: not encrypted, no keyslot" \
	'.encrypted == false and .keyslot == null and .cipher == "none"' \
	format p.img --plain --size 1M
expect_fail "check --json of a plain image with a key: exit 4" 4 \
	'.result == "plain image: it has no keys"' \
	check p.img --key-file k1

h=$(digest a.img)
expect_fail "format --json over a veil image without --force: exit 4" 4 'true' \
	format a.img --size 1M --key-file k2 $PB
unchanged "the refused format leaves the image as it was" a.img "$h"

head -c 8388608 /dev/zero >zero.img
expect_fail "dump --json of a file without a header: exit 3, no copy valid" 3 \
	'.primary.valid == false and .backup.valid == false and .newest == null' \
	dump zero.img
expect_fail "check --json of a file without a header: exit 3" 3 \
	'.header == "none"' \
	check zero.img
expect_fail "dump --json of a missing file: exit 3" 3 'true' \
	dump no-such.img

# ---- usage ----

expect_fail "an unknown command under --json: exit 2, a JSON failure" 2 'true' \
	frobnicate a.img
expect_fail "a command without its operand: exit 2" 2 'true' dump
expect_fail "open without its NAME: exit 2" 2 'true' open a.img
expect_fail "--key-slot out of range: exit 2" 2 '.command == "check"' \
	check a.img --key-slot 99
run --no-such-option dump a.img
json_is "an unknown option under --json: exit 2, a JSON failure" 2 \
	'.ok == false and .exit == 2 and (.error | length > 0)'
expect_fail "format --plain with a key: exit 2" 2 'true' \
	format q.img --plain --key-file k1 --size 1M
if [ ! -e q.img ]; then ok "the refused format created no file"; else nok "the refused format created no file"; fi

# ---- benchmark (AF_ALG may be missing: then the speeds are null) ----

expect_ok "benchmark --json: one cipher row and the Argon2id cost" \
	'(.ciphers | length) == 1 and .ciphers[0].cipher == "adiantum" and .pbkdf.kdf == "argon2id" and .pbkdf.iterations == 1' \
	benchmark --cipher adiantum --sector-size 4096 --bench-time 5 $PB

# ---- text mode and --help ----

"$VD" check a.img --key-file wrong >out.txt 2>/dev/null
rc=$?
if [ $rc = 6 ] && ! grep -q '^{' out.txt; then
	ok "without --json a failure prints no JSON (exit 6)"
else
	nok "without --json a failure prints no JSON"
	diag "exit $rc, stdout: $(head -c 200 out.txt)"
fi
"$VD" --help >help.txt 2>&1
rc=$?
if [ $rc = 0 ] && grep -q '^Exit status: 0 done, 1 failed, 2 usage, 3 ' help.txt &&
   grep -q '6 wrong key' help.txt; then
	ok "--help shows the exit status table"
else
	nok "--help shows the exit status table"
	diag "exit $rc; help ends: $(tail -n 8 help.txt | tr '\n' '|')"
fi
"$VD" --help --json >help.txt 2>&1
if grep -q '^usage:' help.txt && ! grep -q '^{' help.txt; then
	ok "--help --json prints the help, not JSON"
else
	nok "--help --json prints the help, not JSON"
fi

echo "1..$T"
[ $FAILED = 0 ]
