#!/usr/bin/env bash
# Runs the streaming benchmarks (bench/stream_test.go) and writes
# bench/RESULTS.md: the machine, the raw numbers, the ratios to crane and the
# verdict on the requirement (a 1 GiB value with a peak RSS under 64 MiB).
#
#   bench/run.sh                   # BenchmarkStream1GiB and BenchmarkStream64MiB, once each
#   bench/run.sh -bench Stream64MiB # extra arguments go to 'go test' (the last -bench/-benchtime wins)
#   MANIFESTO_BENCH_BIN=/path/manifesto bench/run.sh   # measure a prebuilt binary
#
# Installs (once, cached) the CNCF Distribution registry and crane. Needs
# about 4 GiB free in $TMPDIR (source, registry storage, one download).
# Exits non-zero when the benchmark fails (RESULTS.md is written anyway).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

registry_bin="$(bash scripts/install-registry.sh | tail -n 1)"
[[ -x "${registry_bin}" ]] || { echo "run.sh: no registry binary (got '${registry_bin}')" >&2; exit 1; }
export MANIFESTO_REGISTRY_BIN="${registry_bin}"

crane_bin="$(bash bench/install-crane.sh | tail -n 1)"
[[ -x "${crane_bin}" ]] || { echo "run.sh: no crane binary (got '${crane_bin}')" >&2; exit 1; }
export MANIFESTO_CRANE_BIN="${crane_bin}"

results="bench/RESULTS.md"
log="$(mktemp "${TMPDIR:-/tmp}/manifesto-bench.XXXXXX")"
trap 'rm -f "${log}"' EXIT

cmd=(go test -v -count=1 -run '^$' -bench Stream -benchtime 1x -timeout 60m ./bench/ "$@")
cmd_str="$(printf '%q ' "${cmd[@]}")"
cmd_str="${cmd_str% }"
echo "run.sh: ${cmd_str}" >&2
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
set +e
"${cmd[@]}" 2>&1 | tee "${log}"
status=${PIPESTATUS[0]}
set -e

# The machine.
cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
mem_kib="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)"
mem="$(awk -v k="${mem_kib}" 'BEGIN {printf "%.1f GiB", k / 1048576}')"
tmp_fs="$(df -hT "${TMPDIR:-/tmp}" 2>/dev/null | awk 'NR == 2 {print $2 ", " $5 " free"}')"
# GIT_OPTIONAL_LOCKS=0: read-only, git status must not refresh the index.
rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
	rev="${rev} + uncommitted changes"
fi
binary="built from the working tree (${rev})"
if [[ -n "${MANIFESTO_BENCH_BIN:-}" ]]; then
	binary="${MANIFESTO_BENCH_BIN} (MANIFESTO_BENCH_BIN; reports: $("${MANIFESTO_BENCH_BIN}" version 2>/dev/null || echo '?'))"
fi

# One "name metric value" line per reported metric.
metrics="$(awk '/^Benchmark[^ \t]+[ \t]+[0-9]+[ \t]/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i += 2) print name, $(i + 1), $i
}' "${log}")"
metric() { awk -v n="$1" -v m="$2" '$1 == n && $2 == m {print $3; found = 1} END {if (!found) print "n/a"}' <<<"${metrics}"; }

{
	echo "# Streaming benchmark results"
	echo
	echo "Requirement: values of any size stream from the file to the registry and back with bounded"
	echo "memory; a 1 GiB value is put and got with a peak RSS under 64 MiB. Written by \`bench/run.sh\`;"
	echo "see the comment at the top of \`bench/stream_test.go\` for what is measured and how."
	echo
	if [[ ${status} -eq 0 ]]; then
		echo "**Verdict: PASS** (every manifesto peak RSS under 64 MiB, every download identical to the source)."
	else
		echo "**Verdict: FAIL** (go test exited ${status}; see the raw output)."
	fi
	echo
	echo "## Machine"
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| date (start, UTC) | ${started} |"
	echo "| CPU | ${cpu:-unknown} |"
	echo "| nproc | $(nproc) |"
	echo "| memory | ${mem} |"
	echo "| kernel | $(uname -sr) |"
	echo "| Go | $(go version | awk '{print $3, $4}') |"
	echo "| TMPDIR filesystem | ${tmp_fs:-unknown} |"
	echo "| manifesto | ${binary} |"
	echo "| registry | $("${registry_bin}" --version 2>/dev/null | awk '{print $NF}') (CNCF Distribution, filesystem storage, 127.0.0.1) |"
	echo "| crane | $("${crane_bin}" version 2>/dev/null) |"
	echo
	echo "Command: \`${cmd_str}\`"
	echo
	for bench in $(awk '{print $1}' <<<"${metrics}" | sort -u); do
		echo "## ${bench}"
		echo
		echo "| tool | operation | throughput (MiB/s) | peak RSS (MiB) |"
		echo "|---|---|---:|---:|"
		echo "| manifesto | put IMAGE KEY FILE | $(metric "${bench}" put-MiB/s) | $(metric "${bench}" put-peak-RSS-MiB) |"
		echo "| crane | push LAYOUT REF | $(metric "${bench}" crane-put-MiB/s) | $(metric "${bench}" crane-put-peak-RSS-MiB) |"
		echo "| manifesto | get IMAGE KEY -o FILE | $(metric "${bench}" get-MiB/s) | $(metric "${bench}" get-peak-RSS-MiB) |"
		echo "| crane | blob REF@DIGEST > FILE (+ fsync) | $(metric "${bench}" crane-get-MiB/s) | $(metric "${bench}" crane-get-peak-RSS-MiB) |"
		echo "| manifesto | version (idle baseline) | | $(metric "${bench}" version-peak-RSS-MiB) |"
		echo "| crane | version (idle baseline) | | $(metric "${bench}" crane-version-peak-RSS-MiB) |"
		echo
		echo "Ratios manifesto/crane (speed above 1: manifesto is faster; RSS above 1: manifesto uses more):"
		echo
		echo "| | put | get |"
		echo "|---|---:|---:|"
		echo "| throughput | $(metric "${bench}" put-speed-ratio) | $(metric "${bench}" get-speed-ratio) |"
		echo "| peak RSS | $(metric "${bench}" put-RSS-ratio) | $(metric "${bench}" get-RSS-ratio) |"
		echo
	done
	echo "## Reading the numbers"
	echo
	echo "- Peak RSS is the child's wait4 Maxrss, taken through \`bench/peakrss\` (Go starts children"
	echo "  with vfork, which would otherwise fold the benchmark process's own peak into the child's);"
	echo "  the launcher's floor is in the raw output. The idle baseline is \`version\`: what is above"
	echo "  it is the transfer's cost, and it does not grow with the value's size (compare the two sizes)."
	echo "- Throughput is size / wall time of the whole command (start-up, image resolution, the"
	echo "  registry on the same machine). manifesto put reads the file twice (sha256 first, then the"
	echo "  upload); crane push trusts the layout's digest. manifesto get fsyncs before renaming; crane's"
	echo "  output is fsynced by the benchmark inside crane's time."
	echo "- One iteration per size on a shared machine: the ratios move by tens of percent between runs."
	echo "  For steadier figures: \`bench/run.sh -benchtime 3x\`."
	echo
	echo "## Raw output"
	echo
	echo '```'
	cat "${log}"
	echo '```'
} >"${results}"

echo "run.sh: wrote ${results}" >&2
exit "${status}"
