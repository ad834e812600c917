# SPDX-License-Identifier: GPL-2.0
#
# veil: keep secrets out of VM checkpoints and disk images.
#
#   make           build the modules for one kernel (KVER, default the running
#                  one) and the tools; installs nothing
#   make install   install the modules (then depmod), tools, man pages,
#                  libveil, udev rule, systemd unit, bash completion and
#                  samples (DESTDIR=..., PREFIX=/usr/local, KVER=...)
#   make deps      install the Debian packages everything below needs (root)
#   make deb       Debian packages in build/deb/: veil-dkms, veil-host,
#                  veil-guest, libveil-dev
#   make check     the whole suite in nested VMs (SUITE=..., KERNEL=6.1|6.12)
#   make check-debug  the suites on debug kernels (KASAN, lockdep, kmemleak, ...)
#   make demo      boot the nested host and guest and show veil at work
#   make matrix    build the modules for both kernels of the test matrix
#   make bench     run the benchmarks under selftests/bench/
#   make lint      checkpatch --strict on kernel code, warnings build of the tools
#   make fuzz      libFuzzer on the parsers of untrusted input (FUZZ_SECONDS=60 each)
#   make stress    the killed-manager, killed-veilctl and stale tests, long, per kernel
#
# check and demo start with 'make deps'; lint, fuzz, bench, stress and matrix
# only check that the packages are there.

VERSION := $(shell cat VERSION)
KERNELS := 6.1 6.12
SUITE ?=
KERNEL ?=
KSRC := build/linux-source
FUZZ_SECONDS ?= 60

# The running kernel when its headers are installed, else the newest
# kernel that has them (a build machine often runs another kernel).
KVER ?= $(shell r=$$(uname -r); if [ -d /lib/modules/$$r/build ]; then echo $$r; \
	  else ls -d /lib/modules/*/build 2>/dev/null | cut -d/ -f4 | sort -V | tail -n 1; fi)
KDIR ?= /lib/modules/$(KVER)/build
MODULE_DIRS := host-kmod guest-kmod

PREFIX ?= /usr/local
SBINDIR = $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/veil
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# udev reads /usr/lib/udev (packages) and /etc/udev (the administrator).
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)
TOOLS_PATHS = PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) MANDIR=$(MANDIR)

all: modules tools

deps:
	@scripts/deps.sh

deps-check:
	@scripts/deps.sh --check

modules:
	@[ -n "$(KVER)" ] && [ -d "$(KDIR)" ] || { \
		echo "make: no kernel headers at $(KDIR): install linux-headers-$(KVER)," \
		     "or name a kernel with KVER= or KDIR=" >&2; exit 1; }
	@[ "$(KVER)" = "$$(uname -r)" ] || echo "make: building the modules for $(KVER)" \
		"(the running kernel has no headers)"
	@for d in $(MODULE_DIRS); do $(MAKE) -C $$d KDIR=$(KDIR) modules || exit 1; done

matrix: deps-check
	@for k in $(KERNELS); do scripts/build-modules.sh $$k || exit 1; done

tools:
	$(MAKE) -C tools $(TOOLS_PATHS)

check: deps
	@SUITE="$(SUITE)" KERNEL="$(KERNEL)" selftests/check.sh

# The suites on kernels built from Debian's source with KASAN, lockdep,
# KFENCE, UBSAN, kmemleak and the atomic-sleep and list checks
# (scripts/debug-kernel.sh; built once into a cache outside the clone).
check-debug: deps
	@VEIL_CHECK_DEBUG=1 SUITE="$(SUITE)" KERNEL="$(KERNEL)" selftests/check.sh

demo: deps
	@selftests/demo.sh

bench: deps-check
	@selftests/bench/run.sh

# Each target of selftests/fuzz for FUZZ_SECONDS; fails on any finding.
fuzz: deps-check
	@$(MAKE) -s -C selftests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

# SANITIZE and RESTORE of 256 MiB with the manager (host suite) and veilctl
# (e2e suite) killed at random points, 200 rounds each where make check
# runs 8 and 4, and the guest's stale test, 500 rounds where make check
# runs 20; on each kernel (KERNEL=...).
stress: deps-check
	@for k in $(or $(KERNEL),$(KERNELS)); do \
		VEIL_STRESS=1 selftests/vmrun.sh --suite host --kernel $$k || exit 1; \
		VEIL_STRESS=1 selftests/vmrun.sh --suite e2e --kernel $$k || exit 1; \
		VEIL_STRESS=1 selftests/vmrun.sh --suite guest --kernel $$k || exit 1; \
	done

# Kernel C sources and headers: everything Kbuild compiles (lib/ is shared
# with the tools), plus the uapi (not what Kbuild generates in a folder
# built in place).
KERNEL_SOURCES = $(filter-out %.mod.c,$(wildcard host-kmod/*.[ch] host-kmod/*/*.[ch] \
			    guest-kmod/*.[ch] lib/*/*.[ch] uapi/linux/*.h selftests/*/kmod/*.[ch]))

# compat.h is where each module folder keeps its kernel-version checks, so
# LINUX_VERSION_CODE is expected there and nowhere else.
COMPAT_SOURCES = $(filter %/compat.h,$(KERNEL_SOURCES))
CHECKPATCH = $(KSRC)/scripts/checkpatch.pl --strict --no-tree --quiet --show-types \
	     --ignore FILE_PATH_CHANGES

lint: deps-check
	@echo "checkpatch --strict: $(words $(KERNEL_SOURCES)) files"
	@$(CHECKPATCH) -f $(filter-out $(COMPAT_SOURCES),$(KERNEL_SOURCES)) && \
		$(CHECKPATCH) --ignore LINUX_VERSION_CODE -f $(COMPAT_SOURCES) && \
		echo "checkpatch: clean"
	@$(MAKE) -s -C tools clean all && echo "tools: clean build with -Wall -Wextra -Werror"
	@scripts/version-check.sh

# The modules for KVER, then depmod for the tree they went into.
install-modules: modules
	@for d in $(MODULE_DIRS); do \
		$(MAKE) -C $$d KDIR=$(KDIR) INSTALL_MOD_PATH=$(DESTDIR) modules_install || exit 1; \
	done
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KVER)

# Everything but the modules (the Debian packages get those from DKMS).
install-tools: tools
	$(MAKE) -C tools install $(TOOLS_PATHS)
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/veil.service.in >$(DESTDIR)$(SYSTEMDUNITDIR)/veil.service
	install -D -m 0644 dist/60-veil.rules $(DESTDIR)$(UDEVRULESDIR)/60-veil.rules
	for t in veil veilctl veil-disk; do \
		install -D -m 0644 dist/completion/$$t $(DESTDIR)$(COMPLETIONDIR)/$$t || exit 1; \
	done
	install -D -m 0644 dist/exclude.conf $(DESTDIR)$(DOCDIR)/examples/exclude.conf
	install -D -m 0644 dist/modules-load.d/veil-host.conf \
		$(DESTDIR)$(DOCDIR)/examples/modules-load.d/veil-host.conf
	install -D -m 0644 dist/modules-load.d/veil-guest.conf \
		$(DESTDIR)$(DOCDIR)/examples/modules-load.d/veil-guest.conf

install: install-modules install-tools

# Debian packages, built from a copy of the tree in build/deb/.
deb:
	@scripts/deb.sh

clean:
	rm -rf build/[0-9]* build/vm build/selftests build/deb build/*.log
	$(MAKE) -C tools clean
	@for d in $(MODULE_DIRS); do \
		[ ! -d "$(KDIR)" ] || $(MAKE) -s -C $$d KDIR=$(KDIR) clean; done

.PHONY: all deps deps-check modules matrix tools check check-debug demo bench fuzz \
	stress lint install install-modules install-tools deb clean
