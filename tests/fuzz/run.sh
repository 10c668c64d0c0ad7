#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Usage: tests/fuzz/run.sh SECONDS BIN...   (what make fuzz and the *-smoke scripts run)
#
# Runs each libFuzzer binary BIN (named NAME) for SECONDS seconds on its seed corpus
# tests/fuzz/corpus/NAME/ plus a scratch corpus DIR/corpus/NAME/ (DIR: BIN's directory), where
# libFuzzer keeps what it finds; crash, leak and timeout inputs go to DIR/artifacts/NAME/. The seed
# corpus is only read. Prints one line per target (executions, executions per second, clean or
# not; the full output is in DIR/logs/NAME.log) and a summary line "fuzz: N targets, N clean,
# N failed". Exits 1 if any target crashed, leaked, timed out or could not run.
#
# Run from the top of the tree. Extra libFuzzer flags: FUZZ_FLAGS="-max_len=4096 ...".
set -u

if [ "$#" -lt 2 ]; then
	echo "usage: $0 SECONDS BIN..." >&2
	exit 2
fi
seconds=$1
shift
case $seconds in
'' | *[!0-9]*)
	echo "fuzz: SECONDS must be a number, got '$seconds'" >&2
	exit 2
	;;
esac

clean=0
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	dir=$(dirname "$bin")
	seed=tests/fuzz/corpus/$name
	scratch=$dir/corpus/$name
	artifacts=$dir/artifacts/$name
	log=$dir/logs/$name.log
	mkdir -p "$scratch" "$artifacts" "$dir/logs" || exit 2
	corpora=("$scratch")
	[ -d "$seed" ] && corpora+=("$seed")

	if [ ! -x "$bin" ]; then
		echo "fuzz: $name: $bin is not an executable"
		failed=$((failed + 1))
		continue
	fi
	# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
	"$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/" \
		${FUZZ_FLAGS:-} "${corpora[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$log" | tail -n 1)
	execs=${execs:-0}
	time_s=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	[ -n "$time_s" ] && [ "$time_s" -gt 0 ] || time_s=$seconds
	[ "$time_s" -gt 0 ] || time_s=1
	rate=$((execs / time_s))
	if [ "$rc" -eq 0 ]; then
		clean=$((clean + 1))
		echo "fuzz: $name: $execs executions in ${time_s} s ($rate/s), clean"
	else
		failed=$((failed + 1))
		echo "fuzz: $name: $execs executions, FAILED (exit status $rc); last lines of $log:"
		tail -n 20 "$log" | sed 's/^/    /'
		echo "fuzz: $name: inputs that failed are in $artifacts/"
	fi
done

echo "fuzz: $# targets, $clean clean, $failed failed"
[ "$failed" -eq 0 ]
