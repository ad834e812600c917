#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Resolve a kernel of veil's test matrix through Debian's metapackages.
#
#   kernel.sh release 6.1     print the kernel release (uname -r form)
#   kernel.sh vmlinuz 6.12    print the path of the kernel image
#   kernel.sh kdir 6.1        print the kbuild directory (headers)
#   kernel.sh check 6.12      fail loudly unless image and headers exist
#   kernel.sh list            print the short names of the matrix
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

case ${1:-} in
list)
	echo "6.1 6.12" ;;
release)
	release "$2" ;;
vmlinuz)
	echo "/boot/vmlinuz-$(release "$2")" ;;
kdir)
	echo "/usr/src/linux-headers-$(release "$2")" ;;
check)
	r=$(release "$2")
	[ -r "/boot/vmlinuz-$r" ] || { echo "kernel.sh: /boot/vmlinuz-$r is missing" >&2; exit 1; }
	[ -d "/usr/src/linux-headers-$r" ] || { echo "kernel.sh: headers for $r are missing" >&2; exit 1; }
	[ -d "/lib/modules/$r/kernel" ] || { echo "kernel.sh: modules for $r are missing" >&2; exit 1; }
	;;
*)
	echo "usage: kernel.sh list | release|vmlinuz|kdir|check 6.1|6.12" >&2
	exit 2 ;;
esac
