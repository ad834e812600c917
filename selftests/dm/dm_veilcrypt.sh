#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dm-veilcrypt in L1, the target itself, through veil-disk and dmsetup:
#   * every built-in cipher and a plug-in, both sector sizes: data round
#     trips, plaintext never reaches the image, and dm-crypt with the same
#     volume key, cipher, IV scheme and sector size reads what veilcrypt
#     wrote (and the other way round);
#   * every header field changed without the key (the CRC resealed, the MAC
#     not): the table load is refused by the MAC (or the check before it)
#     with a ti->error that names the reason, veil-disk open exits with the
#     documented status, and the image is not changed by one byte; a valid
#     MAC over an unknown incompat bit, cipher or size is still refused, an
#     unknown compat bit is not;
#   * the backup header, plain images and the downgrade, the table and
#     status without the key, reload from dmsetup table, key wipe/set while
#     suspended, discards, a suspended lower device, a plug-in that cannot
#     be unloaded while in use;
#   * a large write is shared with the other CPUs when they are idle, and
#     not when they are busy;
#   * a lower device that fails the I/O to part of the image, under small
#     writes in batches, large writes cut up and reads, both with a
#     synchronous and an asynchronous cipher: exactly the I/Os on the
#     failing part fail, everything else holds what was written, and
#     nothing is left in flight.
# Prints TAP.
set -u

T=0
FAILED=0
W=/tmp/vcrypt
MOD=${VEIL_MODDIR:-/lib/veil}
HELPER=$(cd "$(dirname "$0")" && pwd)/vcrypt_helper
DATA_OFF=4194304		# veil-disk's default data offset
SIZE=1048576			# data bytes of every test image
SECTORS=$((SIZE / 512))
# Argon2id at a test's cost: the default benchmarks the machine for 2 s.
PB="--pbkdf-memory 64 --pbkdf-force-iterations 1"

ok() { T=$((T + 1)); echo "ok $T $*"; }
nok() { T=$((T + 1)); FAILED=$((FAILED + 1)); echo "not ok $T $*"; }
diag() { echo "# $*"; }
# Where the time goes: each section says when it starts.
section() { echo "# section $* at $(cut -d' ' -f1 /proc/uptime)s"; }
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}
# expect_eq DESC WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		nok "$1"
		diag "expected '$2', saw '$3'"
	fi
}

hash() { sha256sum "$@" | cut -d' ' -f1; }
hexkey() { od -An -tx1 -v "$1" | tr -d ' \n'; }
klog_mark() { dmesg | wc -l; }
klog_since() { dmesg | tail -n +$(($1 + 1)); }
dm_minor() { dmsetup info -c --noheadings -o minor "$1" | tr -d ' '; }
read_dev() { [ -b "$1" ] && dd if="$1" bs=65536 count=$((SIZE / 65536)) 2>/dev/null | hash; }
write_dev() { [ -b "$1" ] && dd if="$2" of="$1" bs=65536 conv=fsync 2>/dev/null; }
# No udev in the VM: dmsetup leaves the node to us.
dm_create() { dmsetup create "$@" && dmsetup mknodes "$1" && [ -b "/dev/mapper/$1" ]; }
# vformat IMAGE VOLUME_KEY [ARGS...]: an image with that volume key, opened by pw.
vformat() {
	local img=$1 vk=$2
	shift 2
	rm -f "$img"
	# shellcheck disable=SC2086
	veil-disk format "$img" --size $SIZE --volume-key-file "$vk" --key-file pw $PB "$@" >/dev/null
}
vopen() { veil-disk open "$1" "$2" --key-file pw >/dev/null; }

mkdir -p "$W" && cd "$W" || exit 1
if [ ! -x "$HELPER" ]; then
	echo "not ok 1 vcrypt_helper is installed beside this test (run both)"
	exit 1
fi
if ! insmod "$MOD/dm-veilcrypt.ko"; then
	echo "not ok 1 dm-veilcrypt.ko loads"
	exit 1
fi
ok "dm-veilcrypt.ko loads"

for n in 16 24 32 64; do
	head -c $n /dev/urandom >key.$n
done
head -c 64 /dev/urandom >wrong.64
printf 'correct horse battery staple' >pw
# Half text that must never show up on the image, half random.
yes "VEIL-PLAINTEXT-MARKER-0123456789" | head -c $((SIZE / 2)) >plain.bin
head -c $((SIZE / 2)) /dev/urandom >>plain.bin
head -c $SIZE /dev/urandom >plain2.bin
PLAIN=$(hash plain.bin)
PLAIN2=$(hash plain2.bin)

# dm-crypt's table for the data area of an image on loop device $3.
dmcrypt_table() {
	local spec=$1 key=$2 loop=$3 ss=$4 extra=
	[ "$ss" = 512 ] || extra=" 2 sector_size:$ss iv_large_sectors"
	echo "0 $SECTORS crypt $spec $(hexkey "$key") 0 $loop $((DATA_OFF / 512))$extra"
}

# roundtrip LABEL "FORMAT-ARGS" VOLUME_KEY SECTOR_SIZE DMCRYPT_SPEC
roundtrip() {
	local label=$1 fmt=$2 key=$3 ss=$4 spec=$5 loop
	local img=rt.img

	# shellcheck disable=SC2086
	if ! vformat $img "$key" $fmt --sector-size "$ss"; then
		nok "$label: veil-disk format"
		return
	fi
	if ! vopen $img vc0 || ! [ -b /dev/mapper/vc0 ]; then
		nok "$label: veil-disk open makes /dev/mapper/vc0"
		return
	fi
	check "$label: write through veilcrypt (fsync)" write_dev /dev/mapper/vc0 plain.bin
	veil-disk close vc0
	check "$label: plaintext never appears on the image" \
		sh -c "! grep -q VEIL-PLAINTEXT-MARKER $img"
	vopen $img vc0
	expect_eq "$label: data read back after close and reopen" \
		"$PLAIN" "$(read_dev /dev/mapper/vc0)"
	veil-disk close vc0

	# Independent check: dm-crypt decrypts what veilcrypt encrypted ...
	loop=$(losetup -f)
	losetup $loop $img
	if dm_create dc0 --readonly --table "$(dmcrypt_table "$spec" "$key" $loop "$ss")"; then
		expect_eq "$label: dm-crypt ($spec) reads veilcrypt's ciphertext" \
			"$PLAIN" "$(read_dev /dev/mapper/dc0)"
		dmsetup remove dc0
	else
		nok "$label: dm-crypt table for $spec loads"
	fi
	# ... and veilcrypt decrypts what dm-crypt encrypted.
	if dm_create dc0 --table "$(dmcrypt_table "$spec" "$key" $loop "$ss")"; then
		write_dev /dev/mapper/dc0 plain2.bin
		dmsetup remove dc0
		vopen $img vc0
		expect_eq "$label: veilcrypt reads dm-crypt's ciphertext" \
			"$PLAIN2" "$(read_dev /dev/mapper/vc0)"
		veil-disk close vc0
	else
		nok "$label: dm-crypt table for $spec loads (rw)"
	fi
	losetup -d $loop
}

section "round trips"
for ss in 512 4096; do
	roundtrip "aes-xts-plain64/$ss" "--cipher aes-xts-plain64" key.64 $ss aes-xts-plain64
	roundtrip "aes-xts-plain64 256-bit/$ss" "--cipher aes-xts-plain64 --key-size 32" key.32 $ss aes-xts-plain64
	roundtrip "aes-cbc-essiv:sha256/$ss" "--cipher aes-cbc-essiv:sha256" key.32 $ss aes-cbc-essiv:sha256
	roundtrip "serpent-xts-plain64/$ss" "--cipher serpent-xts-plain64" key.64 $ss serpent-xts-plain64
	roundtrip "adiantum/$ss" "--cipher adiantum" key.32 $ss xchacha12,aes-adiantum-plain64
done

# ---- changed headers: refused with the reason named, image unchanged -------
section "changed headers: refused with the reason named, image unchanged"

vformat base.img key.64
fresh() { cp base.img bad.img; }

# refused CASE WANT_ERROR [KEYARG]: a veilcrypt table on bad.img must not load.
refused() {
	local c=$1 want=$2 keyarg=${3:-$(hexkey key.64)} before mark log loop
	before=$(hash bad.img)
	loop=$(losetup -f)
	losetup $loop bad.img
	mark=$(klog_mark)
	if dmsetup create bad0 --table "0 $SECTORS veilcrypt $loop $keyarg" 2>/dev/null; then
		nok "$c: table load refused"
		dmsetup remove bad0
	else
		log=$(klog_since "$mark")
		if echo "$log" | grep -qF "veilcrypt: $want"; then
			ok "$c: table load refused: $want"
		else
			nok "$c: table load refused with the right ti->error"
			diag "wanted '$want' in: $log"
		fi
	fi
	losetup -d $loop
	expect_eq "$c: image unchanged" "$before" "$(hash bad.img)"
}

# What veil-disk open says of a header changed without the key.
open_status() {
	case $1 in
	magic|version|hdr_size|incompat|reserved) echo 3 ;;	# no valid header
	flags_plain) echo 4 ;;				# plain: refused without --plain
	*) echo 6 ;;					# the MAC (or the key) fails
	esac
}

for c in $("$HELPER" cases); do
	fresh
	want=$("$HELPER" tamper bad.img "$c") || { nok "$c: tamper helper"; continue; }
	refused "changed $c" "$want"
	veil-disk open bad.img vb0 --key-file pw >/dev/null 2>&1
	expect_eq "changed $c: veil-disk open exits $(open_status "$c")" "$(open_status "$c")" $?
	dmsetup remove vb0 2>/dev/null
done

# A valid MAC over what this module does not know or cannot use.
for c in incompat unknown_cipher_id key_size_for_cipher device_smaller_than_header \
	 sector_size_2048; do
	fresh
	want=$("$HELPER" reseal bad.img "$c" key.64) || { nok "$c: reseal helper"; continue; }
	refused "sealed $c" "$want"
done
fresh
"$HELPER" reseal bad.img compat key.64 >/dev/null
if vopen bad.img vb0; then
	ok "sealed unknown compat bit: the image opens"
	veil-disk close vb0
else
	nok "sealed unknown compat bit: the image opens"
fi

fresh
refused "wrong key" "Key does not match header key_digest" "$(hexkey wrong.64)"
refused "key shorter than header key_size" "Key does not match header key_digest" \
	"$(hexkey key.32)"
refused "key not hex" "Invalid key: not hex" "zz$(hexkey key.64 | cut -c3-)"
refused "no key for an encrypted image" "Encrypted image needs a key" "-"
fresh
truncate -s 1000000 bad.img
refused "truncated image" "Device too small for the image metadata"

# ---- backup header ---------------------------------------------------------
section "backup header"

vformat bk.img key.64
"$HELPER" tamper bk.img mac primary >/dev/null
hdr_before=$(dd if=bk.img bs=4096 count=1 2>/dev/null | hash)
mark=$(klog_mark)
if vopen bk.img vc0; then
	ok "primary header fails its MAC: the backup opens"
	check "backup use is reported in the kernel log" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'primary header not usable (Header MAC does not verify'"
	check "backup use is reported in status" \
		sh -c "dmsetup status vc0 | grep -q backup_header"
	write_dev /dev/mapper/vc0 plain.bin
	veil-disk close vc0
	vopen bk.img vc0
	expect_eq "backup header: data round trips" "$PLAIN" "$(read_dev /dev/mapper/vc0)"
	veil-disk close vc0
else
	nok "primary header fails its MAC: the backup opens"
fi
expect_eq "backup header: the bad primary is left as it was" \
	"$hdr_before" "$(dd if=bk.img bs=4096 count=1 2>/dev/null | hash)"

# ---- plain images, and the downgrade ---------------------------------------
section "plain images, and the downgrade"

rm -f pl.img
veil-disk format pl.img --size $SIZE --plain >/dev/null
veil-disk open pl.img vp0 --key-file pw >/dev/null 2>&1
expect_eq "plain image with a key: refused without --plain (exit 4)" 4 $?
if veil-disk open pl.img vp0 --plain >/dev/null; then
	write_dev /dev/mapper/vp0 plain.bin
	veil-disk close vp0
	expect_eq "plain image: data lies in the clear after the header" "$PLAIN" \
		"$(dd if=pl.img bs=65536 skip=$((DATA_OFF / 65536)) count=$((SIZE / 65536)) 2>/dev/null | hash)"
else
	nok "plain image opens with --plain"
fi
vformat k.img key.64
veil-disk open k.img vp0 --plain >/dev/null 2>&1
expect_eq "encrypted image: --plain refused (exit 4)" 4 $?

# ---- the table, status, reload, key wipe/set -------------------------------
section "the table, status, reload, key wipe/set"

vopen k.img vc0
write_dev /dev/mapper/vc0 plain.bin
hk=$(hexkey key.64)
check "table never shows the key" sh -c "! dmsetup table vc0 | grep -q $hk"
check "status never shows the key" sh -c "! dmsetup status vc0 | grep -q $hk"
check "the table names the key as a logon key reference" \
	sh -c "dmsetup table vc0 | grep -Eq ' :64:logon:veil:[0-9a-f-]{36}( |\$)'"
check "dm uuid is VEIL-<image uuid>-vc0" \
	sh -c "dmsetup info -c --noheadings -o uuid vc0 | grep -Eq '^VEIL-[0-9a-f-]{36}-vc0\$'"
dmsetup table vc0 | cut -d' ' -f1- >table.vc0
if dmsetup load vc0 table.vc0 && dmsetup suspend vc0 && dmsetup resume vc0; then
	ok "dmsetup table | dmsetup load reloads the table (the key stays in the keyring)"
else
	nok "dmsetup table | dmsetup load reloads the table"
	dmsetup resume vc0 2>/dev/null
fi
expect_eq "data intact after the reload" "$PLAIN" "$(read_dev /dev/mapper/vc0)"

check "key wipe refused while the device is live" \
	sh -c "! dmsetup message vc0 0 key wipe 2>/dev/null"
dmsetup suspend vc0
check "key wipe accepted while suspended" dmsetup message vc0 0 key wipe
check "status says the key is wiped" sh -c "dmsetup status vc0 | grep -q key_wiped"
check "resume refused with the key wiped" sh -c "! dmsetup resume vc0 2>/dev/null"
check "key set with a wrong key refused" \
	sh -c "! dmsetup message vc0 0 key set $(hexkey wrong.64) 2>/dev/null"
check "key set with the right key accepted" dmsetup message vc0 0 key set "$hk"
check "resume after key set" dmsetup resume vc0
check "key set refused again once resumed" \
	sh -c "! dmsetup message vc0 0 key set $hk 2>/dev/null"
expect_eq "data intact after key wipe and set" "$PLAIN" "$(read_dev /dev/mapper/vc0)"
veil-disk close vc0

if "$HELPER" addkey logon veiltest:k32 key.32 >/dev/null; then
	rm -f bad.img
	cp k.img bad.img
	refused "keyring key of the wrong size" "Keyring key size differs from the reference" \
		":64:logon:veiltest:k32"
	refused "keyring key missing" "Key not found in the keyring" ":64:logon:veiltest:none"
else
	nok "vcrypt_helper adds a logon key"
fi

# ---- discards --------------------------------------------------------------
section "discards"

vopen k.img vc0
expect_eq "no discards without allow_discards" 0 \
	"$(cat /sys/block/dm-"$(dm_minor vc0)"/queue/discard_max_bytes)"
check "blkdiscard refused without allow_discards" sh -c "! blkdiscard /dev/mapper/vc0 2>/dev/null"
veil-disk close vc0
veil-disk open k.img vc0 --key-file pw --allow-discards >/dev/null
check "blkdiscard passes with allow_discards" blkdiscard /dev/mapper/vc0
expect_eq "table echoes allow_discards" "1 allow_discards" \
	"$(dmsetup table vc0 | awk '{ print $6, $7 }')"
veil-disk close vc0

# ---- a lower device that does not answer -----------------------------------
section "a lower device that does not answer"

# The header read is bounded: a table on a suspended device fails, and the
# read it left behind completes (and frees itself) once the device resumes.
loop=$(losetup -f)
losetup $loop k.img
dm_create lower0 --table "0 $(($(stat -c %s k.img) / 512)) linear $loop 0"
dmsetup suspend lower0
echo 2000 >/sys/module/dm_veilcrypt/parameters/header_timeout_ms
mark=$(klog_mark)
t0=$(cut -d. -f1 /proc/uptime)
if dmsetup create hang0 --table "0 $SECTORS veilcrypt /dev/mapper/lower0 $hk" 2>/dev/null; then
	nok "table on a suspended lower device: refused after header_timeout_ms"
	dmsetup remove hang0
else
	t1=$(cut -d. -f1 /proc/uptime)
	if klog_since "$mark" | grep -q "Header not read within header_timeout_ms" &&
	   [ $((t1 - t0)) -lt 30 ]; then
		ok "table on a suspended lower device: refused after header_timeout_ms ($((t1 - t0))s)"
	else
		nok "table on a suspended lower device: refused after header_timeout_ms"
		diag "took $((t1 - t0))s; log: $(klog_since "$mark")"
	fi
fi
echo 30000 >/sys/module/dm_veilcrypt/parameters/header_timeout_ms
check "the lower device resumes, the abandoned read completes" dmsetup resume lower0
dd if=/dev/mapper/lower0 of=/dev/null bs=4096 count=1 2>/dev/null
dmsetup remove lower0
losetup -d $loop

# ---- large bios on CPUs with room ------------------------------------------
section "large bios on CPUs with room"

# A write of at least split_kib is cut into a chunk converted where it is
# and one for each other CPU nearby that had idle time lately, run there
# by vcrypt_chunk_work (counted with the function tracer, by CPU).  With
# the writer on CPU 0 and the others idle, they take a share of every
# write; with them kept busy, none: it would only make them trade work.
TR=/sys/kernel/tracing
# remote_chunks: 8 writes of 1 MiB from CPU 0; how many chunks ran on
# another CPU meanwhile.
remote_chunks() {
	local i
	taskset -c 0 dd if=/dev/zero of=/dev/mapper/vc0 bs=1M count=1 oflag=direct 2>/dev/null
	: >$TR/trace
	for i in 1 2 3 4 5 6 7 8; do
		taskset -c 0 dd if=/dev/zero of=/dev/mapper/vc0 bs=1M count=1 oflag=direct 2>/dev/null
	done
	grep ' vcrypt_chunk_work' $TR/trace | grep -vc '\[000\]'
}
if [ "$(nproc)" -lt 2 ] || ! [ -w $TR/set_ftrace_filter ]; then
	nok "large bios on CPUs with room: two CPUs and the function tracer"
elif ! vformat rt.img key.64 || ! vopen rt.img vc0; then
	nok "large bios on CPUs with room: veil-disk format and open"
elif ! echo vcrypt_chunk_work >$TR/set_ftrace_filter || ! echo function >$TR/current_tracer; then
	nok "large bios on CPUs with room: the function tracer takes vcrypt_chunk_work"
	veil-disk close vc0
else
	n=$(remote_chunks)
	check "1 MiB writes from CPU 0, the others idle: they convert a share ($n chunks of 8 writes)" \
		[ "$n" -ge 8 ]
	spin=
	for c in $(seq 1 $(($(nproc) - 1))); do
		taskset -c "$c" sh -c 'while :; do :; done' &
		spin="$spin $!"
	done
	sleep 1
	n=$(remote_chunks)
	check "... the others busy with a spinning process each: they convert none ($n chunks)" \
		[ "$n" = 0 ]
	for c in $spin; do
		kill "$c"
		wait "$c" 2>/dev/null
	done
	echo nop >$TR/current_tracer
	: >$TR/set_ftrace_filter
	veil-disk close vc0
fi

# ---- a lower device that fails ---------------------------------------------
section "a lower device that fails"

# fio_errors NAME FIO-ARGS...: fio on /dev/mapper/vcE going on past I/O
# errors; prints how many of its I/Os failed (nothing if fio did not run).
fio_errors() {
	local name=$1
	shift
	fio --name="$name" --filename=/dev/mapper/vcE --direct=1 --ioengine=libaio \
		--continue_on_error=io --output-format=json "$@" >"fio-$name.json" 2>"fio-$name.err"
	jq -e '.jobs[0].total_err' "fio-$name.json" 2>/dev/null
}
ok_if() {	# ok_if STATUS DESCRIPTION
	if [ "$1" = 0 ]; then ok "$2"; else nok "$2"; fi
}
# same_as CHAR SKIP COUNT: COUNT 4 KiB blocks of vcE from block SKIP on
# read back as that character, every byte.
same_as() {
	[ "$(dd if=/dev/mapper/vcE bs=4096 skip="$2" count="$3" 2>/dev/null | hash)" = \
		"$(head -c $(($3 * 4096)) /dev/zero | tr '\000' "$1" | hash)" ]
}

# failing_lower LABEL VOLUME_KEY [FORMAT-ARGS...]: an image whose lower
# device fails every I/O to 64 KiB of its data area (a dm "error" target
# in a dm-linear map: blocks 128 to 143 of the data), written and read at
# depth: small writes in batches, large ones cut up, and reads.  Exactly
# the I/Os that touch the hole fail, each alone: every other block holds
# what was written; the device then closes at once (nothing left in
# flight).
failing_lower() {
	local label=$1 key=$2 loop hole end n
	shift 2
	if ! vformat rt.img "$key" --sector-size 4096 "$@"; then
		nok "$label: veil-disk format"
		return
	fi
	loop=$(losetup -f)
	losetup $loop rt.img
	hole=$((DATA_OFF / 512 + 1024))
	end=$(($(stat -c %s rt.img) / 512))
	if ! printf '%s\n' "0 $hole linear $loop 0" "$hole 128 error" \
		"$((hole + 128)) $((end - hole - 128)) linear $loop $((hole + 128))" |
		dm_create lowerE || ! veil-disk open /dev/mapper/lowerE vcE --key-file pw >/dev/null; then
		nok "$label: veil-disk opens an image over a lower device with a hole"
		dmsetup remove lowerE 2>/dev/null
		losetup -d $loop
		return
	fi
	# 256 one-block writes, 32 in flight, submitted 16 at a time: the
	# batches of the next CPU, each sent down under one plug.
	n=$(fio_errors small --rw=write --bs=4k --iodepth=32 --iodepth_batch_submit=16 \
		--iodepth_batch_complete_min=16 --size=1m --buffer_pattern=0x5a)
	expect_eq "$label: 4 KiB writes at depth 32 over the hole: the 16 on it fail" 16 "${n:-fio did not run}"
	same_as Z 0 128 && same_as Z 144 112
	ok_if $? "$label: ... and the 240 others hold what was written"
	# Four 256 KiB writes, each cut into chunks: the one on the hole fails.
	n=$(fio_errors large --rw=write --bs=256k --iodepth=4 --size=1m --buffer_pattern=0x65)
	expect_eq "$label: 256 KiB writes over the hole: the one on it fails" 1 "${n:-fio did not run}"
	same_as e 0 128 && same_as e 192 64
	ok_if $? "$label: ... and the three others hold what was written"
	# Every block read once, 32 in flight: only the 16 in the hole fail.
	n=$(fio_errors reads --rw=randread --bs=4k --iodepth=32 --size=1m)
	expect_eq "$label: 4 KiB random reads at depth 32: the 16 on the hole fail" 16 "${n:-fio did not run}"
	check "$label: the device closes at once: nothing was left in flight" \
		timeout 60 veil-disk close vcE
	dmsetup remove lowerE
	losetup -d $loop
}
failing_lower "failing lower device" key.64

# ---- a plug-in cipher ------------------------------------------------------
section "a plug-in cipher"

if insmod "$MOD/vcrypt_test_plugin.ko"; then
	ok "test plug-in registers ciphers 0x8001 and 0x8002"
	for ss in 512 4096; do
		roundtrip "plug-in 0x8001/$ss" "--cipher-id 0x8001 --key-size 32" key.32 $ss aes-cbc-plain64
		# cryptd answers -EINPROGRESS every time: the asynchronous path
		roundtrip "async plug-in 0x8002/$ss" "--cipher-id 0x8002 --key-size 64" key.64 $ss aes-xts-plain64
	done
	# A deep queue of one-sector writes goes to the batches; with an
	# asynchronous cipher each ends in the cipher's callback, which sends
	# it down through the sorted list.
	if vformat rt.img key.64 --cipher-id 0x8002 --key-size 64 --sector-size 4096 &&
		vopen rt.img vc0; then
		if fio --name=async --filename=/dev/mapper/vc0 --direct=1 --ioengine=libaio \
			--rw=write --bs=4k --iodepth=32 --iodepth_batch_submit=16 \
			--iodepth_batch_complete_min=16 --size=1m --verify=crc32c \
			--verify_fatal=1 --do_verify=1 >fio-async.log 2>&1; then
			ok "async plug-in: 4 KiB writes at depth 32, verified"
		else
			nok "async plug-in: 4 KiB writes at depth 32, verified"
			sed 's/^/# /' fio-async.log | tail -n 20
		fi
		veil-disk close vc0
	else
		nok "async plug-in: 4 KiB writes at depth 32, verified (format, open)"
	fi
	failing_lower "async plug-in, failing lower device" key.64 \
		--cipher-id 0x8002 --key-size 64
	vformat rt.img key.32 --cipher-id 0x8001 --key-size 32
	vopen rt.img vc0
	check "plug-in unload refused while a table uses it" \
		sh -c "! rmmod vcrypt_test_plugin 2>/dev/null"
	veil-disk close vc0
	check "plug-in unloads once unused" rmmod vcrypt_test_plugin
	rm -f bad.img
	cp rt.img bad.img
	refused "plug-in gone" "Unknown header cipher_id" "$(hexkey key.32)"
else
	nok "test plug-in registers ciphers 0x8001 and 0x8002"
fi

check "dm-veilcrypt unloads" rmmod dm_veilcrypt
section "end"
echo "1..$T"
[ $FAILED = 0 ]
