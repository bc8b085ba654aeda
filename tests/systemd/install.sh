#!/usr/bin/env bash
# "cmake --install" with DESTDIR and prefix /usr installs exactly the files a
# package of kinesisd ships, and nothing else. Then an install with another
# prefix checks that the unit's ExecStart= follows the prefix.
#
#   install.sh CMAKE BUILD_DIR UNIT_DIR SYSUSERS_DIR CATALOG_DIR
#
# The *_DIR arguments are the values CMake installs to, relative to the prefix
# or absolute.
set -euo pipefail

cmake=$1 build=$2 unitdir=$3 sysusersdir=$4 catalogdir=$5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Where a destination lands under DESTDIR for prefix /usr.
under() {
        case $1 in
        /*) printf '%s\n' "${1#/}" ;;
        *) printf 'usr/%s\n' "$1" ;;
        esac
}

if ! DESTDIR="$tmp/usr-root" "$cmake" --install "$build" --prefix /usr >"$tmp/log" 2>&1; then
        echo "FAIL: cmake --install --prefix /usr:"
        cat "$tmp/log"
        exit 1
fi

sort >"$tmp/expected" <<LIST
usr/sbin/kinesisd
usr/share/man/man8/kinesisd.8
usr/share/man/man5/kinesisd.yaml.5
$(under "$unitdir")/kinesisd.service
$(under "$sysusersdir")/kinesisd.conf
$(under "$catalogdir")/kinesisd.catalog
usr/share/doc/kinesisd/examples/kinesisd.yaml
usr/share/doc/kinesisd/examples/streams.d/example.yaml
usr/share/doc/kinesisd/examples/example-consumer.service
usr/share/doc/kinesisd/examples/example-consumer-restart.path
usr/share/doc/kinesisd/examples/example-consumer-restart.service
usr/share/doc/kinesisd/examples/kinesisd.service.d/aws-credentials.conf
LIST
(cd "$tmp/usr-root" && find . ! -type d | sed 's|^\./||' | sort) >"$tmp/actual"
fail=0
if ! diff -u "$tmp/expected" "$tmp/actual"; then
        echo "FAIL: the installed files differ from the expected list (- expected, + installed)"
        fail=1
fi

root=$tmp/usr-root
unit=$root/$(under "$unitdir")/kinesisd.service
if [ -f "$unit" ] && ! grep -qx 'ExecStart=/usr/sbin/kinesisd' "$unit"; then
        echo "FAIL: the installed unit does not start /usr/sbin/kinesisd:"
        grep '^ExecStart' "$unit" || true
        fail=1
fi
if [ -f "$root/usr/sbin/kinesisd" ] && ! [ -x "$root/usr/sbin/kinesisd" ]; then
        echo "FAIL: usr/sbin/kinesisd is not executable"
        fail=1
fi
# Everything else is a plain file anyone may read and nobody but root writes.
while read -r f; do
        [ "$f" = usr/sbin/kinesisd ] && continue
        mode=$(stat -c %a "$root/$f")
        if [ "$mode" != 644 ]; then
                echo "FAIL: $f has mode $mode, want 644"
                fail=1
        fi
done <"$tmp/actual"

# Another prefix: ExecStart= names the binary installed there.
if ! DESTDIR="$tmp/opt-root" "$cmake" --install "$build" --prefix /opt/kinesisd >"$tmp/log" 2>&1; then
        echo "FAIL: cmake --install --prefix /opt/kinesisd:"
        cat "$tmp/log"
        exit 1
fi
unit=$(find "$tmp/opt-root" -name kinesisd.service -type f | head -n 1)
if [ -z "$unit" ] || ! grep -qx 'ExecStart=/opt/kinesisd/sbin/kinesisd' "$unit"; then
        echo "FAIL: with prefix /opt/kinesisd the unit does not start /opt/kinesisd/sbin/kinesisd"
        fail=1
fi
# Every command line of the unit that runs kinesisd (ExecReload= too).
if [ -n "$unit" ] && grep -q '^Exec[A-Za-z]*=/usr/sbin/kinesisd' "$unit"; then
        echo "FAIL: with prefix /opt/kinesisd the unit still runs /usr/sbin/kinesisd:"
        grep '^Exec' "$unit"
        fail=1
fi
if ! [ -x "$tmp/opt-root/opt/kinesisd/sbin/kinesisd" ]; then
        echo "FAIL: with prefix /opt/kinesisd there is no opt/kinesisd/sbin/kinesisd"
        fail=1
fi

if [ $fail = 0 ]; then
        echo "PASS: $(wc -l <"$tmp/actual") files installed, as expected"
fi
exit $fail
