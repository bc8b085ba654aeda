#!/usr/bin/env bash
# contrib/systemd/kinesisd.catalog explains every MESSAGE_ID kinesisd logs:
# each LOG_MESSAGE_* of daemon/log.h is 32 lowercase hex digits, unique, and
# has exactly one catalog entry, with Subject:, Defined-By: kinesisd and
# Documentation: man:kinesisd(8); the catalog has no entry for an id log.h
# does not define. Then journalctl itself compiles the catalog into the
# database of a temporary root and must list every id (skipped, not failed,
# without journalctl).
#
#   catalog.sh LOG_H CATALOG
set -euo pipefail
# grep -q reads from here-strings below, never from a pipe: with pipefail, a
# writer that grep's early exit kills with SIGPIPE would fail the test.

logh=$1 catalog=$2
fail=0

mapfile -t defs < <(sed -n 's/^#define[[:space:]]\{1,\}\(LOG_MESSAGE_[A-Z0-9_]*\)[[:space:]]\{1,\}"\([^"]*\)".*/\1 \2/p' "$logh")
if [ ${#defs[@]} -eq 0 ]; then
        echo "FAIL: no LOG_MESSAGE_* id found in $logh"
        exit 1
fi

ids=()
for d in "${defs[@]}"; do
        name=${d%% *} id=${d#* }
        ids+=("$id")
        if ! [[ $id =~ ^[0-9a-f]{32}$ ]]; then
                echo "FAIL: $name: \"$id\" is not 32 lowercase hex digits"
                fail=1
        fi
        n=$(grep -c "^-- $id\$" "$catalog" || true)
        if [ "$n" != 1 ]; then
                echo "FAIL: $name ($id) has $n entries in the catalog, want 1"
                fail=1
        fi
done
dups=$(printf '%s\n' "${ids[@]}" | sort | uniq -d)
if [ -n "$dups" ]; then
        echo "FAIL: ids defined twice in $logh: $dups"
        fail=1
fi

# Every entry: an id of log.h, and the headers.
mapfile -t entries < <(sed -n 's/^-- \(.*\)$/\1/p' "$catalog")
for e in "${entries[@]}"; do
        if ! grep -qx -- "$e" <<<"$(printf '%s\n' "${ids[@]}")"; then
                echo "FAIL: catalog entry \"$e\" is not a LOG_MESSAGE_* id of $logh"
                fail=1
                continue
        fi
        # The header block: from the id line to the first empty line.
        head=$(awk -v id="-- $e" '$0 == id { on = 1; next } on && /^$/ { exit } on' "$catalog")
        for h in '^Subject: .' '^Defined-By: kinesisd$' '^Documentation: .*man:kinesisd(8)'; do
                if ! grep -q -- "$h" <<<"$head"; then
                        echo "FAIL: entry $e lacks a header matching /$h/"
                        fail=1
                fi
        done
        body=$(awk -v id="-- $e" '$0 == id { on = 1; next } on && /^-- / { exit } on' "$catalog" |
               sed '1,/^$/d' | grep -c . || true)
        if [ "$body" -lt 2 ]; then
                echo "FAIL: entry $e has no real explanation"
                fail=1
        fi
done

if command -v journalctl >/dev/null 2>&1; then
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        mkdir -p "$tmp/usr/lib/systemd/catalog" "$tmp/var/lib/systemd/catalog"
        cp "$catalog" "$tmp/usr/lib/systemd/catalog/kinesisd.catalog"
        rc=0
        out=$(journalctl --root="$tmp" --update-catalog 2>&1) || rc=$?
        if [ $rc != 0 ] || [ -n "$out" ]; then
                echo "FAIL: journalctl --update-catalog (exit $rc):"
                printf '%s\n' "$out"
                fail=1
        fi
        list=$(journalctl --root="$tmp" --list-catalog 2>&1 || true)
        for id in "${ids[@]}"; do
                if ! grep -q "^$id kinesisd: " <<<"$list"; then
                        echo "FAIL: journalctl does not list $id as defined by kinesisd"
                        fail=1
                fi
        done
else
        echo "note: journalctl is not installed; the catalog was not compiled"
fi

if [ $fail = 0 ]; then
        echo "PASS: ${#ids[@]} message ids, each with one catalog entry"
fi
exit $fail
