#!/usr/bin/env bash
# The man pages render without a single warning.
#
#   lint.sh man|mandoc PAGE...
#
# man:    man --warnings -l -Tutf8 (groff's warnings, through man-db)
# mandoc: mandoc -Tlint (every level, style included)
# Any output on standard error (man) or at all (mandoc) fails. Exit 77
# (skipped) when the tool is not installed.
set -euo pipefail

tool=$1
shift
if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed"
        exit 77
fi

# A fixed UTF-8 locale: man-db warns about an unusable one, and the output
# device must not depend on the caller's.
export LC_ALL=C.UTF-8
unset MANOPT MANROFFOPT MANWIDTH

fail=0
for page in "$@"; do
        rc=0
        case $tool in
        man) out=$(man --warnings -l -Tutf8 "$page" 2>&1 >/dev/null) || rc=$? ;;
        mandoc) out=$(mandoc -Tlint "$page" 2>&1) || rc=$? ;;
        *) echo "usage: $0 man|mandoc PAGE..." >&2; exit 2 ;;
        esac
        if [ $rc != 0 ] || [ -n "$out" ]; then
                echo "FAIL: $tool on ${page##*/} (exit $rc):"
                printf '%s\n' "$out"
                fail=1
        else
                echo "PASS: $tool on ${page##*/}: clean"
        fi
done
exit $fail
