#!/usr/bin/env bash
# The sandbox of kinesisd.service, as systemd-analyze security rates it
# offline: the overall exposure must stay at or below MAX (0.0 is the best,
# 10.0 the worst; systemd calls anything below 2.0 "OK").
#
#   security.sh UNIT_FILE MAX
#
# Exit 77 (skipped) without systemd-analyze.
set -euo pipefail

unit=$1 max=$2

if ! command -v systemd-analyze >/dev/null 2>&1; then
        echo "SKIP: systemd-analyze is not installed"
        exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Offline analysis reads only the file; a copy keeps the name kinesisd.service
# whatever the source is called.
cp "$unit" "$tmp/kinesisd.service"

rc=0
out=$(SYSTEMD_COLORS=0 systemd-analyze security --offline=yes --no-pager "$tmp/kinesisd.service" 2>&1) || rc=$?
printf '%s\n' "$out" | grep -v '^✓' || true
level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for kinesisd\.service: *\([0-9][0-9]*\.[0-9]*\).*/\1/p')
if [ $rc != 0 ] || [ -z "$level" ]; then
        echo "FAIL: no overall exposure level in the output (exit $rc)"
        exit 1
fi
if awk -v l="$level" -v m="$max" 'BEGIN { exit !(l + 0 <= m + 0) }'; then
        echo "PASS: overall exposure $level <= $max"
else
        echo "FAIL: overall exposure $level > $max"
        exit 1
fi
