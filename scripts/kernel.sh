#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Resolve a kernel of veil's test matrix through Debian's metapackages.
#
#   kernel.sh release 6.1     print the kernel release (uname -r form)
#   kernel.sh vmlinuz 6.12    print the path of the kernel image
#   kernel.sh kdir 6.1        print the kbuild directory (headers)
#   kernel.sh moddir 6.1      print the root its modules are under (/lib/modules/...)
#   kernel.sh check 6.12      fail loudly unless image and headers exist
#   kernel.sh list            print the short names of the matrix
#
# 6.1-debug and 6.12-debug name the debug kernels of 'make check-debug',
# built from Debian's source by scripts/debug-kernel.sh into its cache.
set -euo pipefail

meta() {
	case $1 in
	6.1) echo linux-image-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	*) echo "kernel.sh: unknown kernel '$1' (known: 6.1 6.12)" >&2; exit 2 ;;
	esac
}

release() {
	local m dep
	m=$(meta "$1")
	# "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" -> 6.1.0-56-amd64
	dep=$(dpkg-query -W -f='${Depends}' "$m" 2>/dev/null) || {
		echo "kernel.sh: $m is not installed (run 'make deps')" >&2
		exit 1
	}
	dep=${dep%%,*}
	dep=${dep%% *}
	echo "${dep#linux-image-}"
}

# A debug kernel's folder in the cache; it must have been built.
debug_dir() {
	local d
	d=$("$(dirname "$0")/debug-kernel.sh" dir "${1%-debug}") || exit 1
	[ -f "$d/.done" ] || {
		echo "kernel.sh: the debug kernel ${1%-debug} is not built (make check-debug builds it)" >&2
		exit 1
	}
	echo "$d"
}

case ${2:-} in
*-debug)
	d=$(debug_dir "$2")
	case $1 in
	release) cat "$d/release" ;;
	vmlinuz) echo "$d/vmlinuz" ;;
	kdir) echo "$d/build" ;;
	moddir) echo "$d/root" ;;
	check) ;;
	*) echo "usage: kernel.sh release|vmlinuz|kdir|moddir|check KERNEL" >&2; exit 2 ;;
	esac
	exit 0 ;;
esac

case ${1:-} in
list)
	echo "6.1 6.12" ;;
release)
	release "$2" ;;
vmlinuz)
	echo "/boot/vmlinuz-$(release "$2")" ;;
kdir)
	echo "/usr/src/linux-headers-$(release "$2")" ;;
moddir)
	meta "$2" >/dev/null
	echo / ;;
check)
	r=$(release "$2")
	[ -r "/boot/vmlinuz-$r" ] || { echo "kernel.sh: /boot/vmlinuz-$r is missing" >&2; exit 1; }
	[ -d "/usr/src/linux-headers-$r" ] || { echo "kernel.sh: headers for $r are missing" >&2; exit 1; }
	[ -d "/lib/modules/$r/kernel" ] || { echo "kernel.sh: modules for $r are missing" >&2; exit 1; }
	;;
*)
	echo "usage: kernel.sh list | release|vmlinuz|kdir|moddir|check 6.1|6.12[-debug]" >&2
	exit 2 ;;
esac
