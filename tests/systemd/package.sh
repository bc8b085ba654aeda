#!/usr/bin/env bash
# The Debian package: "cpack -G DEB" from the build tree makes
# OUT_DIR/kinesisd_<version>_<arch>.deb (the package the real-systemd test,
# nspawn.py, installs), and dpkg-deb shows what the package must be: its
# library dependencies computed from the binary (one package per library it
# links, found with dpkg -S), ca-certificates, /etc/kinesisd/kinesisd.yaml as
# its only conffile, executable maintainer scripts, and exactly the files
# "cmake --install --prefix /usr" installs plus that conffile.
#
#   package.sh CPACK CMAKE BUILD_DIR OUT_DIR VERSION
#
# Exit 77 (skipped) without dpkg-deb or dpkg-shlibdeps (Debian's dpkg-dev).
set -euo pipefail

cpack=$1 cmake=$2 build=$(realpath "$3") out=$(realpath -m "$4") version=$5

for tool in dpkg-deb dpkg-shlibdeps dpkg; do
        if ! command -v "$tool" >/dev/null 2>&1; then
                echo "SKIP: $tool is not installed (Debian's dpkg-dev)"
                exit 77
        fi
done

rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! (cd "$build" && "$cpack" -G DEB --config CPackConfig.cmake -B "$out") >"$tmp/log" 2>&1; then
        echo "FAIL: cpack -G DEB:"
        cat "$tmp/log"
        exit 1
fi
rm -rf "$out/_CPack_Packages"
arch=$(dpkg --print-architecture)
deb=$out/kinesisd_${version}_${arch}.deb
if [ ! -f "$deb" ]; then
        echo "FAIL: no $deb; cpack made:"
        ls "$out"
        exit 1
fi
fail=0
info=$(dpkg-deb -I "$deb")
printf '%s\n' "$info"

field() { dpkg-deb -f "$deb" "$1"; }
for f in Package:kinesisd "Version:$version" "Architecture:$arch"; do
        if [ "$(field "${f%%:*}")" != "${f#*:}" ]; then
                echo "FAIL: ${f%%:*} is \"$(field "${f%%:*}")\", want \"${f#*:}\""
                fail=1
        fi
done

# Depends: a package for every library the binary needs, and the CA store.
depends=$(field Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//')
dpkg-deb -x "$deb" "$tmp/root"
mapfile -t needed < <(objdump -p "$tmp/root/usr/sbin/kinesisd" | awk '$1 == "NEEDED" { print $2 }')
if [ ${#needed[@]} -eq 0 ]; then
        echo "FAIL: usr/sbin/kinesisd needs no library?"
        fail=1
fi
for lib in "${needed[@]}" ca-certificates; do
        if [ "$lib" = ca-certificates ]; then
                pkg=ca-certificates
        else
                path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !p { print $NF; p = 1 }')
                pkg=
                # dpkg knows the path it unpacked: with merged /usr, either.
                for p in "$path" "$(realpath "$path")"; do
                        [ -n "$pkg" ] || pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
                done
        fi
        if [ -z "$pkg" ]; then
                echo "FAIL: no package on this system owns $lib"
                fail=1
        elif ! grep -qx "$pkg" <<<"$depends"; then
                echo "FAIL: Depends lacks $pkg (for $lib): $(field Depends)"
                fail=1
        fi
done

if [ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)" != /etc/kinesisd/kinesisd.yaml ]; then
        echo "FAIL: conffiles is not exactly /etc/kinesisd/kinesisd.yaml"
        fail=1
fi
for s in postinst prerm postrm; do
        entry=$(dpkg-deb --ctrl-tarfile "$deb" | tar -tvf - "./$s" 2>/dev/null || true)
        if [ "${entry%% *}" != -rwxr-xr-x ]; then
                echo "FAIL: the package has no executable $s"
                fail=1
        fi
done
if ! grep -qx 'ExecStart=/usr/sbin/kinesisd' "$tmp/root/usr/lib/systemd/system/kinesisd.service" 2>/dev/null; then
        echo "FAIL: the packaged unit is not usr/lib/systemd/system/kinesisd.service starting /usr/sbin/kinesisd"
        fail=1
fi

# The same files as an install with prefix /usr, and the conffile.
if ! DESTDIR="$tmp/install" "$cmake" --install "$build" --prefix /usr >"$tmp/log" 2>&1; then
        echo "FAIL: cmake --install --prefix /usr:"
        cat "$tmp/log"
        exit 1
fi
(cd "$tmp/install" && find . ! -type d; echo ./etc/kinesisd/kinesisd.yaml) | sort >"$tmp/want"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sort >"$tmp/have"
if ! diff -u "$tmp/want" "$tmp/have"; then
        echo "FAIL: the package's files differ from the installed ones (- installed, + packaged)"
        fail=1
fi

if [ $fail = 0 ]; then
        echo "PASS: $deb: $(field Depends); conffile /etc/kinesisd/kinesisd.yaml"
fi
exit $fail
