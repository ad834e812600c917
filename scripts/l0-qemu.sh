#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The QEMU that runs the test VMs here (L0, TCG).  Bookworm's QEMU 7.2 has
# multi-threaded TCG bugs that kill test VMs at random: a vCPU keeps
# running code another vCPU has patched (L1 dies of "int3" while a static
# key flips), and L2 guests of an L1 KVM die of a triple fault.  QEMU 8.1
# and later do not; bookworm-backports has one.  It is unpacked into a
# cache outside the clone and used for L0 only: the QEMU and libvirt
# inside the test VMs stay bookworm's, the ones veil's users run.
#
#   l0-qemu.sh ensure   fetch and unpack it if missing (root; make deps)
#   l0-qemu.sh check    exit 1, saying why, if it is missing
#   l0-qemu.sh argv     print the L0 QEMU command's first words, one a line
#
# The installed qemu-system-x86_64 is used as it is when it is 8.1 or
# later.  VEIL_L0_QEMU names another binary (its -L data directories in
# VEIL_L0_QEMU_ARGS).
set -euo pipefail

cache=${VEIL_QEMU_CACHE:-/var/cache/veil/qemu-l0}
suite=bookworm-backports
packages=(qemu-system-x86 qemu-system-common qemu-system-data seabios)

# Is QEMU at $1 8.1 or later?
recent() {
	local v
	v=$("$1" --version 2>/dev/null | sed -n '1s/^QEMU emulator version \([0-9]*\.[0-9]*\).*/\1/p')
	[ -n "$v" ] || return 1
	[ "${v%%.*}" -gt 8 ] || { [ "${v%%.*}" -eq 8 ] && [ "${v#*.}" -ge 1 ]; }
}

# The unpacked QEMU's directory, if there is one.
unpacked() {
	local d
	d=$(ls -d "$cache"/*/ 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/usr/bin/qemu-system-x86_64" ] && echo "${d%/}"
}

system_recent() {
	command -v qemu-system-x86_64 >/dev/null && recent "$(command -v qemu-system-x86_64)"
}

case ${1:-} in
ensure)
	if [ -n "${VEIL_L0_QEMU:-}" ] || system_recent || unpacked >/dev/null; then
		exit 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "l0-qemu: the test VMs need QEMU 8.1 or later; run 'make deps' as root" >&2
		exit 1
	fi
	src=/etc/apt/sources.list.d/veil-backports.sources
	if ! apt-cache policy 2>/dev/null | grep -q "$suite/main"; then
		echo "l0-qemu: adding $suite to apt's sources ($src); nothing is upgraded from it"
		cat >"$src" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
		apt-get update -q
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -q -t "$suite" "${packages[@]}")
	ver=$(dpkg-deb -f "$tmp"/qemu-system-x86_*.deb Version)
	dir=$cache/${ver//[:~+]/_}
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	for d in "$tmp"/*.deb; do
		dpkg-deb -x "$d" "$dir.tmp"
	done
	if ! recent "$dir.tmp/usr/bin/qemu-system-x86_64"; then
		echo "l0-qemu: $suite's QEMU $ver does not run here or is older than 8.1" >&2
		rm -rf "$dir.tmp"
		exit 1
	fi
	mv "$dir.tmp" "$dir"
	echo "l0-qemu: QEMU $ver for the test VMs is in $dir"
	;;
check)
	if [ -n "${VEIL_L0_QEMU:-}" ] || system_recent || unpacked >/dev/null; then
		exit 0
	fi
	echo "l0-qemu: no QEMU 8.1 or later for the test VMs; 'make deps' (as root) fetches one into $cache" >&2
	exit 1
	;;
argv)
	if [ -n "${VEIL_L0_QEMU:-}" ]; then
		echo "$VEIL_L0_QEMU"
		for a in ${VEIL_L0_QEMU_ARGS:-}; do echo "$a"; done
	elif system_recent; then
		echo qemu-system-x86_64
	elif d=$(unpacked); then
		echo "$d/usr/bin/qemu-system-x86_64"
		printf '%s\n' -L "$d/usr/share/qemu" -L "$d/usr/share/seabios"
	else
		echo "l0-qemu: no QEMU 8.1 or later for the test VMs; 'make deps' (as root) fetches one into $cache" >&2
		exit 1
	fi
	;;
*)
	echo "usage: $0 ensure|check|argv" >&2
	exit 2
	;;
esac
