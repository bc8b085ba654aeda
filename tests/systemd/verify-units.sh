#!/usr/bin/env bash
# systemd-analyze verify on the units of contrib/systemd/, exactly as shipped
# except for ExecStart= and ExecReload=, which must name a binary that
# exists: the copy under test runs the kinesisd just built. Any output at all fails the test.
#
#   verify-units.sh CONTRIB_DIR MAN_DIR KINESISD_BINARY kinesisd|consumers
#
# kinesisd: kinesisd.service with the credentials drop-in of the examples.
# consumers: the example consumer units, loaded beside kinesisd.service
# (they depend on it).
#
# Documentation=man:... is checked by systemd-analyze through man(1); MANPATH
# points it at the pages of this tree, so a missing page fails the test.
# User=kinesisd needs no user on this machine: systemd resolves User= when it
# starts the unit, not when it loads it, and verify reports nothing about it
# (the sysusers file is tested on its own by systemd-sysusers).
# Exit 77 (skipped) without systemd-analyze or man.
set -euo pipefail

contrib=$1 mandir=$2 binary=$(realpath "$3") what=$4

for tool in systemd-analyze man; do
        if ! command -v "$tool" >/dev/null 2>&1; then
                echo "SKIP: $tool is not installed"
                exit 77
        fi
done
if [ ! -x "$binary" ]; then
        echo "FAIL: $binary is not an executable (build first)"
        exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units/kinesisd.service.d" "$tmp/man/man5" "$tmp/man/man8"
cp "$mandir/kinesisd.8" "$tmp/man/man8/"
cp "$mandir/kinesisd.yaml.5" "$tmp/man/man5/"

# The shipped unit must start /usr/sbin/kinesisd, once.
if [ "$(grep -c '^ExecStart=/usr/sbin/kinesisd$' "$contrib/kinesisd.service")" != 1 ] ||
   [ "$(grep -c '^ExecStart=' "$contrib/kinesisd.service")" != 1 ]; then
        echo "FAIL: kinesisd.service must have exactly one ExecStart=/usr/sbin/kinesisd"
        exit 1
fi
sed -e "s|^ExecStart=/usr/sbin/kinesisd\$|ExecStart=$binary|" -e "s|^ExecReload=/usr/sbin/kinesisd |ExecReload=$binary |" "$contrib/kinesisd.service" \
        >"$tmp/units/kinesisd.service"
cp "$contrib/aws-credentials.conf" "$tmp/units/kinesisd.service.d/"

case $what in
kinesisd)
        units=(kinesisd.service)
        ;;
consumers)
        units=(example-consumer.service example-consumer-restart.path
               example-consumer-restart.service)
        for u in "${units[@]}"; do
                cp "$contrib/$u" "$tmp/units/"
        done
        ;;
*)
        echo "usage: $0 CONTRIB_DIR MAN_DIR KINESISD_BINARY kinesisd|consumers" >&2
        exit 2
        ;;
esac

cd "$tmp/units"
rc=0
out=$(MANPATH="$tmp/man" SYSTEMD_COLORS=0 systemd-analyze verify "${units[@]}" 2>&1) || rc=$?
if [ $rc != 0 ] || [ -n "$out" ]; then
        echo "FAIL: systemd-analyze verify ${units[*]} (exit $rc):"
        printf '%s\n' "$out"
        exit 1
fi
echo "PASS: systemd-analyze verify ${units[*]}: clean"
