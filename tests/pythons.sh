#!/bin/sh
# tests/pythons.sh DEST VERSION SUITE - a private CPython VERSION from Debian SUITE.
#
# Downloads Debian's pythonVERSION and the libraries it needs from SUITE (trixie, sid)
# with a private apt configuration (its own sources list, state and cache under
# DEST/apt; the system's apt and dpkg are not touched), unpacks them into DEST/root with
# dpkg -x, and points the executable at the unpacked loader and libraries (patchelf:
# interpreter, forced DT_RPATH, which also serves the libraries it loads). Leaves
# DEST/python (a symlink to the executable) and prints its path.
#
# Exit status: 0 done (or already there), 3 the archive cannot be reached, 1 other error.
set -eu

dest=$1 version=$2 suite=$3
prog="pythons.sh: python$version ($suite)"
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

if [ -x "$dest/python" ] && "$dest/python" -c 'import ssl, sqlite3, ctypes' 2>/dev/null; then
    echo "$dest/python"
    exit 0
fi
for tool in apt-get apt-cache dpkg patchelf; do
    command -v "$tool" >/dev/null || die "needs $tool (make deps installs it)"
done
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "needs $keyring (package debian-archive-keyring)"

rm -rf "$dest"
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
apt=$dest/apt
mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/debs" "$dest/root"
echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main" >"$apt/sources.list"
: >"$apt/status"
set -- -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State="$apt" -o Dir::State::Lists="$apt/lists" -o Dir::State::status="$apt/status" \
    -o Dir::Cache="$apt" -o Dir::Cache::Archives="$apt/archives" -o APT::Sandbox::User=root \
    -o Debug::NoLocking=1 -q

if ! apt-get "$@" update >"$apt/update.log" 2>&1; then
    printf '%s: cannot reach the Debian archive (see %s)\n' "$prog" "$apt/update.log" >&2
    exit 3
fi

# The interpreter and what it links or loads at run time; not the packaging tools.
skip='^(debconf|cdebconf|libdebian-installer4|libnewt0.52|libslang2|libtextwrap1|readline-common|tzdata|netbase|media-types|debconf-2.0|mime-support|libselinux1|libpcre2-8-0)$'
pkgs=$(apt-cache "$@" depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances --no-pre-depends "python$version" |
    grep -v '^ ' | grep -v '^<' | sort -u | grep -Ev "$skip") ||
    die "python$version is not in $suite"
(cd "$apt/debs" && apt-get "$@" download $pkgs >"$apt/download.log" 2>&1) ||
    die "download failed (see $apt/download.log)"
for deb in "$apt"/debs/*.deb; do
    dpkg -x "$deb" "$dest/root"
done

root=$(cd "$dest/root" && pwd)
exe=$root/usr/bin/python$version
libdir=$root/usr/lib/x86_64-linux-gnu
loader=$(ls "$root"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
              "$root"/lib64/ld-linux-x86-64.so.2 2>/dev/null | head -1)
[ -x "$exe" ] && [ -n "$loader" ] || die "unpacked packages lack python$version or the loader"
patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$libdir:$root/lib/x86_64-linux-gnu" "$exe"
ln -sf "$exe" "$dest/python"
rm -rf "$apt/debs" "$apt/archives" "$apt/lists"
"$dest/python" -c 'import ssl, sqlite3, ctypes, subprocess, multiprocessing' ||
    die "the unpacked interpreter does not work"
echo "$dest/python"
