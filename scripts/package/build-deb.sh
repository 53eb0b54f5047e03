#!/usr/bin/env bash
# Builds coord's Debian packages (coord, libcoord0, libcoord-dev) with
# Debian's own tools and copies the .deb files into OUTDIR.
#
# Usage: scripts/package/build-deb.sh OUTDIR [--lintian]
#
# The files git tracks, as they are in the working tree, are copied into a
# temporary folder with scripts/package/debian/ as its debian/, where
# dpkg-buildpackage -us -uc -b builds them (the tests are not run: ctest
# runs them). With --lintian, lintian checks the packages and the script
# fails on an error. Needs the packages scripts/deps.sh installs;
# DEB_BUILD_OPTIONS may be given (default: nocheck parallel=2).
set -euo pipefail

usage() {
	echo "usage: $0 OUTDIR [--lintian]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
out=$1
lintian=0
case "${2:-}" in
"") ;;
--lintian) lintian=1 ;;
*) usage ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(dpkg-parsechangelog -l "$root/scripts/package/debian/changelog" -S Version)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/coord-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/coord-$version
mkdir "$src"

# Tracked files only: no build folders, no .cluster/, no stray files (a
# tracked file deleted in the working tree is left out). Outside a git
# checkout (an unpacked tarball): everything but build folders and data.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z --cached |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done | tar --null -T - -cf -) | tar -xf - -C "$src"
else
	tar -C "$root" --exclude=./.git --exclude='./build*' --exclude=./.cluster \
		--exclude='./coord-data*' -cf - . | tar -xf - -C "$src"
fi
cp -a "$src/scripts/package/debian" "$src/debian"

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck parallel=2}
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed" >&2
	exit 1
}
debs=("$work"/*.deb)
cp "${debs[@]}" "$out/"
for d in "${debs[@]}"; do
	echo "$out/$(basename "$d")"
done

if [ $lintian -eq 1 ]; then
	lintian --fail-on error --display-info "${debs[@]}"
fi
