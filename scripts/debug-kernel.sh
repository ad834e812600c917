#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug kernels of 'make check-debug': Debian's own kernel source
# (linux-source-6.1, linux-source-6.12) built with x86_64 defconfig plus
# scripts/debug-kernel.config (what the suites load, and KASAN, lockdep,
# KFENCE, UBSAN, kmemleak, atomic-sleep and list checks).
#
#   debug-kernel.sh build 6.1     build it unless the cache has it
#   debug-kernel.sh dir 6.12      print its folder in the cache
#
# The cache is outside the clone, VEIL_DEBUG_CACHE or
# /var/cache/veil/debug-kernel, so a fresh clone reuses it.  A build is
# keyed by the source package's version, the config fragment and this
# script: a change to any of them builds anew; nothing else does.  Each
# folder holds vmlinuz, release, build/ (the object tree, which is the
# KDIR modules are built against) and root/lib/modules/RELEASE.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${VEIL_DEBUG_CACHE:-/var/cache/veil/debug-kernel}
fragment=$top/scripts/debug-kernel.config

usage() {
	echo "usage: debug-kernel.sh build|dir 6.1|6.12" >&2
	exit 2
}

[ $# = 2 ] || usage
cmd=$1 k=$2
case $k in
6.1|6.12) ;;
*) echo "debug-kernel.sh: unknown kernel '$k' (known: 6.1 6.12)" >&2; exit 2 ;;
esac
pkg=linux-source-$k
tarball=/usr/src/linux-source-$k.tar.xz

version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || {
	echo "debug-kernel.sh: $pkg is not installed (run 'make deps')" >&2
	exit 1
}
key=$( { echo "$pkg $version"; cat "$fragment" "$0"; } | sha256sum | cut -c1-12)
dir=$cache/$k-$key

case $cmd in
dir) echo "$dir"; exit 0 ;;
build) ;;
*) usage ;;
esac

if [ -f "$dir/.done" ]; then
	echo "debug kernel $k: cached in $dir ($(cat "$dir/release"))"
	exit 0
fi
[ -r "$tarball" ] || { echo "debug-kernel.sh: $tarball is missing" >&2; exit 1; }

kmake() {
	make -C "$dir/src" O="$dir/build" -j"$(nproc)" "$@"
}

start=$(date +%s)
# A build that was stopped (a session that ran out of time, a reboot)
# goes on where it was: make rebuilds only what is missing or older.
if [ -f "$dir/.configured" ]; then
	echo "debug kernel $k: resuming the build in $dir"
else
	echo "debug kernel $k: building $pkg $version in $dir"
	# A build for another source version or config is of no more use.
	for old in "$cache/$k"-*; do
		[ "$old" = "$dir" ] || rm -rf "$old"
	done
	rm -rf "$dir"
	mkdir -p "$dir/src" "$dir/build"
	tar -C "$dir/src" --strip-components=1 -xf "$tarball"

	kmake -s defconfig
	"$dir/src/scripts/kconfig/merge_config.sh" -m -O "$dir/build" \
		"$dir/build/.config" "$fragment" >"$dir/merge.log"
	kmake -s olddefconfig

	# Every checker asked for must have made it into the config: a symbol
	# that a dependency turned off would otherwise go unnoticed.
	missing=0
	for sym in KASAN KASAN_GENERIC KFENCE UBSAN PROVE_LOCKING PROVE_RCU \
		   DEBUG_ATOMIC_SLEEP DEBUG_LIST DEBUG_KMEMLEAK DEBUG_INFO_BTF \
		   DYNAMIC_FTRACE_WITH_REGS KVM_AMD BLK_DEV_NULL_BLK; do
		grep -Eq "^CONFIG_$sym=(y|m)$" "$dir/build/.config" || {
			echo "debug-kernel.sh: CONFIG_$sym did not make it into the config" >&2
			missing=1
		}
	done
	[ $missing = 0 ] || exit 1
	touch "$dir/.configured"
fi

kmake bzImage modules >>"$dir/build.log" 2>&1 || {
	tail -n 40 "$dir/build.log" >&2
	echo "debug-kernel.sh: the build failed (log: $dir/build.log)" >&2
	exit 1
}
rel=$(kmake -s kernelrelease)
kmake -s INSTALL_MOD_PATH="$dir/root" INSTALL_MOD_STRIP=1 modules_install >/dev/null
cp "$dir/build/arch/x86/boot/bzImage" "$dir/vmlinuz"
echo "$rel" >"$dir/release"
# Objects are not needed to build modules against the tree (vmlinux is,
# for their BTF): dropping them saves most of the space.
find "$dir/build" -name '*.o' -delete
touch "$dir/.done"
echo "debug kernel $k: $rel built in $(( $(date +%s) - start )) s"
