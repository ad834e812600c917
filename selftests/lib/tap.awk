# SPDX-License-Identifier: GPL-2.0
#
# Reads the console log of a veil test VM (L1, with L2's console inside it)
# and judges it.  Prints one line per result and a reason for every
# failure, then "N passed, N failed, N skipped".  Writes "pass fail skip" to
# the file named by -v result=FILE.  -v want_l2=1 when an L2 was expected.
#
# Failures: TAP "not ok"; a test that exits non-zero without a "not ok",
# or that prints no result at all; a module that does not load; a kernel
# log line that reports a warning, bug, oops, panic, sanitizer or lockdep
# splat or a stall; a VM that never reaches its end.  -v partial=1 reads
# the part of a log that ends before the program in which L1 died
# (selftests/lib/resume.awk): what ran before it counts, and L1 and L2
# are not required to reach their end, which the run from that program on
# must do.

function who() {
	if (open["L2"] != "")
		return "L2 " open["L2"]
	if (open["L1"] != "")
		return "L1 " open["L1"]
	return "boot"
}

function fail(what) {
	failed++
	say(sprintf("not ok %s", what))
}

# An L1 program's lines are held until it is over: if L1's init runs it
# again (RETRY: it found the test bed failed under it), they are printed
# as set aside and its results do not count, except what the kernel
# logged meanwhile (say_kept), which is charged whatever happens.
function say(line) {
	if (hold)
		held[nheld++] = line
	else
		print line
}

function say_kept(line) {
	if (hold)
		kept_line[nheld] = 1
	say(line)
}

function fail_kept(what) {
	failed++
	kept_failed++
	say_kept(sprintf("not ok %s", what))
}

function flush(void,	i) {
	for (i = 0; i < nheld; i++) {
		if (void && !(i in kept_line))
			printf "# void| %s\n", held[i]
		else
			print held[i]
	}
	nheld = 0; hold = 0; kept_failed = 0
	delete held
	delete kept_line
}


function bad_kernel_line(line) {
	return line ~ bad_re
}

# The patterns of a bad kernel log line, from -v bad_re_file=FILE
# (selftests/lib/bad_kernel.ere), joined into one expression.
function load_bad_re(file,	l, n) {
	n = 0
	while ((getline l < file) > 0) {
		if (l ~ /^#/ || l == "")
			continue
		bad_re = bad_re (n++ ? "|" : "") "(" l ")"
	}
	close(file)
	if (!n) {
		printf "tap.awk: no patterns in '%s'\n", file > "/dev/stderr"
		no_patterns = 1
		exit 2
	}
}

BEGIN {
	passed = failed = skipped = 0; nbefore = 0; after = 0
	load_bad_re(bad_re_file)
}

{ sub(/\r+$/, ""); gsub(/\r/, "") }

# Our markers may follow kernel text printed without a newline.
match($0, /@@VEIL [A-Z0-9]+ .*/) {
	n = split(substr($0, RSTART), f, " ")
	ev = f[2]; lvl = f[3]
	if (ev == "BOOTED") {
		booted[lvl] = 1
	} else if (ev == "BEGIN") {
		if (lvl == "L1") {
			flush(0)
			hold = 1
			passed0 = passed; failed0 = failed; skipped0 = skipped
		}
		open[lvl] = f[4]; key = lvl " " f[4]
		nbefore = 0; after = 0
		cases[key] = 0; notok[key] = 0
	} else if (ev == "END") {
		key = lvl " " f[4]; rc = f[5] + 0
		# "END LEVEL NAME RC SECONDS LIMIT": how close it came to its limit
		if (f[6] != "" && f[7] != "") {
			say(sprintf("# time %s: %d s of its %d s limit", key, f[6], f[7]))
			if (f[6] * 3 > f[7])
				say(sprintf("# slow: %s took more than a third of its limit", key))
		}
		if (f[4] == "l2-boot") {
			if (rc != 0)
				fail(key ": the L2 VM exited with status " rc)
		} else if (rc == 4 && cases[key] == 0) {
			skipped++
			say(sprintf("skip %s: exit 4, the test cannot run here", key))
		} else if (rc != 0 && notok[key] == 0) {
			fail(key ": exited with status " rc " without reporting a failure")
		} else if (rc == 0 && cases[key] == 0) {
			fail(key ": reported no result")
		}
		open[lvl] = ""
	} else if (ev == "MODFAIL") {
		fail(lvl " boot: module " f[4] " did not load")
	} else if (ev == "RETRY" || ev == "VOID") {
		# "RETRY|VOID L1 NAME REASON": the program found the test bed
		# failed; it runs again, or (VOID) the whole suite does
		why = substr($0, RSTART)
		sub(/^@@VEIL [A-Z]+ [^ ]+ [^ ]+ */, "", why)
		if (ev == "RETRY") {
			kept = kept_failed
			flush(1)
			open["L1"] = open["L2"] = ""
			passed = passed0; failed = failed0 + kept; skipped = skipped0
			printf "# retried: %s %s: ran again, its results above set aside: %s\n", lvl, f[4], why
		} else {
			flush(0)
			printf "# void: %s %s: %s; the rest of the suite is skipped, and the suite runs again\n", lvl, f[4], why
		}
	} else if (ev == "DONE") {
		flush(0)
		done[lvl] = 1
	}
	next
}

/^@@KLOG / {
	step = $2 " " $3
	sub(/:$/, "", step)
	if (bad_kernel_line($0) && !(step in klog_bad)) {
		klog_bad[step] = 1
		line = $0
		sub(/^@@KLOG [^ ]+ [^ ]+: /, "", line)
		fail_kept(step ": kernel log: " line)
		show = 40
	} else if (show > 0) {
		line = $0
		sub(/^@@KLOG [^ ]+ [^ ]+: /, "", line)
		say_kept(sprintf("#   | %s", line))
	}
	if (show > 0)
		show--
	next
}

/^(not )?ok [0-9]+/ {
	key = who()
	cases[key]++
	desc = $0
	sub(/^(not )?ok [0-9]+ */, "", desc)
	if ($1 == "not") {
		notok[key]++
		fail(key ": " desc)
		# The test's own words on it: kselftest's harness says them
		# before the result, shell tests after it.
		for (i = 0; i < nbefore; i++)
			say(sprintf("#   | %s", before[i]))
		nbefore = 0
		after = 60
		next
	} else if (desc ~ /# *[Ss][Kk][Ii][Pp]/) {
		skipped++
		say(sprintf("skip %s: %s", key, desc))
	} else {
		passed++
		say(sprintf("ok %s: %s", key, desc))
	}
	nbefore = 0
	after = 0
	next
}

# A test that had to repeat a step the test bed spoiled says so; the
# summary keeps it (check.sh lists it at the end).
/^# retried: / {
	say(sprintf("# retried: %s: %s", who(), substr($0, 12)))
	next
}

# A test's comment lines: the last few before a result, and the first
# ones after a failure, go with a failure into the summary (which is all
# that a CI log keeps; the console log has the rest).
/^# / {
	if (after > 0) {
		say(sprintf("#   | %s", $0))
		after--
	} else {
		if (nbefore == 20) {
			for (i = 1; i < 20; i++)
				before[i - 1] = before[i]
			nbefore = 19
		}
		before[nbefore++] = $0
	}
	next
}

# Lines the kernel printed straight to the console (loglevel <= 4): a
# panic or oops that ends the VM before its log can be gathered.
/^\[ *[0-9]+\.[0-9]+\]/ && bad_kernel_line($0) && !(who() in console_bad) {
	console_bad[who()] = 1
	fail_kept(who() ": console: " $0)
}

END {
	if (no_patterns)
		exit 2
	flush(0)
	if (!booted["L1"])
		fail("L1: did not boot (no init marker on the console)")
	else if (!done["L1"] && !partial)
		fail("L1: did not finish (timeout, panic or hang)")
	if (want_l2 && !partial) {
		if (!booted["L2"])
			fail("L2: did not boot")
		else if (!done["L2"])
			fail("L2: did not finish (timeout, panic or hang)")
	}
	printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
	if (result != "")
		printf "%d %d %d\n", passed, failed, skipped > result
}
