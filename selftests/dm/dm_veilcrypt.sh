#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dm-veilcrypt in L1, end to end, through veil-disk and dmsetup:
#   * every built-in cipher and a plug-in, both sector sizes: data round
#     trips, plaintext never reaches the image, and dm-crypt with the same
#     key, cipher, IV scheme and sector size reads what veilcrypt wrote (and
#     the other way round);
#   * every bad header field, a truncated image, an unknown cipher, a wrong
#     key, a short device: the table load is refused with a ti->error that
#     names the field and the image is not changed by one byte;
#   * backup header fallback, plain images, status without the key,
#     keyring keys, key wipe/set while suspended, discards, plug-in
#     unloading refused while in use.
# Prints TAP.
set -u

T=0
FAILED=0
W=/tmp/vcrypt
MOD=${VEIL_MODDIR:-/lib/veil}
HELPER=$(cd "$(dirname "$0")" && pwd)/vcrypt_helper
DATA_OFF=1048576		# veil-disk's default data offset
SIZE=4194304			# data bytes of every test image
SECTORS=$((SIZE / 512))

ok() { T=$((T + 1)); echo "ok $T $*"; }
nok() { T=$((T + 1)); FAILED=$((FAILED + 1)); echo "not ok $T $*"; }
diag() { echo "# $*"; }
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
# Half text that must never show up on the image, half random.
yes "VEIL-PLAINTEXT-MARKER-0123456789" | head -c $((SIZE / 2)) >plain.bin
head -c $((SIZE / 2)) /dev/urandom >>plain.bin
head -c $SIZE /dev/urandom >plain2.bin
PLAIN=$(hash plain.bin)
PLAIN2=$(hash plain2.bin)

# dm-crypt's table for the data area of image $1 on loop device $2.
dmcrypt_table() {
	local spec=$1 key=$2 loop=$3 ss=$4 extra=
	[ "$ss" = 512 ] || extra=" 2 sector_size:$ss iv_large_sectors"
	echo "0 $SECTORS crypt $spec $(hexkey "$key") 0 $loop $((DATA_OFF / 512))$extra"
}

# roundtrip LABEL "FORMAT-ARGS" KEYFILE SECTOR_SIZE DMCRYPT_SPEC
roundtrip() {
	local label=$1 fmt=$2 key=$3 ss=$4 spec=$5 loop
	local img=rt.img

	rm -f $img
	# shellcheck disable=SC2086
	if ! veil-disk format $img --size $SIZE $fmt --sector-size "$ss" \
			--key-file "$key" >/dev/null; then
		nok "$label: veil-disk format"
		return
	fi
	if ! veil-disk open $img vc0 --key-file "$key" >/dev/null ||
	   ! [ -b /dev/mapper/vc0 ]; then
		nok "$label: veil-disk open makes /dev/mapper/vc0"
		return
	fi
	check "$label: write through veilcrypt (fsync)" write_dev /dev/mapper/vc0 plain.bin
	veil-disk close vc0
	check "$label: plaintext never appears on the image" \
		sh -c "! grep -q VEIL-PLAINTEXT-MARKER $img"
	veil-disk open $img vc0 --key-file "$key" >/dev/null
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
		veil-disk open $img vc0 --key-file "$key" >/dev/null
		expect_eq "$label: veilcrypt reads dm-crypt's ciphertext" \
			"$PLAIN2" "$(read_dev /dev/mapper/vc0)"
		veil-disk close vc0
	else
		nok "$label: dm-crypt table for $spec loads (rw)"
	fi
	losetup -d $loop
}

for ss in 512 4096; do
	roundtrip "aes-xts-plain64/$ss" "--cipher aes-xts-plain64" key.64 $ss aes-xts-plain64
	roundtrip "aes-xts-plain64 256-bit/$ss" "--cipher aes-xts-plain64" key.32 $ss aes-xts-plain64
	roundtrip "aes-cbc-essiv:sha256/$ss" "--cipher aes-cbc-essiv:sha256" key.32 $ss aes-cbc-essiv:sha256
	roundtrip "serpent-xts-plain64/$ss" "--cipher serpent-xts-plain64" key.64 $ss serpent-xts-plain64
	roundtrip "adiantum/$ss" "--cipher adiantum" key.32 $ss xchacha12,aes-adiantum-plain64
done

# ---- bad input: refused with the field named, image unchanged ----------

fresh() {
	rm -f bad.img
	veil-disk format bad.img --size $SIZE --key-file key.64 >/dev/null
}

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

for c in $("$HELPER" cases); do
	fresh
	want=$("$HELPER" corrupt bad.img "$c") || { nok "$c: corrupt-header generator"; continue; }
	refused "$c" "$want"
done

fresh
refused "wrong key" "Key does not match header key_check" "$(hexkey wrong.64)"
refused "key shorter than header key_size" "Key size differs from header key_size" \
	"$(hexkey key.32)"
refused "key not hex" "Invalid key: not hex" \
	"zz$(hexkey key.64 | cut -c3-)"
refused "no key for an encrypted image" "Encrypted image needs a key" "-"
fresh
truncate -s 6000 bad.img
refused "truncated image" "Device too small for the two header copies"

# ---- backup header ----------------------------------------------------

rm -f bk.img
veil-disk format bk.img --size $SIZE --key-file key.64 >/dev/null
"$HELPER" corrupt bk.img magic primary >/dev/null
hdr_before=$(dd if=bk.img bs=8192 count=1 2>/dev/null | hash)
mark=$(klog_mark)
if veil-disk open bk.img vc0 --key-file key.64 >/dev/null; then
	ok "primary header bad: table loads from the backup"
	check "backup use is reported in the kernel log" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'primary header invalid (magic), using the backup'"
	check "backup use is reported in status" \
		sh -c "dmsetup status vc0 | grep -q backup_header"
	write_dev /dev/mapper/vc0 plain.bin
	veil-disk close vc0
	veil-disk open bk.img vc0 --key-file key.64 >/dev/null
	expect_eq "backup header: data round trips" "$PLAIN" "$(read_dev /dev/mapper/vc0)"
	veil-disk close vc0
else
	nok "primary header bad: table loads from the backup"
fi
expect_eq "backup header: the bad primary is left as it was" \
	"$hdr_before" "$(dd if=bk.img bs=8192 count=1 2>/dev/null | hash)"

# ---- plain images map through -------------------------------------------

rm -f pl.img
veil-disk format pl.img --size $SIZE --plain >/dev/null
if veil-disk open pl.img vp0 >/dev/null; then
	write_dev /dev/mapper/vp0 plain.bin
	veil-disk close vp0
	expect_eq "plain image: data lies in the clear after the header" "$PLAIN" \
		"$(dd if=pl.img bs=65536 skip=$((DATA_OFF / 65536)) count=$((SIZE / 65536)) 2>/dev/null | hash)"
else
	nok "plain image opens without a key"
fi

# ---- status, keyring, key wipe/set ----------------------------------------

rm -f k.img
veil-disk format k.img --size $SIZE --key-file key.64 >/dev/null
veil-disk open k.img vc0 --key-file key.64 >/dev/null
write_dev /dev/mapper/vc0 plain.bin
hk=$(hexkey key.64)
check "table never shows the key" sh -c "! dmsetup table vc0 | grep -q $hk"
check "status never shows the key" sh -c "! dmsetup status vc0 | grep -q $hk"
expect_eq "table shows - in place of a hex key" "- " \
	"$(dmsetup table vc0 | awk '{ print $5 " " $6 }')"

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
expect_eq "data intact after key wipe and set" "$PLAIN" "$(read_dev /dev/mapper/vc0)"
veil-disk close vc0

if "$HELPER" addkey logon veiltest:k64 key.64 >/dev/null; then
	if veil-disk open k.img vk0 --key-desc logon:veiltest:k64 >/dev/null; then
		expect_eq "keyring key: data read back" "$PLAIN" "$(read_dev /dev/mapper/vk0)"
		expect_eq "keyring key: table shows the reference, not the key" \
			":64:logon:veiltest:k64" "$(dmsetup table vk0 | awk '{ print $5 }')"
		veil-disk close vk0
	else
		nok "keyring key: veil-disk open --key-desc logon:veiltest:k64"
	fi
	if "$HELPER" addkey user veiltest:u64 key.64 >/dev/null &&
	   veil-disk format ku.img --size $SIZE --key-desc user:veiltest:u64 >/dev/null; then
		check "format --key-desc: the keyring key is the image key" \
			veil-disk check ku.img --key-file key.64
	else
		nok "veil-disk format --key-desc user:veiltest:u64"
	fi
	"$HELPER" addkey logon veiltest:k32 key.32 >/dev/null
	rm -f bad.img
	cp k.img bad.img
	refused "keyring key of the wrong size" "Keyring key size differs from the reference" \
		":64:logon:veiltest:k32"
	refused "keyring key missing" "Key not found in the keyring" ":64:logon:veiltest:none"
else
	nok "vcrypt_addkey adds a logon key"
fi

# ---- discards -----------------------------------------------------------

veil-disk open k.img vc0 --key-file key.64 >/dev/null
expect_eq "no discards without allow_discards" 0 \
	"$(cat /sys/block/dm-"$(dm_minor vc0)"/queue/discard_max_bytes)"
check "blkdiscard refused without allow_discards" sh -c "! blkdiscard /dev/mapper/vc0 2>/dev/null"
veil-disk close vc0
veil-disk open k.img vc0 --key-file key.64 --allow-discards >/dev/null
check "discards with allow_discards" \
	test "$(cat /sys/block/dm-"$(dm_minor vc0)"/queue/discard_max_bytes)" -gt 0
check "blkdiscard passes with allow_discards" blkdiscard /dev/mapper/vc0
expect_eq "table echoes allow_discards" "1 allow_discards" \
	"$(dmsetup table vc0 | awk '{ print $6, $7 }')"
veil-disk close vc0

# ---- veil-disk list, check ----------------------------------------------

veil-disk open k.img vc0 --key-file key.64 >/dev/null
check "veil-disk list shows the open image" sh -c "veil-disk list | grep -q '^vc0'"
check "veil-disk list --json names it" sh -c "veil-disk list --json | grep -q '\"name\": \"vc0\"'"
veil-disk close vc0
check "veil-disk check accepts the right key" veil-disk check k.img --key-file key.64
veil-disk check k.img --key-file wrong.64 >/dev/null
expect_eq "veil-disk check: wrong key exits 3" 3 $?

# ---- a plug-in cipher ---------------------------------------------------

if insmod "$MOD/vcrypt_test_plugin.ko"; then
	ok "test plug-in registers ciphers 0x8001 and 0x8002"
	for ss in 512 4096; do
		roundtrip "plug-in 0x8001/$ss" "--cipher-id 0x8001" key.32 $ss aes-cbc-plain64
		# cryptd answers -EINPROGRESS every time: the asynchronous path
		roundtrip "async plug-in 0x8002/$ss" "--cipher-id 0x8002" key.64 $ss aes-xts-plain64
	done
	veil-disk format rt.img --size $SIZE --cipher-id 0x8001 --key-file key.32 >/dev/null
	veil-disk open rt.img vc0 --key-file key.32 >/dev/null
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
echo "1..$T"
[ $FAILED = 0 ]
