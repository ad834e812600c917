#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# veil-disk in L1, the key hierarchy and the lifecycle of an image:
#   * a passphrase, a key file and a user keyring key each unlock their
#     keyslot; a wrong one exits 6 and writes nothing;
#   * add-key, change-key, remove-key touch only the metadata; veil-disk
#     stopped before each write of change-key and of a header update (and
#     with that write half done) leaves an image that opens with the old or
#     the new key, and the next update repairs it;
#   * format refuses a mounted file system, a LUKS2 image, a veil image
#     and a device in use without --force (and wipes them with it); a
#     second open of an image is refused; close and status touch only
#     veilcrypt devices; resize, header-backup and header-restore;
#   * fio with several jobs verifies what it wrote (on a loop device, and
#     on null_blk, which completes from an interrupt), writes larger than
#     1 MiB go through, misaligned O_DIRECT on a 4 KiB image is refused;
#   * on a slow disk, more writes in flight than the bounce-page cap
#     allows: the device holds no more than its cap, and the data verifies;
#   * benchmark lists the ciphers.
# Prints TAP.
set -u

T=0
FAILED=0
W=/tmp/veildisk
MOD=${VEIL_MODDIR:-/lib/veil}
HELPER=$(cd "$(dirname "$0")" && pwd)/vcrypt_helper
SIZE=8388608
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
# jqt FILTER FILE: FILTER holds for the JSON in FILE
jqt() { jq -e "$1" "$2" >/dev/null; }
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		nok "$1"
		diag "expected '$2', saw '$3'"
	fi
}
hash() { sha256sum "$@" | cut -d' ' -f1; }
# opens IMAGE KEYFILE: 0 when the key file opens it (check verifies the MAC).
opens() { veil-disk check "$1" --key-file "$2" >/dev/null 2>&1; }
read_all() { dd if="$1" bs=65536 count=$((SIZE / 65536)) 2>/dev/null | hash; }

mkdir -p "$W" && cd "$W" || exit 1
# (its keyring cases add their keys with it: alone, they would fail as
# if veil-disk had not found them)
if [ ! -x "$HELPER" ]; then
	echo "not ok 1 vcrypt_helper is installed beside this test (run both)"
	exit 1
fi
grep -q '^dm_veilcrypt ' /proc/modules || insmod "$MOD/dm-veilcrypt.ko" || {
	echo "not ok 1 dm-veilcrypt.ko loads"
	exit 1
}
printf 'old passphrase' >old.key
printf 'new passphrase' >new.key
printf 'third passphrase' >third.key
head -c 4096 /dev/urandom >file.key
head -c $SIZE /dev/urandom >data.bin
DATA=$(hash data.bin)
DATA_HEAD=$(dd if=data.bin bs=65536 count=4 2>/dev/null | hash)

# ---- unlocking: passphrase, key file, keyring; wrong ones exit 6 -----------
section "unlocking: passphrase, key file, keyring; wrong ones exit 6"

# shellcheck disable=SC2086
if echo "a passphrase" | veil-disk format p.img --size $SIZE $PB >/dev/null; then
	ok "format with a passphrase on standard input"
else
	nok "format with a passphrase on standard input"
fi
if echo "a passphrase" | veil-disk open p.img vd0 >/dev/null; then
	ok "the passphrase opens it"
	dd if=data.bin of=/dev/mapper/vd0 bs=65536 conv=fsync 2>/dev/null
	veil-disk close vd0
else
	nok "the passphrase opens it"
fi
before=$(hash p.img)
mark=$(dmesg | wc -l)
echo "not the passphrase" | veil-disk open p.img vd0 >/dev/null 2>&1
expect_eq "a wrong passphrase exits 6" 6 $?
check "no device is left by the wrong passphrase" sh -c "! dmsetup info vd0 >/dev/null 2>&1"
veil-disk check p.img --key-file old.key >/dev/null 2>&1
expect_eq "a wrong key file exits 6" 6 $?
expect_eq "the image is unchanged by wrong keys" "$before" "$(hash p.img)"
expect_eq "the kernel saw no table for wrong keys" 0 \
	"$(dmesg | tail -n +$((mark + 1)) | grep -c veilcrypt)"

# shellcheck disable=SC2086
echo "a passphrase" | veil-disk add-key p.img --new-key-file file.key $PB >/dev/null
check "add-key: the key file opens it" opens p.img file.key
"$HELPER" addkey user veiltest:user file.key >/dev/null
"$HELPER" addkey user veiltest:wrong old.key >/dev/null
if veil-disk open p.img vd0 --key-desc user:veiltest:user >/dev/null; then
	ok "a user keyring key with the key file's bytes opens it"
	expect_eq "the data written through the passphrase reads back" "$DATA" \
		"$(read_all /dev/mapper/vd0)"
	veil-disk close vd0
else
	nok "a user keyring key with the key file's bytes opens it"
fi
veil-disk open p.img vd0 --key-desc user:veiltest:wrong >/dev/null 2>&1
expect_eq "a wrong keyring key exits 6" 6 $?
veil-disk open p.img vd0 --key-desc user:veiltest:absent >/dev/null 2>&1
expect_eq "a missing keyring key exits 3" 3 $?
expect_eq "no live logon key is left after close" "" \
	"$(awk '$8 == "logon" && $9 ~ /^veil:/ && $2 !~ /[iDR]/' /proc/keys)"

# ---- add, change, remove ---------------------------------------------------
section "add, change, remove"

rm -f k.img
# shellcheck disable=SC2086
veil-disk format k.img --size $SIZE --key-file old.key $PB >/dev/null
veil-disk open k.img vd0 --key-file old.key >/dev/null &&
	dd if=data.bin of=/dev/mapper/vd0 bs=65536 conv=fsync 2>/dev/null
veil-disk close vd0
data_area() { dd if="$1" bs=1048576 skip=4 2>/dev/null | hash; }
DATA_AREA=$(data_area k.img)
# shellcheck disable=SC2086
veil-disk change-key k.img --key-file old.key --new-key-file new.key $PB >/dev/null
check "change-key: the new key opens it" opens k.img new.key
check "change-key: the old key no longer does" sh -c "! veil-disk check k.img --key-file old.key >/dev/null 2>&1"
expect_eq "change-key leaves the data area alone" "$DATA_AREA" "$(data_area k.img)"
# shellcheck disable=SC2086
veil-disk add-key k.img --key-file new.key --new-key-file third.key --key-slot 6 $PB >/dev/null
check "add-key into keyslot 6" sh -c "veil-disk dump k.img | grep -q '^keyslot 6:'"
veil-disk remove-key k.img --key-file third.key >/dev/null
check "remove-key: the removed key no longer opens it" \
	sh -c "! veil-disk check k.img --key-file third.key >/dev/null 2>&1"
veil-disk remove-key k.img --key-file new.key >/dev/null 2>&1
expect_eq "remove-key of the last keyslot refused without --force (exit 4)" 4 $?
check "the last key still opens it" opens k.img new.key

# ---- crashes: veil-disk stopped before each write --------------------------
section "crashes: veil-disk stopped before each write"

# change-key writes: the new keyslot area, the primary, the backup, the
# wipe of the old area.  Stopped before write N, or with it half done.
rm -f c0.img
# shellcheck disable=SC2086
veil-disk format c0.img --size $SIZE --key-file old.key $PB >/dev/null
veil-disk open c0.img vd0 --key-file old.key >/dev/null &&
	dd if=data.bin of=/dev/mapper/vd0 bs=65536 conv=fsync 2>/dev/null
veil-disk close vd0
for step in 1 2 3 4 1:torn 2:torn 3:torn 4:torn; do
	cp c0.img c.img
	# shellcheck disable=SC2086
	VEIL_DISK_TEST_CRASH=$step veil-disk change-key c.img --key-file old.key \
		--new-key-file new.key $PB >/dev/null 2>&1
	rc=$?
	o=no n=no
	opens c.img old.key && o=yes
	opens c.img new.key && n=yes
	# Before the primary is whole: the old state; after: the new one.
	case $step in 1*|2*) want=yesno ;; *) want=noyes ;; esac
	if [ $rc = 99 ] && [ "$o$n" = $want ]; then
		ok "change-key stopped at write $step: opens with the old key $o, the new key $n"
	else
		nok "change-key stopped at write $step: opens with the old or the new key"
		diag "exit $rc, old $o, new $n, wanted $want"
	fi
	key=old.key
	[ $n = yes ] && key=new.key
	if veil-disk open c.img vd0 --key-file $key >/dev/null; then
		expect_eq "change-key stopped at write $step: the data is intact" "$DATA_HEAD" \
			"$(dd if=/dev/mapper/vd0 bs=65536 count=4 2>/dev/null | hash)"
		veil-disk close vd0
	else
		nok "change-key stopped at write $step: the kernel opens it with $key"
	fi
	# shellcheck disable=SC2086
	veil-disk change-key c.img --key-file $key --new-key-file third.key $PB >/dev/null 2>&1
	if opens c.img third.key && [ "$(dd if=c.img bs=4096 count=1 2>/dev/null | hash)" = \
	   "$(dd if=c.img bs=4096 skip=513 count=1 2>/dev/null | hash)" ]; then
		ok "change-key stopped at write $step: the next update repairs both copies"
	else
		nok "change-key stopped at write $step: the next update repairs both copies"
	fi
done

# A header update without keyslots (resize): the primary, then the backup.
for step in 1 2 1:torn 2:torn; do
	cp c0.img c.img
	VEIL_DISK_TEST_CRASH=$step veil-disk resize c.img --size $((SIZE * 2)) \
		--key-file old.key >/dev/null 2>&1
	rc=$?
	size=$(veil-disk dump c.img --json | sed -n 's/.*"data_size": \([0-9]*\).*/\1/p' | head -n 1)
	if [ $rc = 99 ] && opens c.img old.key &&
	   { [ "$size" = $SIZE ] || [ "$size" = $((SIZE * 2)) ]; }; then
		ok "resize stopped at write $step: opens, data_size old or new ($size)"
	else
		nok "resize stopped at write $step: opens with the old or the new size"
		diag "exit $rc, data_size $size"
	fi
done

# ---- format: what it refuses -----------------------------------------------
section "format: what it refuses"

rm -f fs.img
truncate -s 32M fs.img
mkfs.ext4 -q -F fs.img
loop=$(losetup -f)
losetup $loop fs.img
mkdir -p /mnt/fs
if mount -t ext4 $loop /mnt/fs; then
	# shellcheck disable=SC2086
	veil-disk format $loop --key-file old.key $PB >/dev/null 2>&1
	expect_eq "format of a mounted file system's device refused (exit 4)" 4 $?
	# shellcheck disable=SC2086
	veil-disk format $loop --key-file old.key $PB --force >/dev/null 2>&1
	expect_eq "... also with --force" 4 $?
	# shellcheck disable=SC2086
	veil-disk format fs.img --key-file old.key $PB --force >/dev/null 2>&1
	expect_eq "format of a file behind a loop device refused (exit 4)" 4 $?
	umount /mnt/fs
else
	nok "mount an ext4 image"
fi
losetup -d $loop
# shellcheck disable=SC2086
veil-disk format fs.img --key-file old.key $PB >/dev/null 2>&1
expect_eq "format over an ext4 file system refused without --force (exit 4)" 4 $?
# shellcheck disable=SC2086
veil-disk format fs.img --key-file old.key $PB --force >/dev/null 2>&1
expect_eq "... and done with --force" 0 $?
expect_eq "... and the ext4 superblock magic is gone" "0000" \
	"$(od -An -tx1 -j 1080 -N 2 fs.img | tr -d ' ')"

rm -f luks.img
truncate -s 32M luks.img
if cryptsetup luksFormat -q --type luks2 --disable-locks --pbkdf pbkdf2 \
	--pbkdf-force-iterations 1000 luks.img old.key >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	veil-disk format luks.img --key-file old.key $PB >/dev/null 2>&1
	expect_eq "format over a LUKS2 image refused without --force (exit 4)" 4 $?
	# shellcheck disable=SC2086
	veil-disk format luks.img --key-file old.key $PB --force >/dev/null 2>&1
	expect_eq "... and done with --force" 0 $?
	check "... and cryptsetup finds no LUKS header left" \
		sh -c "! cryptsetup isLuks --disable-locks luks.img"
else
	nok "cryptsetup luksFormat makes a LUKS2 image"
fi
# shellcheck disable=SC2086
veil-disk format k.img --key-file old.key $PB >/dev/null 2>&1
expect_eq "format over a veil image refused without --force (exit 4)" 4 $?
check "... and the veil image still opens" opens k.img new.key

# ---- open, close, status ---------------------------------------------------
section "open, close, status"

veil-disk open k.img vd0 --key-file new.key --json >open.json
expect_eq "open --json answers in one line" 1 "$(wc -l <open.json)"
check "... an object naming the mapper device, its size and the loop device" \
	jqt '.schema == 1 and .command == "open" and .ok == true and
		.name == "vd0" and .mapper == "/dev/mapper/vd0" and
		(.device | startswith("/dev/loop")) and .read_only == false and
		.size == '$SIZE open.json
veil-disk open k.img vd1 --key-file new.key --json >open2.json 2>/dev/null
expect_eq "a second open of the same image refused (exit 4)" 4 $?
check "... and --json says so: ok false, exit 4, the error" \
	jqt '.command == "open" and .ok == false and .exit == 4 and
		(.error | length > 0)' open2.json
ln -sf k.img k-link.img
veil-disk open k-link.img vd1 --key-file new.key >/dev/null 2>&1
expect_eq "... also through another path" 4 $?
check "veil-disk status shows the image and the cipher" \
	sh -c "veil-disk status vd0 | grep -q 'cipher: *aes-xts-plain64'"
check "veil-disk status --json names the image file" \
	sh -c "veil-disk status vd0 --json | grep -q '\"image\": \".*k.img\"'"
check "veil-disk status --json: the loop device and direct I/O as booleans" \
	sh -c "veil-disk status vd0 --json | jq -e '.command == \"status\" and .ok and
		.loop == true and (.direct_io | type == \"boolean\") and .cipher == \"aes-xts-plain64\" and
		.size == $SIZE and (.dm_uuid | startswith(\"VEIL-\"))' >/dev/null"
check "veil-disk list shows it" sh -c "veil-disk list | grep -q '^vd0'"
check "veil-disk list --json lists it with its DM UUID" \
	sh -c "veil-disk list --json | jq -e '.ok and ([.devices[] | select(.name == \"vd0\" and
		(.dm_uuid | startswith(\"VEIL-\")))] | length == 1)' >/dev/null"
check "veil-disk close --json says what it closed" \
	sh -c "veil-disk close vd0 --json | jq -e '.command == \"close\" and .ok and .name == \"vd0\"' >/dev/null"
check "... and the device is gone" sh -c "! dmsetup info vd0 >/dev/null 2>&1"
loop=$(losetup -f)
losetup $loop fs.img
dmsetup create lin0 --table "0 2048 linear $loop 0" && dmsetup mknodes lin0
veil-disk close lin0 --json >close.json 2>/dev/null
expect_eq "close of a device that is not veilcrypt refused (exit 4)" 4 $?
check "... and --json says so" \
	jqt '.command == "close" and .ok == false and .exit == 4' close.json
check "... and it is still there" dmsetup info lin0
dmsetup remove lin0
losetup -d $loop
veil-disk close nosuch >/dev/null 2>&1
expect_eq "close of a device that does not exist exits 3" 3 $?

# ---- resize, header backup and restore -------------------------------------
section "resize, header backup and restore"

veil-disk open k.img vd0 --key-file new.key >/dev/null
veil-disk resize k.img --size $((SIZE * 2)) --key-file new.key >/dev/null
expect_eq "resize of an open image grows the device" $((SIZE * 2)) \
	"$(blockdev --getsize64 /dev/mapper/vd0)"
expect_eq "... and keeps the data" "$DATA" "$(read_all /dev/mapper/vd0)"
veil-disk close vd0
veil-disk resize k.img --size $SIZE --key-file new.key >/dev/null 2>&1
expect_eq "shrinking refused without --force (exit 4)" 4 $?

rm -f hdr.bak
veil-disk header-backup k.img --file hdr.bak
check "header-backup writes the metadata area" test "$(stat -c %s hdr.bak)" = 4194304
dd if=/dev/zero of=k.img bs=4096 count=1 conv=notrunc 2>/dev/null
dd if=/dev/zero of=k.img bs=4096 seek=513 count=1 conv=notrunc 2>/dev/null
veil-disk open k.img vd0 --key-file new.key >/dev/null 2>&1
expect_eq "both header copies zeroed: open exits 3" 3 $?
veil-disk header-restore k.img --file hdr.bak >/dev/null 2>&1
expect_eq "header-restore onto an image without a header needs --force (exit 4)" 4 $?
veil-disk header-restore k.img --file hdr.bak --force
if veil-disk open k.img vd0 --key-file new.key >/dev/null; then
	expect_eq "after header-restore the data reads back" "$DATA" "$(read_all /dev/mapper/vd0)"
else
	nok "after header-restore the image opens"
fi
# Never onto an open image, not even with --force and the backup of
# another image: the open device's header would change under it.
veil-disk format o.img --size $SIZE --key-file old.key $PB >/dev/null
rm -f o.bak
veil-disk header-backup o.img --file o.bak >/dev/null
before=$(head -c 4194304 k.img | sha256sum)
veil-disk header-restore k.img --file o.bak --force >/dev/null 2>&1
expect_eq "header-restore of another image's backup onto an open image refused, even with --force (exit 4)" 4 $?
veil-disk header-restore k.img --file hdr.bak --force >/dev/null 2>&1
expect_eq "header-restore of its own backup onto it while open refused (exit 4)" 4 $?
expect_eq "... and its metadata area is untouched" "$before" "$(head -c 4194304 k.img | sha256sum)"
rm -f o.img o.bak

# ---- the I/O path under fio ------------------------------------------------
section "the I/O path under fio"

# Several jobs, each on its own 2 MiB, sizes from 4 KiB to 2 MiB, verified.
if fio --name=verify --filename=/dev/mapper/vd0 --direct=1 --ioengine=psync \
	--rw=randwrite --bsrange=4k-2m --numjobs=4 --size=2m \
	--offset_increment=2m --verify=crc32c --verify_fatal=1 \
	--do_verify=1 >fio.log 2>&1; then
	ok "fio: 4 jobs write and verify 4 KiB to 2 MiB blocks"
else
	nok "fio: 4 jobs write and verify 4 KiB to 2 MiB blocks"
	sed 's/^/# /' fio.log | tail -n 20
fi
head -c 4194304 /dev/urandom >big.bin
if fio --name=big --filename=/dev/mapper/vd0 --direct=1 --ioengine=libaio \
	--rw=write --bs=4m --size=4m --iodepth=2 --verify=md5 --do_verify=1 \
	>fio-big.log 2>&1; then
	ok "fio: 4 MiB O_DIRECT writes, larger than a bio, verified"
else
	nok "fio: 4 MiB O_DIRECT writes, larger than a bio, verified"
	sed 's/^/# /' fio-big.log | tail -n 20
fi
if fio --name=mis --filename=/dev/mapper/vd0 --direct=1 --ioengine=psync \
	--rw=write --bs=512 --size=64k >fio-mis.log 2>&1; then
	nok "O_DIRECT 512-byte writes on a 4 KiB image are refused"
else
	check "O_DIRECT 512-byte writes on a 4 KiB image are refused (EINVAL)" \
		grep -q "Invalid argument" fio-mis.log
fi
if fio --name=mis2 --filename=/dev/mapper/vd0 --direct=1 --ioengine=psync \
	--rw=read --bs=4k --offset=512 --size=64k >fio-mis2.log 2>&1; then
	nok "O_DIRECT reads at a 512-byte offset on a 4 KiB image are refused"
else
	ok "O_DIRECT reads at a 512-byte offset on a 4 KiB image are refused"
fi
veil-disk close vd0

# A disk that completes from an interrupt (null_blk's timer): small reads
# are decrypted in dm-veilcrypt's tasklet after it, large ones spread.
rmmod null_blk 2>/dev/null
if insmod /lib/modules/null_blk.ko nr_devices=1 gb=1 bs=4096 memory_backed=1 \
		irqmode=2 completion_nsec=0 queue_mode=2 &&
	veil-disk format /dev/nullb0 --key-file old.key $PB >/dev/null &&
	veil-disk open /dev/nullb0 vn0 --key-file old.key >/dev/null; then
	# One at a time (the tasklet), then a queue deeper than the CPUs.
	for d in "1 1" "8 2"; do
		set -- $d
		if fio --name=irq --filename=/dev/mapper/vn0 --direct=1 --ioengine=libaio \
			--rw=randwrite --bsrange=4k-1m --iodepth=$1 --numjobs=$2 --size=8m \
			--offset_increment=8m --verify=crc32c --verify_fatal=1 \
			--do_verify=1 >fio-irq.log 2>&1; then
			ok "fio on a disk completing from an interrupt, depth $1, $2 jobs: verified"
		else
			nok "fio on a disk completing from an interrupt, depth $1, $2 jobs: verified"
			sed 's/^/# /' fio-irq.log | tail -n 20
		fi
	done
	# A deep queue of small writes is encrypted in batches and sent down
	# sorted under a plug: neighbours reach the disk merged.  Sent one by
	# one, as the workers finish them, they are dispatched at once and
	# hardly ever merge.  Field 6 of the disk's stat: writes merged; an
	# eighth of the writes at least.
	m0=$(awk '{ print $6 }' /sys/block/nullb0/stat)
	if fio --name=seq --filename=/dev/mapper/vn0 --direct=1 --ioengine=libaio \
		--rw=write --bs=4k --iodepth=32 --iodepth_batch_submit=16 \
		--iodepth_batch_complete_min=16 --size=8m --verify=crc32c --verify_fatal=1 \
		--do_verify=1 >fio-seq.log 2>&1; then
		ok "fio: 2048 sequential 4 KiB writes at depth 32 on it: verified"
	else
		nok "fio: 2048 sequential 4 KiB writes at depth 32 on it: verified"
		sed 's/^/# /' fio-seq.log | tail -n 20
	fi
	m1=$(awk '{ print $6 }' /sys/block/nullb0/stat)
	check "... and the disk merged them ($((m1 - m0)) merges of 2048, I/O scheduler $(sed 's/.*\[\(.*\)\].*/\1/' /sys/block/nullb0/queue/scheduler))" \
		[ $((m1 - m0)) -ge 256 ]
	veil-disk close vn0
else
	nok "veil-disk formats and opens a null_blk disk"
fi
rmmod null_blk 2>/dev/null

# ---- bounce pages at their cap ---------------------------------------------
section "bounce pages at their cap"

# A slow disk (null_blk completing each request 250 ms late) under 128 MiB
# of writes in flight, more than the 2 % of RAM a device may hold in
# bounce pages (the last two fields of its status line: held, cap).  The
# writers over the cap wait for pages to come back; what the device held
# stays within the cap, and everything written verifies.
if insmod /lib/modules/null_blk.ko nr_devices=1 gb=1 bs=4096 memory_backed=1 \
		irqmode=2 completion_nsec=250000000 queue_mode=2 &&
	veil-disk format /dev/nullb0 --key-file old.key $PB >/dev/null &&
	veil-disk open /dev/nullb0 vn0 --key-file old.key >/dev/null; then
	cap=$(dmsetup status vn0 | awk '{ print $NF }')
	rm -f cap.stop
	while [ ! -e cap.stop ]; do
		dmsetup status vn0 | awk '{ print $(NF - 1) }'
		sleep 0.05
	done >cap.pages &
	sampler=$!
	if fio --name=cap --filename=/dev/mapper/vn0 --direct=1 --ioengine=libaio \
		--rw=write --bs=1m --iodepth=32 --numjobs=4 --size=32m --offset_increment=32m \
		--verify=crc32c --verify_fatal=1 --do_verify=1 >fio-cap.log 2>&1; then
		ok "fio: 128 MiB of 1 MiB writes at depth 32 on a slow disk: verified"
	else
		nok "fio: 128 MiB of 1 MiB writes at depth 32 on a slow disk: verified"
		sed 's/^/# /' fio-cap.log | tail -n 20
	fi
	: >cap.stop
	wait $sampler
	peak=$(sort -n cap.pages | tail -n 1)
	: "${peak:=none}" "${cap:=none}"
	# (a few allocations may pass the check together: 64 pages of slack)
	within_cap() { [ "$peak" -le $((cap + 64)) ]; }
	reached_cap() { [ $((peak * 4)) -ge $((cap * 3)) ]; }
	check "bounce pages held at most: $peak of a cap of $cap" within_cap
	check "... and the writes reached the cap (at least three quarters of it)" reached_cap
	veil-disk close vn0
else
	nok "veil-disk formats and opens a slow null_blk disk"
fi
rmmod null_blk 2>/dev/null

# ---- benchmark -------------------------------------------------------------
section "benchmark"

if veil-disk benchmark --cipher aes-xts-plain64 --bench-time 50 --iter-time 50 \
	--pbkdf-memory 1024 >bench.out 2>&1; then
	check "benchmark measures aes-xts-plain64 at 512 and 4096" \
		sh -c "grep -Eq 'aes-xts-plain64 +512 +512 +[0-9.]+ +[0-9.]+' bench.out &&
		       grep -Eq 'aes-xts-plain64 +512 +4096 +[0-9.]+ +[0-9.]+' bench.out"
	check "benchmark says what a new keyslot's Argon2id would cost" \
		grep -q 'argon2id [0-9]* iterations, 1024 KiB' bench.out
else
	nok "veil-disk benchmark runs"
	sed 's/^/# /' bench.out
fi

section "end"
echo "1..$T"
[ $FAILED = 0 ]
