#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The dm-veilcrypt benchmark, run in L1 by selftests/bench/dm_veilcrypt.sh
# (VEIL_BENCH=1 selects it in suite.conf).  fio, direct I/O through libaio,
# for every combination of read/write, 4 KiB/1 MiB blocks, 1/2 jobs and
# queue depth 1/32, on: the raw disk; dm-crypt as it comes; dm-crypt with
# no_read_workqueue and no_write_workqueue; veilcrypt; veilcrypt with
# split_kib=0 (no bio spread over CPUs, brd only).  All aes-xts-plain64,
# 4096-byte sectors, the same key.  Each run also counts the CPU time of
# the whole VM (/proc/stat) per byte moved.
#
# Two lower devices, both in RAM:
#   brd      completes each bio inside its submission, so a target never
#            sees more than one bio of a submitter in flight, whatever
#            fio's queue depth;
#   null_blk (memory_backed, irqmode=2) completes from a timer interrupt,
#            as a disk does, so a queue depth reaches the target.
#
# Prints "@@BENCH <device>@<lower> <workload> <MB/s> <cpu ns/byte>" lines
# and "@@BENCHNOTE <text>"; the driver makes one table per lower device.
# A measurement, not a test: each completed run is an "ok" line.
set -u

T=0
SECS=${VEIL_BENCH_SECS:-3}	# seconds per fio run
ONLY=${VEIL_BENCH_ONLY:-all}	# workloads whose name starts so (write-4k), or all
MOD=${VEIL_MODDIR:-/lib/veil}
RAM_MB=320
PB="--pbkdf-memory 64 --pbkdf-force-iterations 1"

ok() { T=$((T + 1)); echo "ok $T $*"; }
nok() { T=$((T + 1)); echo "not ok $T $*"; }

insmod "$MOD/dm-veilcrypt.ko" || { nok "dm-veilcrypt.ko loads"; exit 1; }
rmmod brd 2>/dev/null
insmod /lib/modules/brd.ko rd_nr=1 rd_size=$((RAM_MB * 1024)) ||
	{ nok "brd loads with a ${RAM_MB} MiB disk"; exit 1; }
dd if=/dev/zero of=/dev/ram0 bs=1M count=$RAM_MB 2>/dev/null	# allocate its pages

head -c 64 /dev/urandom >/tmp/bench.key
printf 'bench' >/tmp/bench.pw
hexkey=$(od -An -tx1 -v /tmp/bench.key | tr -d ' \n')
off=8192					# veil-disk's 4 MiB data offset
sectors=$(( (RAM_MB - 8) * 2048 ))

p=/sys/module/dm_crypt/parameters
if [ -r $p/max_read_size ]; then
	echo "@@BENCHNOTE dm-crypt here splits bios: max_read_size=$(cat $p/max_read_size) max_write_size=$(cat $p/max_write_size) (its defaults)"
else
	echo "@@BENCHNOTE dm-crypt here has no max_read_size/max_write_size (added in 6.11)"
fi
echo "@@BENCHNOTE $(grep -c ^processor /proc/cpuinfo) CPUs, ${SECS}s per run"

busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# run_fio DEVICE RW BS JOBS QD: "MB/s ns/byte"
run_fio() {
	local dev=$1 rw=$2 bs=$3 jobs=$4 qd=$5 out b0 b1 kib iok
	b0=$(busy)
	out=$(fio --name=b --filename="$dev" --direct=1 --ioengine=libaio --rw="$rw" \
		--bs="$bs" --iodepth="$qd" --numjobs="$jobs" --group_reporting \
		--size=128m --offset_increment=128m --runtime="$SECS" --time_based \
		--output-format=terse --terse-version=3 2>/dev/null) || return 1
	b1=$(busy)
	# terse v3: read bw 7, read io 6; write bw 48, write io 47 (KiB)
	case $rw in
	read) kib=$(echo "$out" | cut -d';' -f7); iok=$(echo "$out" | cut -d';' -f6) ;;
	*) kib=$(echo "$out" | cut -d';' -f48); iok=$(echo "$out" | cut -d';' -f47) ;;
	esac
	[ "$iok" -gt 0 ] || return 1
	# USER_HZ is 100: a jiffy is 10^7 ns.
	echo "$((kib * 1024 / 1000000)) $(( (b1 - b0) * 10000000 / (iok * 1024) ))"
}

bench_dev() {	# bench_dev LABEL DEVICE
	local rw bs jobs qd r
	for rw in read write; do
		for bs in 4k 1m; do
			for jobs in 1 2; do
				for qd in 1 32; do
					w=$rw-$bs-j$jobs-qd$qd
					[ "$ONLY" = all ] || case $w in "$ONLY"*) ;; *) continue ;; esac
					if r=$(run_fio "$2" $rw $bs $jobs $qd); then
						echo "@@BENCH $1@$lower $w $r"
						ok "$1 on $lower $w: $r"
					else
						nok "$1 on $lower $w: fio ran"
					fi
				done
			done
		done
	done
}

mk() {	# mk NAME TABLE
	dmsetup create "$1" --table "$2" && dmsetup mknodes "$1"
}

# bench_lower NAME DEVICE [nosplit]: every device on top of DEVICE.
bench_lower() {
	local dev=$2 crypt crypt_nowq split
	lower=$1
	crypt="0 $sectors crypt aes-xts-plain64 $hexkey 0 $dev $off 2 sector_size:4096 iv_large_sectors"
	crypt_nowq="0 $sectors crypt aes-xts-plain64 $hexkey 0 $dev $off 4 sector_size:4096 iv_large_sectors no_read_workqueue no_write_workqueue"
	echo "@@BENCHNOTE $lower: $(cat /sys/block/${dev#/dev/}/queue/max_sectors_kb) KiB at most per bio"
	bench_dev raw "$dev"
	if mk dc "$crypt"; then
		bench_dev dm-crypt /dev/mapper/dc
		dmsetup remove dc
	fi
	if mk dcnw "$crypt_nowq"; then
		bench_dev dm-crypt-nowq /dev/mapper/dcnw
		dmsetup remove dcnw
	fi
	# shellcheck disable=SC2086
	if veil-disk format "$dev" --force --key-file /tmp/bench.pw --volume-key-file /tmp/bench.key \
		$PB >/dev/null 2>&1 && veil-disk open "$dev" vb --key-file /tmp/bench.pw >/dev/null; then
		bench_dev veilcrypt /dev/mapper/vb
		if [ "${3:-}" = nosplit ]; then
			split=$(cat /sys/module/dm_veilcrypt/parameters/split_kib)
			echo 0 >/sys/module/dm_veilcrypt/parameters/split_kib
			bench_dev veilcrypt-nosplit /dev/mapper/vb
			echo "$split" >/sys/module/dm_veilcrypt/parameters/split_kib
		fi
		veil-disk close vb
	else
		nok "veil-disk formats and opens $dev"
	fi
}

bench_lower brd /dev/ram0 nosplit
rmmod brd
rmmod null_blk 2>/dev/null
if insmod /lib/modules/null_blk.ko nr_devices=1 gb=1 bs=4096 memory_backed=1 irqmode=2 \
		completion_nsec=0 queue_mode=2; then
	dd if=/dev/zero of=/dev/nullb0 bs=1M count=$RAM_MB 2>/dev/null
	bench_lower null_blk /dev/nullb0
	rmmod null_blk
else
	nok "null_blk loads, memory-backed"
fi
# The crypto API's own speed for the same cipher and sector size.
if insmod "$MOD/vcrypt_speed.ko" alg="xts(aes)" key_size=64 sector_size=4096 \
		msecs=$((SECS * 1000)); then
	line=$(dmesg | grep 'vcrypt_speed: ' | tail -n 1)
	enc=$(echo "$line" | sed -n 's/.*encrypt=\([0-9]*\).*/\1/p')
	dec=$(echo "$line" | sed -n 's/.*decrypt=\([0-9]*\).*/\1/p')
	echo "@@BENCHNOTE crypto API alone, $(echo "$line" | awk '{ print $(NF - 3) }'), one request per 4096-byte sector, one CPU: encrypt $enc MB/s, decrypt $dec MB/s"
	ok "crypto API xts(aes): encrypt $enc MB/s, decrypt $dec MB/s"
	rmmod vcrypt_speed
else
	nok "vcrypt_speed.ko measures xts(aes)"
fi
echo "1..$T"
