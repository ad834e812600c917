# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers that fill an initramfs staging folder for veil's test VMs.
# Sourced by selftests/vmrun.sh.

# stage_busybox ROOT: busybox and a link for each of its applets.
stage_busybox() {
	local root=$1 a
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/veil,lib/veil,proc,sys,dev,tmp,run,tests,root,var}
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	echo "nobody:x:65534:65534:nobody:/:/bin/sh" >>"$root/etc/passwd"
	echo "nogroup:x:65534:" >>"$root/etc/group"
}

# stage_file ROOT PATH: copy PATH (links followed) to the same place in ROOT.
stage_file() {
	local root=$1 f=$2
	[ -e "$root$f" ] && return 0
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
}

# stage_libs ROOT PROGRAM: the shared libraries PROGRAM needs, at the paths
# the dynamic linker looks for them.
stage_libs() {
	local root=$1 lib
	# "libx.so => /lib/.../libx.so (0x...)" and "/lib64/ld-linux... (0x...)"
	for lib in $(ldd "$2" 2>/dev/null |
		     awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		case $lib in "$root"/*) continue ;; esac	# in the image already
		stage_file "$root" "$lib"
	done
}

# stage_binary ROOT PROGRAM: a host program, at its own path, with its libraries.
stage_binary() {
	local root=$1 path
	path=$(command -v "$2") || {
		echo "vmrun: program '$2' is not installed (run 'make deps')" >&2
		return 1
	}
	stage_file "$root" "$path"
	stage_libs "$root" "$path"
}

# stage_deb ROOT DIR PACKAGE: one of veil's Debian packages from DIR,
# unpacked as dpkg would install it, with the shared libraries its programs
# need from the build machine (its own libraries come from the package).
stage_deb() {
	local root=$1 deb f
	deb=$(ls "$2/$3"_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { echo "vmrun: no package $3 in $2 (make deb)" >&2; return 1; }
	dpkg-deb -x "$deb" "$root" || return 1
	for f in $(dpkg-deb -c "$deb" | awk '$1 ~ /^-..x/ { print substr($6, 2) }'); do
		LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu stage_libs "$root" "$root$f"
	done
}

# stage_kmods ROOT RELEASE MODROOT NAME...: modules of RELEASE (under
# MODROOT/lib/modules: / for Debian's, the cache for a debug kernel) with
# their dependencies, decompressed (busybox insmod reads plain ELF), and
# their load order appended to etc/veil/modules.load.  A module built into
# the kernel needs nothing.
stage_kmods() {
	local root=$1 rel=$2 modroot=$3 name line kind path args dst
	shift 3
	mkdir -p "$root/lib/modules"
	for name in "$@"; do
		modprobe -d "$modroot" -S "$rel" --show-depends "$name" >"$root/.deps" || {
			echo "vmrun: module '$name' not found for $rel" >&2
			return 1
		}
		while read -r kind path args; do
			[ "$kind" = insmod ] || continue
			case $path in /*) ;; *) path=$modroot/$path ;; esac
			dst=$root/lib/modules/$(basename "${path%.xz}")
			dst=${dst%.zst}
			grep -qx "/lib/modules/$(basename "$dst")\( .*\)\?" \
				"$root/etc/veil/modules.load" 2>/dev/null && continue
			case $path in
			*.xz) xz -dc "$path" >"$dst" ;;
			*.zst) zstd -qdc "$path" >"$dst" ;;
			*) cp "$path" "$dst" ;;
			esac
			echo "/lib/modules/$(basename "$dst") $args" >>"$root/etc/veil/modules.load"
		done <"$root/.deps"
		rm -f "$root/.deps"
	done
}

# stage_qemu ROOT: QEMU for x86 and the firmware it reads to boot a kernel.
stage_qemu() {
	local root=$1 f
	stage_binary "$root" qemu-system-x86_64
	for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		 /usr/share/qemu/kvmvapic.bin /usr/share/seabios/vgabios-stdvga.bin; do
		stage_file "$root" "$f"
	done
}

# pack ROOT OUT: a newc cpio archive (uncompressed: it boots fastest under TCG).
pack() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc --quiet) >"$2.tmp"
	mv "$2.tmp" "$2"
}

# stage_libvirt ROOT: libvirtd with its QEMU driver and virsh, configured
# for a busybox system without systemd, D-Bus or users of its own: QEMU
# runs as root, in no cgroup or namespace of libvirt's, with no security
# driver, and its stdout goes straight to the domain's log file.
stage_libvirt() {
	local root=$1 f drv=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver
	stage_binary "$root" libvirtd || return 1
	stage_binary "$root" virsh || return 1
	# libvirt probes QEMU with accel=kvm:tcg, and Debian builds TCG as a module.
	for f in "$drv/libvirt_driver_qemu.so" /usr/lib/libvirt/libvirt_iohelper \
		 /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so; do
		stage_file "$root" "$f"
		stage_libs "$root" "$f"
	done
	for f in /usr/share/libvirt/cpu_map/index.xml /usr/share/libvirt/cpu_map/x86_*.xml; do
		stage_file "$root" "$f"
	done
	# libvirtd resolves its built-in QEMU user and group before it reads
	# qemu.conf, which then names root instead.
	echo "libvirt-qemu:x:64055:64055:libvirt-qemu:/:/bin/false" >>"$root/etc/passwd"
	echo "libvirt-qemu:x:64055:" >>"$root/etc/group"
	echo "kvm:x:104:" >>"$root/etc/group"
	# Clients look for the daemon's socket under /var/run, the daemon
	# makes it under /run, as on Debian where one is the other.
	[ -e "$root/var/run" ] || ln -s ../run "$root/var/run"
	mkdir -p "$root"/etc/libvirt/qemu "$root"/var/lib/libvirt/qemu \
		"$root"/var/cache/libvirt/qemu "$root"/var/log/libvirt/qemu
	cat >"$root/etc/libvirt/libvirtd.conf" <<'CONF'
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
	cat >"$root/etc/libvirt/qemu.conf" <<'CONF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
CONF
}
