#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole
# suite through ctest: every test of the normal build, the unit tests and 40
# seeds of the simulator again in an ASan+UBSan build, and each libFuzzer
# target (clang) for a bounded time.
# Exits non-zero if any test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 1
jobs=$(nproc)

step() { printf '\n== %s\n' "$*"; }

# build DIR [cmake options]: configures and builds quietly; on failure shows
# the compiler's output and stops.
build() {
	local dir=$1
	shift
	cmake -S . -B "$dir" "$@" >/dev/null || exit 1
	if ! cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1; then
		grep -vE '^\[ *[0-9]+(%|/[0-9]+)\]' "$dir/build.log" | tail -n 60
		echo "build failed in $dir"
		exit 1
	fi
}

step "build (warnings are errors)"
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOORD_WERROR=ON

step "build of the unit tests and the simulator with ASan+UBSan"
build build-asan -DCMAKE_BUILD_TYPE=Debug -DCOORD_WERROR=ON -DCOORD_SANITIZE=ON -DCOORD_UNIT_ONLY=ON

step "build of the fuzz targets with clang (libFuzzer)"
CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOORD_WERROR=ON -DCOORD_FUZZ=ON \
	-DCOORD_UNIT_ONLY=ON

passed=0 failed=0 status=0
run_ctest() {
	local dir=$1
	shift
	local log
	log=$(mktemp)
	(cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	local line
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		local f t
		f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
		t=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
		passed=$((passed + t - f))
		failed=$((failed + f))
	else
		status=1
	fi
	rm -f "$log"
}

step "ctest: all tests"
run_ctest build -j 2
step "ctest: unit tests and 40 simulator seeds under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run_ctest build-asan -L unit -j 2

step "ctest: each fuzz target for a bounded time"
# Side by side: each target is one process on a core of its own for its
# whole time, as when they ran one after the other.
run_ctest build-fuzz -L fuzz -j 2

echo
echo "suite: $passed passed, $failed failed"
exit $status
