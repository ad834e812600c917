#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 'make install DESTDIR=...' installs the files listed here and nothing
# else, for one kernel of the matrix; the modules carry VERSION, the tools
# say it, and libveil exports only versioned symbols that a program built
# through libveil.pc links against.  Prints TAP.
#
#   scripts/install-check.sh 6.12
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
k=${1:-6.12}
rel=$("$top/scripts/kernel.sh" release "$k") || exit 2
version=$(cat "$top/VERSION")
dest=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$dest"' EXIT
n=0 bad=0

ok() {	# ok DESCRIPTION STATUS: returns STATUS
	n=$((n + 1))
	if [ "$2" = 0 ]; then echo "ok $n install: $1"; else echo "not ok $n install: $1"; bad=1; fi
	return "$2"
}

# The defaults, whatever a calling make (make check PREFIX=...) was given.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$top" install DESTDIR="$dest" KVER="$rel" PREFIX=/usr/local >"$dest.log" 2>&1
ok "make install DESTDIR=... KVER=$rel" $? || tail -n 30 "$dest.log" | sed 's/^/#   /'
rm -f "$dest.log"

# What may be there: one pattern a line (extended regular expressions,
# relative to DESTDIR); every pattern must match a file.
m="lib/modules/$rel"
mre=$(printf '%s' "$m" | sed 's/[.+]/\\&/g')
# Kbuild puts external modules in extra/ or, as Debian's does, in updates/.
cat >"$dest.want" <<WANT
^$mre/(extra|updates)/(.*/)?veil_host\.ko(\.xz|\.zst|\.gz)?$
^$mre/(extra|updates)/(.*/)?veil_guest\.ko(\.xz|\.zst|\.gz)?$
^$mre/(extra|updates)/(.*/)?dm-veilcrypt\.ko(\.xz|\.zst|\.gz)?$
^$mre/modules\.dep$
^$mre/modules\.[a-z.]+$
^usr/local/sbin/veil$
^usr/local/sbin/veilctl$
^usr/local/sbin/veil-disk$
^usr/local/share/man/man8/veil\.8$
^usr/local/share/man/man8/veilctl\.8$
^usr/local/share/man/man8/veil-disk\.8$
^usr/local/share/man/man3/libveil\.3$
^usr/local/include/libveil\.h$
^usr/local/lib/libveil\.so\.1$
^usr/local/lib/libveil\.so$
^usr/local/lib/libveil\.a$
^usr/local/lib/pkgconfig/libveil\.pc$
^usr/local/lib/systemd/system/veil\.service$
^etc/udev/rules\.d/60-veil\.rules$
^usr/local/share/bash-completion/completions/veil$
^usr/local/share/bash-completion/completions/veilctl$
^usr/local/share/bash-completion/completions/veil-disk$
^usr/local/share/doc/veil/examples/exclude\.conf$
^usr/local/share/doc/veil/examples/modules-load\.d/veil-host\.conf$
^usr/local/share/doc/veil/examples/modules-load\.d/veil-guest\.conf$
WANT
(cd "$dest" && find . ! -type d | sed 's|^\./||' | sort) >"$dest.have"
extra=$(grep -vEf "$dest.want" "$dest.have")
[ -z "$extra" ]
ok "nothing is installed but the listed files" $? || echo "$extra" | sed 's/^/#   unlisted: /'
missing=
while IFS= read -r p; do
	grep -qE "$p" "$dest.have" || missing="$missing $p"
done <"$dest.want"
nfiles=$(wc -l <"$dest.have")
[ -z "$missing" ]
ok "every listed file is installed ($nfiles files)" $? ||
	printf '#   missing: %s\n' $missing
rm -f "$dest.want" "$dest.have"

for mod in veil_host veil_guest dm-veilcrypt; do
	f=$(find "$dest/$m" -name "$mod.ko*" | head -n 1)
	v=$(modinfo -F version "$f" 2>/dev/null)
	[ "$v" = "$version" ]
	ok "$mod carries MODULE_VERSION $version (saw ${v:-none})" $?
done
grep -Eq "^(extra|updates)/(.*/)?veil_host\.ko" "$dest/$m/modules.dep"
ok "depmod lists the modules in modules.dep" $? || sed 's/^/#   modules.dep: /' "$dest/$m/modules.dep"
for t in veil veilctl veil-disk; do
	v=$("$dest/usr/local/sbin/$t" --version 2>&1)
	[ "$v" = "$t $version" ]
	ok "$t --version says $version (saw '$v')" $?
done

lib=$dest/usr/local/lib/libveil.so.1
[ "$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" = libveil.so.1 ]
ok "libveil's soname is libveil.so.1" $?
syms=$(objdump -T "$lib" | awk '$3 == "DF" && $4 != "*UND*" { print $6 }' | sort -u | tr '\n' ' ')
nsyms=$(objdump -T "$lib" | awk '$3 == "DF" && $4 != "*UND*" && $7 ~ /^veil_/' | wc -l)
[ "$syms" = "VEIL_1 " ] && [ "$nsyms" = 9 ]
ok "libveil exports its 9 functions, each at version VEIL_1 (saw $nsyms at: $syms)" $?
printf '#include <libveil.h>\nint main(void) { struct veil *v = veil_open(); veil_close(v); return 0; }\n' \
	>"$dest/t.c"
flags=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$dest/usr/local/lib/pkgconfig \
	pkg-config --cflags --libs libveil)
cc -o "$dest/t" "$dest/t.c" $flags 2>&1 | sed 's/^/#   /'
objdump -T "$dest/t" 2>/dev/null | grep -q '(VEIL_1) *veil_open$' &&
	readelf -d "$dest/t" | grep -q 'NEEDED.*libveil.so.1'
ok "a program built with pkg-config's flags for libveil needs veil_open@VEIL_1" $?

# The unit as installed, checked by systemd with its programs where they
# were installed.
unit=$dest/usr/local/lib/systemd/system/veil.service
mkdir -p "$dest/unit"
sed "s|/usr/local/sbin/|$dest/usr/local/sbin/|g" "$unit" >"$dest/unit/veil.service"
v=$(systemd-analyze verify --man=no "$dest/unit/veil.service" 2>&1)
[ $? = 0 ] && [ -z "$v" ] && grep -q '^ExecStart=/usr/local/sbin/veil apply$' "$unit" &&
	grep -q '^After=systemd-modules-load.service$' "$unit"
ok "veil.service runs 'veil apply' after the modules load; systemd finds no fault in it" $? ||
	echo "$v" | sed 's/^/#   /'

# The completion of the last word of a command line, by the installed file.
complete_line() {	# complete_line WORD...
	bash -c '. /usr/share/bash-completion/bash_completion
		. "$0/$1"; f=$(complete -p "$1" | sed "s/.* -F \([^ ]*\) .*/\1/")
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}; $f; printf "%s\n" "${COMPREPLY[@]}"' \
		"$dest/usr/local/share/bash-completion/completions" "$@" 2>&1 | sort | tr '\n' ' '
}
c=$(complete_line veilctl "")
[ "$c" = "checkpoint list restore status " ]
ok "bash completes veilctl's commands (saw: $c)" $?
c=$(complete_line veilctl checkpoint vm1 --format m)
[ "$c" = "managedsave memory migrate " ]
ok "bash completes veilctl's formats (saw: $c)" $?
c=$(complete_line veil "")
[ "$c" = "--help --version apply dontdump exclude extents include list status " ]
ok "bash completes veil's commands (saw: $c)" $?
c=$(complete_line veil exclude --)
[ "$c" = "--cgroup --children --comm --unit " ]
ok "bash completes veil exclude's options (saw: $c)" $?
c=$(complete_line veil include --)
[ "$c" = "--cgroup --children --comm --exited --unit " ]
ok "bash completes veil include's options, --exited too (saw: $c)" $?
c=$(complete_line veil-disk c)
[ "$c" = "change-key check close " ]
ok "bash completes veil-disk's commands (saw: $c)" $?
c=$(complete_line veil-disk add-key vm.img --new)
[ "$c" = "--new-key-desc --new-key-file " ]
ok "bash completes veil-disk add-key's options (saw: $c)" $?
echo "1..$n"
exit $bad
