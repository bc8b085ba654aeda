#!/usr/bin/env bash
# contrib/systemd/kinesisd.sysusers creates the kinesisd system user and group
# that kinesisd.service runs as: applied by systemd-sysusers to an empty root,
# without a complaint.
#
#   sysusers.sh SYSUSERS_FILE UNIT_FILE
#
# Exit 77 (skipped) without systemd-sysusers.
set -euo pipefail

conf=$1 unit=$2

if ! command -v systemd-sysusers >/dev/null 2>&1; then
        echo "SKIP: systemd-sysusers is not installed"
        exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc"

rc=0
out=$(systemd-sysusers --root="$tmp" "$(realpath "$conf")" 2>&1) || rc=$?
if [ $rc != 0 ]; then
        echo "FAIL: systemd-sysusers exited $rc:"
        printf '%s\n' "$out"
        exit 1
fi
# Only the two lines about what it created are expected.
if [ -n "$(grep -v -e "^Creating group 'kinesisd'" -e "^Creating user 'kinesisd'" <<<"$out" || true)" ]; then
        echo "FAIL: systemd-sysusers said more than expected:"
        printf '%s\n' "$out"
        exit 1
fi

user=$(sed -n 's/^User=//p' "$unit")
group=$(sed -n 's/^Group=//p' "$unit")
pw=$(grep "^$user:" "$tmp/etc/passwd" || true)
if [ -z "$pw" ] || ! grep -q "^$group:" "$tmp/etc/group"; then
        echo "FAIL: user $user or group $group of the unit not created:"
        cat "$tmp/etc/passwd" "$tmp/etc/group"
        exit 1
fi
uid=$(printf '%s\n' "$pw" | cut -d: -f3)
home=$(printf '%s\n' "$pw" | cut -d: -f6)
shell=$(printf '%s\n' "$pw" | cut -d: -f7)
# A system user, no login, and no home where credentials could be dropped.
if [ "$uid" -ge 1000 ] || [ "$uid" -eq 0 ] || [ "$home" != / ] || [ "${shell##*/}" != nologin ]; then
        echo "FAIL: unexpected passwd entry: $pw"
        exit 1
fi
echo "PASS: $pw"
