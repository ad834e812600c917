#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# VERSION is the one place veil's version is written: the modules
# (MODULE_VERSION) and the tools (--version) are built from it.  The two
# files that cannot read it, dkms.conf and debian/changelog, must say the
# same; this says which one does not.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
v=$(cat "$top/VERSION")
rc=0
d=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
[ "$d" = "$v" ] || { echo "version: dkms.conf says $d, VERSION says $v" >&2; rc=1; }
c=$(sed -n '1s/^veil (\([^)]*\)).*/\1/p' "$top/debian/changelog")
[ "$c" = "$v" ] || { echo "version: debian/changelog says $c, VERSION says $v" >&2; rc=1; }
[ $rc != 0 ] || echo "version: $v in VERSION, dkms.conf and debian/changelog"
exit $rc
