#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build veil's Debian packages (veil-dkms, veil-host, veil-guest,
# libveil-dev) with dpkg-buildpackage from a copy of the tree, so that
# nothing is written beside the checkout, and judge them with lintian.
#
#   scripts/deb.sh [--no-lintian]
#
# The packages land in build/deb/.  A tree that has not changed since the
# last build is not built again.  Exits non-zero when the build fails or
# lintian reports an error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
lintian=1
[ "${1:-}" != --no-lintian ] || lintian=0
version=$(cat "$top/VERSION")
out=$top/build/deb
stamp=$out/.built
src=$out/src/veil-$version

# The files of the tree: tracked, and new ones not ignored.
files() {
	git -C "$top" ls-files -z --cached --others --exclude-standard 2>/dev/null ||
		(cd "$top" && find . -path ./build -prune -o -path ./.git -prune -o \
			-type f -print0)
}

changed=1
if [ -f "$stamp" ]; then
	changed=0
	while IFS= read -r -d '' f; do
		if [ -e "$top/$f" ] && [ "$top/$f" -nt "$stamp" ]; then
			changed=1
			break
		fi
	done < <(files)
fi
if [ $changed = 1 ]; then
	echo "deb: building veil $version in ${out#"$top"/}"
	rm -rf "$out"
	mkdir -p "$src"
	files | (cd "$top" && tar --null -T - -cf -) | tar -C "$src" -xf -
	# Nothing of a calling make (make check PREFIX=...) reaches the build.
	if ! (cd "$src" && unset MAKEFLAGS MFLAGS MAKELEVEL &&
	      dpkg-buildpackage -us -uc -b -j2) >"$out/build.log" 2>&1; then
		tail -n 40 "$out/build.log" >&2
		echo "deb: dpkg-buildpackage failed (log: ${out#"$top"/}/build.log)" >&2
		exit 1
	fi
	mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
	rm -rf "$out/src"
	touch "$stamp"
fi
ls "$out"/*.deb | sed "s|^$top/|deb: |"
if [ $lintian = 1 ]; then
	if ! lintian --fail-on error "$out"/*.changes >"$out/lintian.log" 2>&1; then
		cat "$out/lintian.log" >&2
		echo "deb: lintian reports errors" >&2
		exit 1
	fi
	echo "deb: lintian: no errors ($(grep -c '^[WI]:' "$out/lintian.log" || true) warnings and notes, in ${out#"$top"/}/lintian.log)"
fi
