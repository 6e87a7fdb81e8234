#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# .clang-format is applied to every C file and stays applied: each file is
# one TAP line; a file that clang-format would change fails, with the first
# places it would change.  Tables laid out by hand for reading sit between
# "clang-format off" and "clang-format on" comments.
#
#   test-format.sh SRCROOT
set -u
root=${1:?usage: test-format.sh SRCROOT}
cd "$root" || exit 1
if ! command -v clang-format >/dev/null; then
        echo "1..0 # SKIP clang-format is not installed (tools/setup installs it)"
        exit 77
fi
mapfile -t files < <(find src tests bench -name '*.[ch]' | sort)
# one clang-format for all files (a process per file takes half a minute on
# a loaded machine); its complaints name the file first
report=$(clang-format --dry-run --Werror "${files[@]}" 2>&1)
n=0 failed=0
for f in "${files[@]}"; do
        n=$((n + 1))
        if ! grep -q -F -- "$f:" <<<"$report"; then
                echo "ok $n - $f is formatted"
        else
                echo "not ok $n - $f is formatted (clang-format -i $f)"
                grep -F -- "$f:" <<<"$report" | grep -m 3 'error:' | sed 's/^/# /'
                failed=$((failed + 1))
        fi
done
echo "1..$n"
[ $failed -eq 0 ]
