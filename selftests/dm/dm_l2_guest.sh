#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# L2's half of dm_l2_disk.sh, on the veilcrypt disk L1 gives it as
# /dev/vda.  First run (no filesystem yet): mkfs.ext4, write files and a
# manifest, sync, say so, keep writing until killed; meanwhile change the
# key of the veil image L1 gives as /dev/vdb back and forth, saying so
# after each change, so that the kill also lands inside a change-key.
# Second run, in L1 on the reopened mapping (VEIL_L2_DISK): mount (the
# kernel replays the journal), check the files, unmount, and demand a
# clean forced fsck.
set -u

dev=${VEIL_L2_DISK:-/dev/vda}
[ -b $dev ] || { echo "not ok 1 L2 sees the veilcrypt disk as $dev"; exit 1; }
mkdir -p /mnt/d

# ext4's superblock at 1024: magic 0xef53 at +56, s_rev_level 1 at +76.
sb() { dd if=$dev bs=1 skip=$((1024 + $1)) count=$2 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
# The second run never makes a filesystem: it only checks one.
if [ -z "${VEIL_L2_DISK:-}" ] && [ "$(sb 56 2)$(sb 76 4)" != 53ef01000000 ]; then
	# 4 KiB blocks: L1 mounts it on the veilcrypt mapping, whose
	# sectors are 4 KiB.
	mkfs.ext4 -q -F -b 4096 $dev && mount -t ext4 $dev /mnt/d ||
		{ echo "not ok 1 mkfs.ext4 and mount on the veilcrypt disk"; exit 1; }
	i=1
	while [ $i -le 16 ]; do
		{ yes "VEIL-L2-FILE-MARKER $i" | head -c 65536
		  head -c 65536 /dev/urandom; } >/mnt/d/f$i
		i=$((i + 1))
	done
	(cd /mnt/d && sha256sum f* >MANIFEST) && sync
	echo "@@DMTEST WRITTEN"
	[ -b /dev/vdb ] || echo "@@DMTEST KEYCHANGE FAILED: no /dev/vdb"
	if [ -b /dev/vdb ]; then
		printf 'veil-l2-key-a' >/tmp/ka
		printf 'veil-l2-key-b' >/tmp/kb
		(
			n=0 from=/tmp/ka to=/tmp/kb
			while veil-disk change-key /dev/vdb --key-file $from --new-key-file $to \
				--pbkdf-memory 64 --pbkdf-force-iterations 1 >/dev/null 2>/tmp/kc.err; do
				n=$((n + 1))
				echo "@@DMTEST KEYCHANGE $n"
				t=$from from=$to to=$t
			done
			echo "@@DMTEST KEYCHANGE FAILED: $(cat /tmp/kc.err)"
		) &
	fi
	i=0
	while :; do
		head -c 65536 /dev/urandom >/mnt/d/scratch.$((i % 8))
		i=$((i + 1))
	done
fi

T=0
ok() { T=$((T + 1)); echo "ok $T $*"; }
nok() { T=$((T + 1)); echo "not ok $T $*"; }
if mount -t ext4 $dev /mnt/d; then
	ok "the filesystem mounts after the kill (journal replayed)"
	if (cd /mnt/d && sha256sum -c MANIFEST >/dev/null); then
		ok "every file written before the kill is intact"
	else
		nok "every file written before the kill is intact"
	fi
	umount /mnt/d
else
	nok "the filesystem mounts after the kill"
fi
if e2fsck -fn $dev >/tmp/fsck.log 2>&1; then
	ok "forced fsck is clean"
else
	nok "forced fsck is clean"
	sed 's/^/# /' /tmp/fsck.log
fi
echo "1..$T"
