#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything veil's build, tests, demo, benchmarks and Debian
# packages need on a Debian 12 (bookworm) machine, then unpack the parts of
# Debian's kernel source that the build uses (kselftest headers, the KVM
# selftest library, checkpatch).  Idempotent: a machine that has everything
# returns at once.  Only 'make deps' installs (as root, on Debian, saying
# what); with --check this script only says what is missing.
#
# Kernels are named through Debian's metapackages, never by ABI number:
# linux-image-amd64 (6.1) and linux-image-6.12-amd64 (6.12).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
check_only=0
[ "${1:-}" != --check ] || check_only=1
src_dir=${VEIL_LINUX_SRC:-$top/build/linux-source}

packages=(
	# build
	build-essential bc bison flex pkg-config libelf-dev libssl-dev
	xz-utils zstd kmod cpio
	# user-space tools (veilctl speaks to libvirt through its C API)
	libjansson-dev libdevmapper-dev libkmod-dev zlib1g-dev libvirt-dev
	# Debian packages: make deb, and lintian to judge them
	debhelper dh-dkms dkms fakeroot lintian
	# install-check: bash completion and systemd-analyze judge what is installed
	bash-completion systemd
	# selftests/cli: jq reads what the tools print with --json
	jq
	# veil-disk: Argon2id keyslots, signature probing and wiping
	libargon2-dev libblkid-dev
	# fuzz targets: clang's libFuzzer and sanitizer runtimes
	clang libclang-rt-14-dev
	# test VMs
	qemu-system-x86 qemu-utils busybox-static dmsetup cryptsetup-bin fio
	keyutils
	# libvirt inside the test VMs (the daemon is copied in, never started here)
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	# the kernel matrix, through the metapackages
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-source-6.1
	# make check-debug: the 6.12 source for its debug kernel, pahole for BTF
	linux-source-6.12 dwarves
)

missing=()
for p in "${packages[@]}"; do
	case $p in '#'*) continue ;; esac
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ $check_only = 1 ]; then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: 'make deps' (as root) installs them" >&2
		exit 1
	fi
	if [ ! -f /etc/debian_version ]; then
		echo "deps: not a Debian system; install the equivalents of: ${missing[*]}" >&2
		exit 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages: ${missing[*]}" >&2
		echo "deps: run 'make deps' as root to install them" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian ships the source as one tarball; unpack only what veil uses.
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
if [ -z "$tarball" ]; then
	echo "deps: linux-source-6.1 is installed but its tarball is missing" >&2
	exit 1
fi
stamp=$src_dir/.veil-unpacked
if [ ! -f "$stamp" ] || [ "$tarball" -nt "$stamp" ]; then
	echo "deps: unpacking kselftest, KVM selftest library and checkpatch from $(basename "$tarball")"
	rm -rf "$src_dir"
	mkdir -p "$src_dir"
	tar -C "$src_dir" --strip-components=1 -xf "$tarball" \
		--wildcards \
		'linux-source-6.1/tools/testing/selftests/kselftest*' \
		'linux-source-6.1/tools/testing/selftests/kvm' \
		'linux-source-6.1/tools/include' \
		'linux-source-6.1/tools/arch/x86' \
		'linux-source-6.1/tools/lib' \
		'linux-source-6.1/tools/scripts' \
		'linux-source-6.1/tools/build' \
		'linux-source-6.1/tools/testing/selftests/lib.mk' \
		'linux-source-6.1/include/uapi' \
		'linux-source-6.1/arch/x86/include/uapi' \
		'linux-source-6.1/scripts/checkpatch.pl' \
		'linux-source-6.1/scripts/spelling.txt' \
		'linux-source-6.1/scripts/const_structs.checkpatch'
	touch "$stamp"
fi

# The test VMs' own QEMU, newer than bookworm's (scripts/l0-qemu.sh).
if [ $check_only = 1 ]; then
	"$top/scripts/l0-qemu.sh" check
else
	"$top/scripts/l0-qemu.sh" ensure
fi

# Every kernel of the matrix must resolve to an installed image and headers.
for k in 6.1 6.12; do
	"$top/scripts/kernel.sh" check "$k"
done
