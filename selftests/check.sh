#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: the whole test suite (what 'make check' runs).
#
#   SUITE="infra dm" KERNEL=6.12 selftests/check.sh
#
# For each kernel: build every module folder with -Werror, run each suite
# in its VMs, and (with the infra suite) the runner's own self-test.  The
# user-space tools build with -Wall -Wextra -Werror once.  Ends with one
# line "N passed, N failed, N skipped"; exits 1 on any failure.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernels=${KERNEL:-$("$top/scripts/kernel.sh" list)}
# make check-debug (VEIL_CHECK_DEBUG=1): the same suites on the debug
# kernels, which are built first (or found in their cache).
debug=${VEIL_CHECK_DEBUG:-0}
if [ "$debug" = 1 ]; then
	dk=
	for k in $kernels; do
		dk="$dk ${k%-debug}-debug"
	done
	kernels=${dk# }
fi
all_suites=
for d in "$top"/selftests/*/suite.conf; do
	s=$(basename "$(dirname "$d")")
	case $s in runner|demo|bench_*) continue ;; esac
	all_suites="$all_suites $s"
done
suites=${SUITE:-$all_suites}
for s in $suites; do
	[ "$s" != runner ] && [ -f "$top/selftests/$s/suite.conf" ] || {
		echo "check: no test suite '$s' (have:$all_suites)" >&2
		exit 2
	}
done

passed=0 failed=0 skipped=0 failures=() retried=() took=()

count() {	# count pass|fail WHAT
	if [ "$1" = pass ]; then
		passed=$((passed + 1))
		echo "ok $2"
	else
		failed=$((failed + 1))
		failures+=("$2")
		echo "not ok $2"
	fi
}

# tap_count OUTPUT: add the ok / not ok lines of a host-side TAP script.
tap_count() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) passed=$((passed + 1)) ;;
		"not ok "*) failed=$((failed + 1)); failures+=("${line#not ok }") ;;
		esac
	done <<<"$1"
}

# run_suite SUITE L1-KERNEL L2-KERNEL [VMRUN-ARGS...]: one suite in its
# VMs, counted.
run_suite() {
	local s=$1 k=$2 k2=$3 res out rc p f sk log line t0=$SECONDS
	local resume from p1=0 f1=0 s1=0
	shift 3
	if [ "$k" = "$k2" ]; then
		echo "== kernel $k: suite $s"
	else
		echo "== host kernel $k, guest kernel $k2: suite $s"
	fi
	res=$top/build/vm/$k-$k2/$s/result
	out=$top/build/vm/$k-$k2/$s.out
	mkdir -p "$top/build/vm/$k-$k2"
	rm -f "$res"
	"$top/selftests/vmrun.sh" --suite "$s" --kernel "$k" --l2-kernel "$k2" "$@" | tee "$out"
	rc=${PIPESTATUS[0]}
	# L1 itself hanging, panicking or being reset (nested SVM under TCG,
	# seen with veil not even loaded) voids the program it died in: when
	# that is an L1 program, the programs before it count and the suite
	# runs once more from it on (selftests/lib/resume.awk); otherwise the
	# whole suite runs once more.  Either way it says so.
	if grep -q '^not ok L1: did not finish' "$out"; then
		echo "# check: L1 of suite $s on $k/$k2 did not finish (hung, panicked or reset)"
		# Where it hung: the end of its console, and the whole of it kept.
		log=$top/build/vm/$k-$k2/$s/console.log
		cp "$log" "$log.hung" 2>/dev/null &&
			echo "# check: its console log is kept as ${log#"$top"/}.hung; it ended:"
		tail -n 60 "$log" 2>/dev/null | sed 's/^/#   hung| /'
		# The consoles vmrun kept of that run's own repeats: vmrun
		# begins by deleting them, so they move out of its way.
		for f in "$log".int3-* "$log".l2-triple-fault "$log".l2-boot-stalled; do
			[ -e "$f" ] || continue
			mv "$f" "$log.hung.${f#"$log".}"
			echo "# check: ${f#"$top"/} is kept as ${log#"$top"/}.hung.${f#"$log".}"
		done
		# And what vmrun.sh read of a hung or panicked L1's vCPUs
		# (dump_hung, dump_panic).
		for f in l1-hung.txt l1-panic.txt l1-panic-stack.txt; do
			f=${log%/*}/$f
			[ ! -e "$f" ] || mv "$f" "$f.hung"
		done
		# (A boot voided before this one, whose programs this one did
		# not run again, counts too: vmrun.sh kept it as result.earlier.)
		from=()
		if "$top/selftests/lib/resume.sh" "$log.hung" "$res.first" "$res.earlier" \
			>/dev/null 2>&1 &&
		   read -r p1 f1 s1 resume <"$res.first"; then
			from=(--from "$resume")
			echo "# check: L1 died inside $resume; the programs before it count" \
				"($p1 passed, $f1 failed, $s1 skipped$([ ! -f "$res.earlier" ] ||
				echo ", with the boot before a void")), and the suite runs again from it on"
			retried+=("suite $s on $k/$k2: run again from $resume on after L1 hung")
		else
			p1=0 f1=0 s1=0
			echo "# check: it did not die inside an L1 program; the whole suite runs once more"
			retried+=("suite $s on $k/$k2: run again after L1 hung")
		fi
		rm -f "$res" "$res.first" "$res.earlier"
		"$top/selftests/vmrun.sh" --suite "$s" --kernel "$k" --l2-kernel "$k2" "${from[@]}" "$@"
		rc=$?
	fi
	# vmrun.sh's own repeats (L1 dead of int3 before its init; an L2
	# that triple-faulted before veil touched it, on a fetch its own page
	# tables allowed, or on its first fetch after a port I/O or MSR exit;
	# an L2 whose boot stalled before veil
	# touched it) are listed at the end.
	grep -q '^# vmrun: L1 died of int3' "$out" &&
		retried+=("suite $s on $k/$k2: L1 booted again after int3")
	grep -q '^# vmrun: an L2 guest triple-faulted' "$out" &&
		retried+=("suite $s on $k/$k2: run again after an L2 triple fault")
	grep -q "^# vmrun: an L2 guest's boot stalled" "$out" &&
		retried+=("suite $s on $k/$k2: run again after an L2 boot stalled")
	# A test's own repeat of a step the test bed spoiled.
	while IFS= read -r line; do
		retried+=("suite $s on $k/$k2: ${line#"# retried: "}")
	done < <(grep '^# retried: ' "$out")
	if [ $rc = 2 ] || [ ! -f "$res" ]; then
		count fail "suite $s on $k/$k2: could not run (exit $rc)"
		return
	fi
	read -r p f sk <"$res"
	p=$((p + p1)) f=$((f + f1)) sk=$((sk + s1))
	echo "# check: suite $s on $k/$k2 took $((SECONDS - t0)) s"
	took+=("suite $s on $k/$k2: $((SECONDS - t0)) s, $p passed, $f failed, $sk skipped")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + sk))
	[ "$f" = 0 ] || failures+=("suite $s on $k/$k2: $f failed")
	rm -f "$res"
}

if [ "$debug" = 1 ]; then
	for k in $kernels; do
		echo "== debug kernel ${k%-debug}"
		if "$top/scripts/debug-kernel.sh" build "${k%-debug}"; then
			count pass "debug kernel ${k%-debug} built"
		else
			count fail "debug kernel ${k%-debug} built"
		fi
	done
fi

echo "== user-space tools (-Wall -Wextra -Werror)"
if make -s -C "$top/tools" >"$top/build/tools.log" 2>&1; then
	count pass "tools build"
else
	sed 's/^/  | /' "$top/build/tools.log" | tail -n 30
	count fail "tools build"
fi

echo "== command lines of the tools and the test bed's helpers, on this machine"
for t in "$top"/selftests/cli/*.sh "$top"/selftests/e2e/lib_test.sh "$top"/selftests/lib/*_test.sh; do
	out=$("$t")
	rc=$?
	echo "$out"
	tap_count "$out"
	case $rc in
	0) ;;
	4) skipped=$((skipped + 1)); echo "# check: ${t#"$top"/} skipped" ;;
	*) grep -q '^not ok ' <<<"$out" || count fail "${t#"$top"/} (exit $rc)" ;;
	esac
done

if [ "$debug" = 0 ]; then
	# The Debian packages, which the e2e suite's VMs install, and lintian's
	# verdict on them; then a real 'make install' into a scratch DESTDIR.
	echo "== Debian packages (make deb, lintian)"
	if "$top/scripts/deb.sh" >"$top/build/deb.log" 2>&1; then
		sed 's/^/  | /' "$top/build/deb.log"
		count pass "make deb builds veil-dkms, veil-host, veil-guest and libveil-dev; lintian: no errors"
	else
		sed 's/^/  | /' "$top/build/deb.log" | tail -n 40
		count fail "make deb builds veil-dkms, veil-host, veil-guest and libveil-dev; lintian: no errors"
	fi
	echo "== make install DESTDIR=... (kernel ${kernels##* })"
	out=$("$top/scripts/install-check.sh" "${kernels##* }")
	echo "$out"
	tap_count "$out"

	echo "== fuzz targets, a short run each (selftests/fuzz)"
	out=$("$top/selftests/fuzz/smoke.sh")
	echo "$out"
	tap_count "$out"
fi

# pairs SUITE K: the L1 and L2 kernels SUITE runs on for kernel K, a pair
# a line.  A suite with mixed_kernels=yes (L1 a host, L2 a guest) pairs
# each kernel of the matrix with the next one, so that every kernel is
# both host and guest and the two kernels' modules meet over the whole
# protocol; the others run L2 on the L1 kernel.  Under make check-debug a
# debug L2 under a debug L1 is too slow to boot under TCG, so a VM stack
# has one debug level: a mixed suite runs twice, the debug kernel once as
# L1 (the next kernel of the matrix, as Debian builds it, for L2) and once
# as L2 (under that Debian kernel); and a suite whose L2 runs nothing of
# veil's kernel code (l2_debug=no) boots L2 on Debian's kernel of the
# same version.
pairs() {
	local conf=$top/selftests/$1/suite.conf list=$kernels base=${2%-debug} first= next=0 x
	if [ "$debug" = 1 ] && grep -q '^l2_debug=no' "$conf"; then
		echo "$2 ${2%-debug}"
		return
	fi
	if ! grep -q '^mixed_kernels=yes' "$conf"; then
		echo "$2 $2"
		return
	fi
	[ "$debug" = 0 ] || list=$("$top/scripts/kernel.sh" list)
	for x in $list; do
		[ -n "$first" ] || first=$x
		if [ $next = 1 ]; then
			first=$x
			break
		fi
		[ "$x" != "$base" ] || next=1
	done
	echo "$2 $first"
	[ "$debug" = 0 ] || echo "$first $2"
}

for k in $kernels; do
	echo "== kernel $k: module builds (-Werror W=1)"
	while IFS= read -r line; do
		case $line in
		built*) count pass "${line#built }" ;;
		FAILED*) count fail "${line#FAILED }" ;;
		*) echo "$line" ;;
		esac
	done < <("$top/scripts/build-modules.sh" "$k" host-kmod guest-kmod)

	for s in $suites; do
		mapfile -t runs < <(pairs "$s" "$k")
		for r in "${runs[@]}"; do
			run_suite "$s" "${r% *}" "${r#* }"
		done
	done

	# The runner's self-test is about the runner: on the first kernel.
	case "$debug $k $suites " in
	"0 ${kernels%% *} "*" infra "*)
		echo "== kernel $k: the runner fails planted failures"
		out=$("$top/selftests/runner/selftest.sh" "$k")
		echo "$out"
		tap_count "$out"
		;;
	esac
done

if [ ${#retried[@]} -gt 0 ]; then
	echo "== run again after a failure of the test bed"
	printf '  %s\n' "${retried[@]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "== failures"
	printf '  %s\n' "${failures[@]}"
fi
echo "# check: $((SECONDS / 60)) min $((SECONDS % 60)) s in all"
echo "$passed passed, $failed failed, $skipped skipped"

# One record per run, kept across clones (VEIL_CHECK_HISTORY; nothing if
# it cannot be written): how long each suite took on this machine and
# what ran again, for the time budget, whatever became of the clone.
history=${VEIL_CHECK_HISTORY:-/var/cache/veil/check-history.log}
if mkdir -p "$(dirname "$history")" 2>/dev/null; then
	{
		echo "== $(date -u '+%F %T UTC') $(git -C "$top" describe --always --dirty 2>/dev/null)" \
			"debug=$debug kernels=$kernels suites=${suites# }"
		printf '  %s\n' "${took[@]}" "${retried[@]/#/run again: }" "${failures[@]/#/failed: }"
		echo "  $((SECONDS / 60)) min $((SECONDS % 60)) s in all;" \
			"$passed passed, $failed failed, $skipped skipped"
	} >>"$history" 2>/dev/null
fi
[ "$failed" = 0 ]
