#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages render without a single groff warning, and nothing is left unfilled.
set -u
n=0 failed=0
for page in "$@"; do
        n=$((n + 1))
        warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$page" 2>&1)
        if [ -z "$warnings" ] && ! grep -q '@[A-Z]*@' "$page"; then
                echo "ok $n - $(basename "$page") renders cleanly"
        else
                echo "not ok $n - $(basename "$page") renders cleanly"
                printf '%s\n' "$warnings" | sed 's/^/# /'
                grep -n '@[A-Z]*@' "$page" | sed 's/^/# unfilled: /'
                failed=$((failed + 1))
        fi
done
echo "1..$n"
[ $failed -eq 0 ]
