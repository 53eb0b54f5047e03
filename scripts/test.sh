#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole
# suite through ctest: every test of the normal build, then the unit tests
# again in an ASan+UBSan build. Exits non-zero if any test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 1
jobs=$(nproc)

step() { printf '\n== %s\n' "$*"; }

step "build (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOORD_WERROR=ON >/dev/null || exit 1
cmake --build build -j "$jobs" -- --no-print-directory 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

step "build of the unit tests with ASan+UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCOORD_WERROR=ON -DCOORD_SANITIZE=ON \
	-DCOORD_UNIT_ONLY=ON >/dev/null || exit 1
cmake --build build-asan -j "$jobs" -- --no-print-directory 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

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
step "ctest: unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run_ctest build-asan -L unit -j 2

echo
echo "suite: $passed passed, $failed failed"
exit $status
