# SPDX-License-Identifier: GPL-2.0
#
# veil: keep secrets out of VM checkpoints and disk images.
#
#   make deps      install what the build, tests, demo and benchmarks need
#   make           build the modules for both kernels of the matrix, and the tools
#   make check     the whole suite in nested VMs (SUITE=..., KERNEL=6.1|6.12)
#   make demo      boot the nested host and guest and show veil at work
#   make bench     run the benchmarks under selftests/bench/
#   make lint      checkpatch --strict on kernel code, warnings build of the tools
#   make fuzz      libFuzzer on the parsers of untrusted input (FUZZ_SECONDS=60 each)
#   make stress    the killed-manager and killed-veilctl tests, 200 rounds per kernel
#   make install   build and install the modules for the running kernel
#
# On a real host: make -C host-kmod KDIR=/lib/modules/$(uname -r)/build

KERNELS := 6.1 6.12
SUITE ?=
KERNEL ?=
KSRC := build/linux-source
KDIR ?= /lib/modules/$(shell uname -r)/build
FUZZ_SECONDS ?= 60

all: modules tools

deps:
	@scripts/deps.sh

modules: deps
	@for k in $(KERNELS); do scripts/build-modules.sh $$k || exit 1; done

tools:
	$(MAKE) -C tools

check: deps
	@SUITE="$(SUITE)" KERNEL="$(KERNEL)" selftests/check.sh

demo: deps
	@selftests/demo.sh

bench: deps
	@selftests/bench/run.sh

# Each target of selftests/fuzz for FUZZ_SECONDS; fails on any finding.
fuzz: deps
	@$(MAKE) -s -C selftests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

# SANITIZE and RESTORE of 256 MiB with the manager (host suite) and veilctl
# (e2e suite) killed at random points: 200 rounds each on each kernel
# (KERNEL=...) where make check runs 20.
stress: deps
	@for k in $(or $(KERNEL),$(KERNELS)); do \
		VEIL_STRESS=1 selftests/vmrun.sh --suite host --kernel $$k || exit 1; \
		VEIL_STRESS=1 selftests/vmrun.sh --suite e2e --kernel $$k || exit 1; \
	done

# Kernel C sources and headers: everything Kbuild compiles (lib/ is shared
# with the tools), plus the uapi.
KERNEL_SOURCES = $(wildcard host-kmod/*.[ch] host-kmod/*/*.[ch] guest-kmod/*.[ch] \
			    lib/*/*.[ch] uapi/linux/*.h selftests/*/kmod/*.[ch])

# compat.h is where each module folder keeps its kernel-version checks, so
# LINUX_VERSION_CODE is expected there and nowhere else.
COMPAT_SOURCES = $(filter %/compat.h,$(KERNEL_SOURCES))
CHECKPATCH = $(KSRC)/scripts/checkpatch.pl --strict --no-tree --quiet --show-types \
	     --ignore FILE_PATH_CHANGES

lint: deps
	@echo "checkpatch --strict: $(words $(KERNEL_SOURCES)) files"
	@$(CHECKPATCH) -f $(filter-out $(COMPAT_SOURCES),$(KERNEL_SOURCES)) && \
		$(CHECKPATCH) --ignore LINUX_VERSION_CODE -f $(COMPAT_SOURCES) && \
		echo "checkpatch: clean"
	@$(MAKE) -s -C tools clean all && echo "tools: clean build with -Wall -Wextra -Werror"

install:
	$(MAKE) -C host-kmod KDIR=$(KDIR) modules modules_install
	$(MAKE) -C guest-kmod KDIR=$(KDIR) modules modules_install
	depmod -a

clean:
	rm -rf build/[0-9]* build/vm build/selftests build/*.log
	$(MAKE) -C tools clean

.PHONY: all deps modules tools check demo bench fuzz stress lint install clean
