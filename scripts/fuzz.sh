#!/usr/bin/env bash
# Runs every native Go fuzz target of the module (func FuzzXxx(f *testing.F)
# in a _test.go file) with `go test -fuzz`, one target after the other, for
# the given number of seconds each (default 10). Fails if any target fails;
# the others still run. A failing input is written by go test to
# <package>/testdata/fuzz/<FuzzXxx>/<hash> and printed here, so that a CI log
# shows it; commit it as a seed once the bug is fixed.
#
#   scripts/fuzz.sh            # 10 s per target (16 targets: about 3 minutes)
#   scripts/fuzz.sh 60         # a longer session
#
# FUZZ_MINIMIZE_TIME (default 2s) bounds how long the fuzzer minimizes each
# new input; go test's default of 60 s stalls short runs for most of their
# time. FUZZ_PACKAGES (default: every package with a fuzz target) limits the
# run to some packages, e.g. FUZZ_PACKAGES="./store ./outputs".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-10}"
if [[ ! "${seconds}" =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: scripts/fuzz.sh [seconds per target]" >&2
	exit 2
fi
minimize="${FUZZ_MINIMIZE_TIME:-2s}"
# go test's -timeout covers the whole fuzzing run.
timeout="$((seconds + 300))s"

if [[ -n "${FUZZ_PACKAGES:-}" ]]; then
	read -r -a packages <<<"${FUZZ_PACKAGES}"
else
	mapfile -t packages < <(grep -rlE --include='*_test.go' --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
		xargs -r -n1 dirname | sort -u)
fi
if [[ ${#packages[@]} -eq 0 ]]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

# deadline_race tells Go's own spurious failure at the end of a duration
# -fuzztime (golang/go#75804, not fixed in Go 1.26: the coordinator reports
# its deadline as "context deadline exceeded") from a real one: the only
# failure reported is that line, and no failing input was written.
deadline_race() {
	local log="$1"
	! grep -q 'Failing input written to' "${log}" &&
		[[ "$(grep -A1 -E '^--- FAIL: ' "${log}" | grep -vE '^--- FAIL: ')" == "    context deadline exceeded" ]]
}

failed=()
count=0
start=${SECONDS}
for pkg in "${packages[@]}"; do
	mapfile -t targets < <(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' "${pkg}"/*_test.go |
		sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' | sort -u)
	for target in "${targets[@]}"; do
		count=$((count + 1))
		echo "=== fuzz ${pkg} ${target} (${seconds}s)"
		log="$(mktemp)"
		status=0
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "${seconds}s" -fuzzminimizetime "${minimize}" \
			-timeout "${timeout}" "${pkg}" >"${log}" 2>&1 || status=$?
		if [[ ${status} -eq 0 ]] || deadline_race "${log}"; then
			# The last progress line has the totals.
			grep -E '^fuzz: elapsed' "${log}" | tail -n 1 || true
			if [[ ${status} -ne 0 ]]; then
				echo "(ignored: go test reported 'context deadline exceeded' as -fuzztime ran out, with no failing input: golang/go#75804)"
			fi
			echo "--- ok ${pkg} ${target}"
		else
			cat "${log}"
			# Show the failing input that go test saved, if any.
			sed -nE 's/.*Failing input written to (testdata\/fuzz\/[^ ]+).*/\1/p' "${log}" | while read -r input; do
				echo "--- failing input ${pkg}/${input}:"
				cat "${pkg}/${input}" || true
			done
			echo "--- FAIL ${pkg} ${target}"
			failed+=("${pkg} ${target}")
		fi
		rm -f "${log}"
	done
done

echo
echo "fuzz: ${count} targets, ${seconds}s each, $((SECONDS - start))s in all"
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "fuzz: ${#failed[@]} failed:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
echo "fuzz: all passed"
