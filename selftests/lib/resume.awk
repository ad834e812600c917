# SPDX-License-Identifier: GPL-2.0
#
# Reads the console log of an L1 that did not finish (hung, panicked or
# reset) and prints "NAME LINE" when it died inside the L1 program NAME,
# whose last start is on line LINE: the programs before it ended, and
# check.sh counts their results (tap.awk -v partial=1 over the lines
# before LINE) and runs the suite again from NAME on (vmrun.sh --from).
# Prints nothing when L1 died anywhere else (booting, between programs,
# in the L2 run of the suite, after a void or after its end): then the
# whole suite runs again.  With -v void=1, for vmrun.sh: "NAME LINE" of
# the L1 program that voided the suite ("@@VEIL VOID"), which the next
# boot starts from, the programs before it counting from this one.

{ sub(/\r+$/, "") }

match($0, /@@VEIL [A-Z0-9]+ .*/) {
	n = split(substr($0, RSTART), f, " ")
	if (f[3] != "L1")
		next
	if (f[2] == "BEGIN") {
		begun[f[4]] = NR
		if (f[4] == "l2-boot")
			inside = ""
		else {
			inside = f[4]
			line = NR
		}
	} else if (f[2] == "END") {
		inside = ""
	} else if (f[2] == "VOID") {
		voided = f[4]
		voided_at = begun[f[4]]
		inside = ""
		over = 1
	} else if (f[2] == "DONE") {
		inside = ""
		over = 1
	}
}

END {
	if (void && voided != "" && voided_at)
		printf "%s %d\n", voided, voided_at
	else if (!void && !over && inside != "")
		printf "%s %d\n", inside, line
}
