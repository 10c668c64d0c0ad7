#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Usage: scripts/check-abi.sh LIBABMAP_SO [BASELINE]           (what make check-abi runs)
#        scripts/check-abi.sh --update LIBABMAP_SO [BASELINE]  (at a release: rewrite BASELINE)
#
# BASELINE (default lib/abmap/abi/libabmap.so.<major>.symbols) lists every released symbol as
# NAME@VERSION_NODE, one a line. Fails when
# - a released symbol is missing from the library, or is now defined in another version node
#   (programs linked against it would no longer load);
# - the library defines a symbol in a released version node that the baseline does not list
#   (new symbols go into a new node, e.g. LIBABMAP_1.1, inheriting LIBABMAP_1.0);
# - the soname is not libabmap.so.<LIBABMAP_MAJOR_VERSION of include/abmap.h>, or the header's
#   version disagrees with the Makefile's VERSION.
# Symbols of new, unreleased nodes are listed, not refused.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
	echo "usage: $0 [--update] LIBABMAP_SO [BASELINE]" >&2
	exit 2
fi
so=$1
major=$(sed -n 's/^#define LIBABMAP_MAJOR_VERSION \([0-9]*\)$/\1/p' include/abmap.h)
minor=$(sed -n 's/^#define LIBABMAP_MINOR_VERSION \([0-9]*\)$/\1/p' include/abmap.h)
baseline=${2:-lib/abmap/abi/libabmap.so.$major.symbols}
fail=0

problem()
{
	echo "check-abi: $*" >&2
	fail=1
}

# The library's defined dynamic symbols as NAME@NODE (nm prints NAME@@NODE for the default
# version); version nodes themselves are absolute (A) symbols.
exported=$(nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@@/, "@", $3); print $3 }' |
	sort -u)
if grep -v '@' <<<"$exported"; then
	problem "the symbols above have no version node: is lib/abmap/libabmap.map applied?"
fi

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libabmap.so.$major" ] ||
	problem "soname is '$soname', include/abmap.h says LIBABMAP_MAJOR_VERSION $major"
mk_version=$(sed -n 's/^VERSION := //p' Makefile)
case $mk_version in
"$major.$minor."*) ;;
*) problem "Makefile VERSION $mk_version is not $major.$minor.* (include/abmap.h)" ;;
esac

if [ "$update" = 1 ]; then
	{
		echo "# Released symbols of libabmap.so.$major (scripts/check-abi.sh --update)."
		echo "# Never remove a line: a symbol listed here must stay in its version node."
		echo "$exported"
	} >"$baseline"
	echo "check-abi: wrote $(wc -l <<<"$exported") symbols to $baseline"
	exit "$fail"
fi

[ -f "$baseline" ] || {
	echo "check-abi: no baseline $baseline (scripts/check-abi.sh --update $so)" >&2
	exit 1
}
released=$(grep -v '^#' "$baseline" | sed '/^$/d' | sort -u)
released_nodes=$(awk -F@ '{ print $2 }' <<<"$released" | sort -u)

while read -r sym; do
	[ -n "$sym" ] || continue
	grep -qxF "$sym" <<<"$exported" && continue
	now=$(grep "^${sym%@*}@" <<<"$exported" | tr '\n' ' ' || true)
	if [ -n "$now" ]; then
		problem "$sym: released in ${sym#*@}, now defined as $now"
	else
		problem "$sym: released, missing from $so"
	fi
done <<<"$released"

while read -r sym; do
	[ -n "$sym" ] || continue
	grep -qxF "$sym" <<<"$released" && continue
	if grep -qxF "${sym#*@}" <<<"$released_nodes"; then
		problem "$sym: added to the released node ${sym#*@}: put it in a new node"
	else
		echo "check-abi: new, not released yet: $sym"
	fi
done <<<"$exported"

if [ "$fail" = 0 ]; then
	echo "check-abi: $so ($soname): $(wc -l <<<"$released") released symbols present, nodes $(tr '\n' ' ' <<<"$released_nodes")"
fi
exit "$fail"
