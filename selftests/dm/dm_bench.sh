#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The dm-veilcrypt benchmark, run in L1 by selftests/bench/dm_veilcrypt.sh
# (VEIL_BENCH=1 selects it in suite.conf).  fio on a brd ramdisk: raw,
# dm-crypt default, dm-crypt with no_read_workqueue no_write_workqueue, and
# veilcrypt, all aes-xts-plain64 with 4096-byte sectors and the same key.
# Prints "@@BENCH <device> <workload> <MB/s>" lines; the driver makes the
# table.  A measurement, not a test: each completed run is an "ok" line.
set -u

T=0
SECS=5				# seconds per fio run
MOD=${VEIL_MODDIR:-/lib/veil}
RAM_MB=256

ok() { T=$((T + 1)); echo "ok $T $*"; }
nok() { T=$((T + 1)); echo "not ok $T $*"; }

insmod "$MOD/dm-veilcrypt.ko" || { nok "dm-veilcrypt.ko loads"; exit 1; }
rmmod brd 2>/dev/null
insmod /lib/modules/brd.ko rd_nr=1 rd_size=$((RAM_MB * 1024)) ||
	{ nok "brd loads with a ${RAM_MB} MiB disk"; exit 1; }
dd if=/dev/zero of=/dev/ram0 bs=1M count=$RAM_MB 2>/dev/null	# allocate its pages

head -c 64 /dev/urandom >/tmp/bench.key
hexkey=$(od -An -tx1 -v /tmp/bench.key | tr -d ' \n')
off=2048					# veil-disk's 1 MiB data offset
sectors=$(( (RAM_MB * 1024 * 1024 - 1048576) / 512 ))
crypt="0 $sectors crypt aes-xts-plain64 $hexkey 0 /dev/ram0 $off"

# fio WORKLOAD DEVICE: bandwidth in MB/s (10^6 bytes).
run_fio() {
	local rw bs qd out kib
	case $1 in
	seq-read) rw=read bs=1M qd=4 ;;
	seq-write) rw=write bs=1M qd=4 ;;
	rand-read) rw=randread bs=4k qd=32 ;;
	rand-write) rw=randwrite bs=4k qd=32 ;;
	esac
	out=$(fio --name=b --filename="$2" --direct=1 --ioengine=libaio \
		--rw=$rw --bs=$bs --iodepth=$qd --runtime="$SECS" --time_based \
		--size=$((RAM_MB - 2))M --output-format=terse --terse-version=3 2>/dev/null) || return 1
	# terse v3: field 7 read bandwidth, field 48 write bandwidth (KiB/s)
	case $rw in
	*read) kib=$(echo "$out" | cut -d';' -f7) ;;
	*) kib=$(echo "$out" | cut -d';' -f48) ;;
	esac
	echo $((kib * 1024 / 1000000))
}

bench_dev() {	# bench_dev LABEL DEVICE
	local w mbs
	for w in seq-read seq-write rand-read rand-write; do
		if mbs=$(run_fio $w "$2"); then
			echo "@@BENCH $1 $w $mbs"
			ok "$1 $w: $mbs MB/s"
		else
			nok "$1 $w: fio ran"
		fi
	done
}

mk() {	# mk NAME TABLE
	dmsetup create "$1" --table "$2" && dmsetup mknodes "$1"
}

bench_dev raw /dev/ram0
if mk dc "$crypt 2 sector_size:4096 iv_large_sectors"; then
	bench_dev dm-crypt /dev/mapper/dc
	dmsetup remove dc
fi
if mk dcnw "$crypt 4 sector_size:4096 iv_large_sectors no_read_workqueue no_write_workqueue"; then
	bench_dev dm-crypt-nowq /dev/mapper/dcnw
	dmsetup remove dcnw
fi
# The raw run wrote over the header: format now.
if veil-disk format /dev/ram0 --key-file /tmp/bench.key --sector-size 4096 >/dev/null &&
   veil-disk open /dev/ram0 vb --key-file /tmp/bench.key >/dev/null; then
	bench_dev veilcrypt /dev/mapper/vb
	veil-disk close vb
else
	nok "veil-disk formats and opens the ramdisk"
fi
# The crypto API's own speed for the same cipher and sector size.
if insmod "$MOD/vcrypt_speed.ko" alg="xts(aes)" key_size=64 sector_size=4096 \
		msecs=$((SECS * 1000)); then
	line=$(dmesg | grep 'vcrypt_speed: ' | tail -n 1)
	enc=$(echo "$line" | sed -n 's/.*encrypt=\([0-9]*\).*/\1/p')
	dec=$(echo "$line" | sed -n 's/.*decrypt=\([0-9]*\).*/\1/p')
	echo "@@BENCH crypto-api encrypt $enc"
	echo "@@BENCH crypto-api decrypt $dec"
	echo "@@BENCH crypto-api driver $(echo "$line" | awk '{ print $(NF - 3) }')"
	ok "crypto API xts(aes): encrypt $enc MB/s, decrypt $dec MB/s"
	rmmod vcrypt_speed
else
	nok "vcrypt_speed.ko measures xts(aes)"
fi
echo "1..$T"
