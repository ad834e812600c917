#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Prints a shell assignment, bad_kernel_re='...', of the patterns in
# bad_kernel.ere (beside this script) joined into one extended regular
# expression: the build puts it into the test programs that judge a
# guest's kernel log themselves, so that they judge it as the runner does.
ere=$(dirname "$0")/bad_kernel.ere
re=$(sed -e '/^#/d' -e '/^$/d' -e 's/.*/(&)/' "$ere" | paste -sd'|') || exit 1
[ -n "$re" ] || { echo "bad_kernel_re.sh: no patterns in $ere" >&2; exit 1; }
case $re in *\'*) echo "bad_kernel_re.sh: a quote in $ere" >&2; exit 1 ;; esac
printf "bad_kernel_re='%s'\n" "$re"
