#!/usr/bin/env bash
# Runs every benchmark in bench/ in one `go test` process and writes
# bench/RESULTS.md: the machine, raw numbers, ratios to the peers, and a
# verdict on each goal of the benchmark suite (issue 6):
#
#   1. fewer HTTP requests than oras and regctl for every operation;
#   2. wall time at most 1.0x oras for put + get + list;
#   3. a 1 GiB value put and got with a peak RSS under 64 MiB and a
#      throughput within 90% of crane's on the same machine;
#   4. 16 of 16 entries kept when 16 processes put 16 keys at once;
#
# and the goals of issue 14 (a registry 10–25 ms away, images with hundreds
# of entries):
#
#   5. at 25 ms per request, put+get+list at most 0.8x oras, and no more
#      sequential round trips on any operation's critical path than the peers;
#   6. at 10 ms per request on an image with 300 entries: put at most 1.3x
#      put on an image with 1 entry, get at most 0.5x regctl artifact get
#      --latest, list at most 1.0x oras discover --depth 1; get and list send
#      no more requests at 300 untraced entries than at 1.
#
# What runs (see the comments at the top of each file):
#   bench/stream_test.go  BenchmarkStream1GiB, BenchmarkStream64MiB (goal 3, vs crane)
#   bench/peers_test.go   BenchmarkPeers (goals 1 and 2: put/get/list vs oras and regctl,
#                         on CNCF Distribution and on go-containerregistry's registry with
#                         the referrers API, requests counted by internal/faultproxy),
#                         BenchmarkConcurrentWriters (goal 4)
#   bench/latency_test.go BenchmarkLatency (goal 5), BenchmarkScale (goal 6): CNCF
#                         Distribution and olareg (referrers API), each behind a
#                         faultproxy that delays every request
#   bench/ceiling_test.go BenchmarkIndexCeiling: how many entries one fallback index
#                         holds on Distribution (README, store.IndexCeiling)
#   bench/search_test.go  BenchmarkSearch (issue 12: manifesto search vs crane ls + oras
#                         discover per tag, on Distribution and olareg; its own section)
#
#   bench/run.sh                         # everything, about 3 minutes once the tools are built
#   bench/run.sh -bench Peers            # extra arguments go to 'go test' (the last -bench wins)
#   MANIFESTO_BENCH_BIN=/path/manifesto bench/run.sh   # measure a prebuilt binary
#   MANIFESTO_BENCH_ITERATIONS=25        # BenchmarkPeers iterations (default 25)
#   MANIFESTO_BENCH_STREAM_ITERATIONS=5  # put/get rounds per streaming size (default 5)
#   MANIFESTO_BENCH_LATENCY_ITERATIONS=3 # rounds of the latency and scale scenarios (default 3)
#
# Installs (once, cached in ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin,
# built from source with the Go module proxy only) the CNCF Distribution
# registry, crane, oras and regctl. Needs about 4 GiB free in $TMPDIR.
# Exits non-zero when a benchmark fails (RESULTS.md is written anyway); a
# missed goal is reported, not an exit status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

install() { # script → path of the binary (its last line of output)
	local p
	p="$(bash "$1" | tail -n 1)"
	[[ -x "${p}" ]] || { echo "run.sh: $1 gave no binary (got '${p}')" >&2; exit 1; }
	echo "${p}"
}
registry_bin="$(install scripts/install-registry.sh)"
crane_bin="$(install bench/install-crane.sh)"
oras_bin="$(install scripts/install-oras.sh)"
regctl_bin="$(install scripts/install-regctl.sh)"
olareg_bin="$(install scripts/install-olareg.sh)"
export MANIFESTO_REGISTRY_BIN="${registry_bin}" MANIFESTO_CRANE_BIN="${crane_bin}" \
	MANIFESTO_ORAS_BIN="${oras_bin}" MANIFESTO_REGCTL_BIN="${regctl_bin}" MANIFESTO_OLAREG_BIN="${olareg_bin}"

results="bench/RESULTS.md"
# Figures recorded by hand (between the "BEGIN by hand" and "END by hand"
# markers) are kept from the previous RESULTS.md.
by_hand="$(awk '/^<!-- BEGIN by hand/,/^<!-- END by hand/' "${results}" 2>/dev/null || true)"
log="$(mktemp "${TMPDIR:-/tmp}/manifesto-bench.XXXXXX")"
out_dir="$(mktemp -d "${TMPDIR:-/tmp}/manifesto-bench-out.XXXXXX")"
trap 'rm -rf "${log}" "${out_dir}"' EXIT
export MANIFESTO_BENCH_OUT="${out_dir}"

cmd=(go test -v -count=1 -run '^$' -bench 'Stream|Peers|ConcurrentWriters|Search|Latency|Scale|IndexCeiling' -benchtime 1x -timeout 60m ./bench/ "$@")
cmd_str="$(printf '%q ' "${cmd[@]}")"
cmd_str="${cmd_str% }"
echo "run.sh: ${cmd_str}" >&2
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
t0=${SECONDS}
set +e
"${cmd[@]}" 2>&1 | tee "${log}"
status=${PIPESTATUS[0]}
set -e
took=$((SECONDS - t0))
load_after="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

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
oras_version="$("${oras_bin}" version 2>/dev/null | awk '/^Version:/ {print $2}')"
regctl_version="$("${regctl_bin}" version --format '{{.VCSTag}}' 2>/dev/null || echo '?')"

# One "name metric value" line per reported metric.
metrics="$(awk '/^Benchmark[^ \t]+[ \t]+[0-9]+[ \t]/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i += 2) print name, $(i + 1), $i
}' "${log}")"
metric() { awk -v n="$1" -v m="$2" '$1 == n && $2 == m {print $3; found = 1} END {if (!found) print "n/a"}' <<<"${metrics}"; }
# lt A B: A < B for decimal numbers (false when either is n/a).
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "n/a" && b != "n/a" && a + 0 < b + 0)}'; }
fragment() { if [[ -s "${out_dir}/$1" ]]; then cat "${out_dir}/$1"; else echo "(not measured in this run: see the raw output)"; fi; }
# verdict FRAGMENT: MET when it exists and marks nothing missed.
verdict() {
	if [[ ! -s "${out_dir}/$1" ]]; then echo "NOT MEASURED"
	elif grep -q '\*\*missed\*\*' "${out_dir}/$1"; then echo "MISSED"
	else echo "MET"; fi
}

# Goal 3, from the 1 GiB metrics.
g=BenchmarkStream1GiB
put_rss="$(metric ${g} put-peak-RSS-MiB)" get_rss="$(metric ${g} get-peak-RSS-MiB)"
put_ratio="$(metric ${g} put-speed-ratio)" get_ratio="$(metric ${g} get-speed-ratio)"
rss_ok=no speed_ok=no
if lt "${put_rss}" 64 && lt "${get_rss}" 64; then rss_ok=yes; fi
if ! lt "${put_ratio}" 0.9 && ! lt "${get_ratio}" 0.9 && [[ "${put_ratio}" != n/a && "${get_ratio}" != n/a ]]; then speed_ok=yes; fi
if [[ "${put_rss}" == n/a ]]; then stream_verdict="NOT MEASURED"
elif [[ ${rss_ok} == yes && ${speed_ok} == yes ]]; then stream_verdict="MET"
else stream_verdict="MISSED"; fi

req_verdict="$(verdict goal-requests.md)"
wall_verdict="$(verdict goal-walltime.md)"
writers_verdict="$(verdict goal-writers.md)"
latency_verdict="$(verdict goal-latency.md)"
scale_verdict="$(verdict goal-scale.md)"

{
	echo "# Benchmark results"
	echo
	echo "Written by \`bench/run.sh\` (${took} s): manifesto against its peers — oras and regctl for put, get"
	echo "and list; crane for streaming a large value — on real registries on this machine, in one run."
	echo "What is measured and how: the comments at the top of \`bench/peers_test.go\` and"
	echo "\`bench/stream_test.go\`."
	echo
	if [[ ${status} -eq 0 ]]; then
		echo "Every benchmark ran to the end (go test exit 0; every get returned the bytes put, every list the keys put)."
	else
		echo "**go test exited ${status}**: a benchmark failed; see the raw output. Sections it did not reach say so."
	fi
	echo
	echo "## Goals"
	echo
	echo "### 1. Fewer HTTP requests than the peers for every operation: **${req_verdict}**"
	echo
	fragment goal-requests.md
	echo
	echo "### 2. Wall time at most 1.0× oras for put + get + list: **${wall_verdict}**"
	echo
	fragment goal-walltime.md
	echo
	echo "### 3. A 1 GiB value with peak RSS under 64 MiB and throughput within 90% of crane: **${stream_verdict}**"
	echo
	echo "- peak RSS: put ${put_rss} MiB, get ${get_rss} MiB (limit 64) → $([[ ${rss_ok} == yes ]] && echo met || echo '**missed**')"
	echo "- throughput manifesto/crane (median of the rounds): put ${put_ratio}, get ${get_ratio} (at least 0.9) → $([[ ${speed_ok} == yes ]] && echo met || echo '**missed**')"
	echo "  ($(metric ${g} put-MiB/s) vs $(metric ${g} crane-put-MiB/s) MiB/s up, $(metric ${g} get-MiB/s) vs $(metric ${g} crane-get-MiB/s) MiB/s down)"
	echo
	echo "### 4. 16/16 entries kept under 16 concurrent writers: **${writers_verdict}**"
	echo
	fragment goal-writers.md
	echo
	echo "### 5. A registry 25 ms away: put+get+list ≤ 0.8× oras, critical path ≤ the peers': **${latency_verdict}**"
	echo
	fragment goal-latency.md
	echo
	echo "### 6. 300 entries at 10 ms: put ≤ 1.3× put at 1 entry, get ≤ 0.5× regctl, list ≤ 1.0× oras, no per-entry request: **${scale_verdict}**"
	echo
	fragment goal-scale.md
	echo
	echo "## Why the missed goals are missed"
	echo
	if [[ "${req_verdict}" == MISSED || "${wall_verdict}" == MISSED ]]; then
		cat <<'EOF'
The request traces (proxy logs, per operation, each request with its duration) are under "Put, get
and list against oras and regctl"; the tables "What manifesto sends that oras does not" name every
extra request and the code that sends it. In short:

**Requests.**

Issue 14 traded request count for round trips: on a registry 10–50 ms away what a user waits
for is the sequential chain, and independent requests now go out together (goals 5 and 6 measure
the chain). So manifesto sends some requests the peers do not, in parallel with others:

- **Every read (get, list), both registries: the referrers probe, the fallback index and
  `tags/list` at once** (store/referrers.go, `referrers`; store/fallback.go, `readFallback`).
  Until a command knows whether the registry has the referrers API it asks both ways in one round
  trip; on a referrers-API registry the index read (404) and the tag listing are the extra
  requests, on Distribution the probe (404) is. The tag listing is how manifesto keeps finding
  entries that concurrent writers dropped from the shared index — the reason goal 4 is met while
  oras and regctl lose most entries.
- **put, CNCF Distribution:** the same read ahead while the blobs upload (probe, index,
  `tags/list`), the entry pushed once under its trace tag, the index write, and its confirmation
  read (index and `tags/list` at once). oras sends a `HEAD` of the entry manifest that manifesto
  does not.
- **put, referrers-API registry:** the read ahead (probe, index, `tags/list`) and the
  confirmation read of the referrers listing after the PUT (issue 11: olareg acknowledged puts it
  then did not list).
- No command sends the `GET /v2/` handshake any more.

On a registry without the referrers API the trace tag, the trace listing on reads and the
confirmation read after a write are what goal 4 is made of; goals 1 and 4 conflict there, and
manifesto chooses goal 4 (no entry lost).

**Wall time.** The "Where the time goes" tables split each operation into time with a request open
at the registry and time outside it (start-up, own work, waiting). The first confirmation read of
the fallback index used to wait 10–50 ms (jittered) even without other writers; it now goes at
once, and pauses start with the second retry, under contention only — that took put+get+list on
Distribution from 1.68× oras to about 1.1×, and on the referrers-capable registry below 1.0×. What
remains on Distribution is the index write and its confirmation read (the trace tag PUT and the
index PUT are manifest writes at the registry, several ms each) and a slower start-up (see
"Start-up floor"); the value and the empty config now upload at once, as oras does. get is faster
than both peers (oras needs two processes).

EOF
	else
		echo "Goals 1 and 2 are met in this run."
		echo
	fi
	if [[ "${stream_verdict}" == MISSED ]] && lt "${put_ratio}" 0.9; then
		echo "**1 GiB put throughput.** manifesto put reads the file twice: one sha256 pass (store/store.go:210,"
		echo "\`describeFile\`, before anything is sent: the manifest needs the digest, and the upload is a"
		echo "monolithic PUT with \`?digest=\`), then the upload; crane push trusts the layout's digest and reads"
		echo "the file once. That pass alone, timed on the same file: $(metric ${g} hash-pass-MiB/s) MiB/s. Without it"
		echo "manifesto's put would run at $(metric ${g} put-minus-hash-MiB/s) MiB/s, $(metric ${g} put-minus-hash-speed-ratio)× crane. The CPU profile"
		echo "of a put (below; through the store package, in process) agrees: sha256 is nearly all the client's"
		echo "CPU, the upload itself costs little. A way out, in store/: a streamed upload (POST, one PATCH"
		echo "carrying the whole file and hashing it on the way, then the closing PUT with the digest): one"
		echo "read instead of two for one more request, at the price of the existence check before the upload"
		echo "(HEAD by digest), which needs the digest first."
		echo
	fi
	if [[ "${stream_verdict}" == MISSED ]] && lt "${get_ratio}" 0.9; then
		echo "**1 GiB get throughput.** manifesto get streams the blob into a temporary file while checking its"
		echo "size and sha256, fsyncs it and renames it; crane blob also checks the sha256, and its output is"
		echo "fsynced inside its time. The CPU profile of a get (below) shows the time in read/write system calls"
		echo "and sha256, as for crane; what separates the two is in the rounds of the raw output."
		echo
	fi
	if [[ "${stream_verdict}" == MISSED ]] && ! [[ ${rss_ok} == yes ]]; then
		echo "**1 GiB peak RSS.** See the peak RSS figures and the idle baseline in \"Streaming a large value\"."
		echo
	fi
	if [[ "${writers_verdict}" == MISSED ]]; then
		echo "**Concurrent writers.** See the writer failures under \"Entries kept under 16 concurrent writers\"."
		echo
	fi
	if [[ "${latency_verdict}" == MISSED || "${scale_verdict}" == MISSED ]]; then
		cat <<'EOF'
**A distant registry (goals 5 and 6).** What issue 14 cut, on the critical path of each
operation (traces under "A registry 10 and 25 ms away"): the `GET /v2/` handshake (now set up
lazily from a 401 challenge), the HEAD+GET resolve (one GET), the referrers probe before the
fallback read and `tags/list` after it (all three at once), the blob checks after the resolve
(beside it now), the sequential blob uploads (at once), the entry manifest PUT by digest before
its trace tag (one PUT, under the tag, where there is no referrers API), the merge read after the
uploads (read while they upload), and one HEAD per untraced entry on every read and write (none:
a read judges entries by what it fetches; writers check them only when the registry refuses an
index), and the value's blob read on a get (a value up to 16 KiB travels inside the entry manifest;
a larger one adds that read). On Distribution a put is now 6 sequential round trips (oras 8,
regctl 9), a get 3 (5, 5), a list 2 (3, 3); on olareg 5 (6, 7), 3 (4, 4), 2 (2, 2). Before (main at 2736a5c, the same
scenarios: bench/ISSUE14-BASELINE.md) they were 15, 7 and 5 on Distribution and 9, 5 and 3 on
olareg; put+get+list at 25 ms was 1.37× oras on Distribution, and with 300 untraced entries a put
took 8.9 s, a get 4.7 s and a list 4.9 s (one HEAD per entry). What remains is not round trips:

- **olareg, put+get+list ≤ 0.8× oras; list ≤ 1.0× oras discover** (at the line: put+get+list
  was 0.85× and 0.78× in two full runs on 2026-11-29, list 1.04× and 1.09×). On a registry with
  the referrers API every tool already sends only the essential chain (resolve, listing, entry
  manifest, value), and manifesto's get has fewer sequential round trips than oras's (3 to 4)
  and its list as many (2).
  The rest of the wall time is the process itself: the manifesto binary (Sigstore, Notary, CEL;
  about twice oras's size) needs more start-up before its first request (see the traces: the
  first request leaves about 50 ms after the start, 100–200 ms when the machine is loaded) — the "Start-up floor"
  under "Put, get and list against oras and regctl" measures it. A 0.8× ratio there needs a
  faster start-up, not fewer requests.
- **get ≤ 0.5× `regctl artifact get --latest` at 300 entries.** manifesto's get is 3 sequential
  round trips (resolve; the listing; the entry manifest, which carries the value) to regctl's 5,
  and sends no request per entry. 0.5× is out of reach whatever the requests: on the same registry
  on loopback with no delay at all, a get of one key among 300 takes 68 ms (`perf stat -r 30`,
  2026-11-29; regctl 73–83 ms), while half of regctl's time at 10 ms per request is about 70 ms,
  which would leave nothing for the three round trips. What is left is the process: start-up
  (`version` 32.5 ms against oras 26.5 ms and regctl 29.0 ms, `perf stat -r 30`), of which package
  initialisation is 19–26 ms (`GODEBUG=inittrace=1`; mostly the protobuf descriptors that cel-go
  and sigstore-go register), and reading the 130 KB fallback index in a fresh process (parse about
  3.5 ms, the view 2–4 ms, ordering 1–2 ms; timed in the process).
- **CNCF Distribution, put at 300 entries ≤ 1.3× put at 1 entry, list ≤ 1.0× oras discover
  (near the line: put 1.35×, 1.31× and 1.24×, list 1.15×, 0.94× and 0.99× in three full runs).** Neither sends more requests or more
  sequential round trips at 300 entries (put 12 requests, 6 on the critical path; list 4 and 2).
  What grows is the fallback index itself, about 400 bytes per entry (120 KB at 300), which every
  tool reads and every writer writes back, and Distribution checks that each manifest an index
  lists exists before it stores the index: in the trace above the index PUT takes 46 ms at 300
  entries. oras's attach pays the same (its put grows as well); list reads that index and parses,
  sorts and prints 300 keys, as oras discover does.
- Wall times on this shared machine move by tens of milliseconds between iterations (the load
  average is in "Machine"); request counts and critical paths do not.

EOF
	fi
	if [[ "${req_verdict}" != MISSED && "${wall_verdict}" != MISSED && "${stream_verdict}" != MISSED && "${writers_verdict}" != MISSED && "${latency_verdict}" != MISSED && "${scale_verdict}" != MISSED ]]; then
		echo "None missed."
		echo
	fi
	echo "## Machine"
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| date (start, UTC) | ${started} |"
	echo "| CPU | ${cpu:-unknown} |"
	echo "| nproc | $(nproc) |"
	echo "| memory | ${mem} |"
	echo "| load average (1, 5, 15 min) | before ${load_before}; after ${load_after} (other work shares this machine) |"
	echo "| kernel | $(uname -sr) |"
	echo "| Go | $(go version | awk '{print $3, $4}') |"
	echo "| TMPDIR filesystem | ${tmp_fs:-unknown} |"
	echo "| manifesto | ${binary} |"
	echo "| registry | $("${registry_bin}" --version 2>/dev/null | awk '{print $NF}') (CNCF Distribution, filesystem storage, 127.0.0.1) |"
	echo "| referrers-capable registry | go-containerregistry v0.22.1 \`pkg/registry\` with \`WithReferrersSupport(true)\`, in the benchmark process, 127.0.0.1 (goals 1–2); olareg v0.2.2, a separate process (goals 5–6) |"
	echo "| oras | ${oras_version:-?} |"
	echo "| regctl | ${regctl_version} |"
	echo "| crane | $("${crane_bin}" version 2>/dev/null) |"
	echo
	echo "Command: \`${cmd_str}\`"
	echo
	echo "## Put, get and list against oras and regctl"
	echo
	fragment peers.md
	echo
	echo "## Entries kept under 16 concurrent writers"
	echo
	fragment writers.md
	echo
	echo "## A registry 10 and 25 ms away"
	echo
	fragment latency.md
	echo
	echo "## Images with 1, 100 and 300 entries (10 ms per request)"
	echo
	fragment scale.md
	echo
	echo "## How many entries one fallback index holds"
	echo
	fragment ceiling.md
	echo
	echo "## Streaming a large value (vs crane)"
	echo
	for bench in $(awk '{print $1}' <<<"${metrics}" | grep '^BenchmarkStream' | sort -u); do
		echo "### ${bench}"
		echo
		echo "| tool | operation | throughput (MiB/s) | peak RSS (MiB) |"
		echo "|---|---|---:|---:|"
		echo "| manifesto | put IMAGE KEY FILE | $(metric "${bench}" put-MiB/s) | $(metric "${bench}" put-peak-RSS-MiB) |"
		echo "| crane | push LAYOUT REF | $(metric "${bench}" crane-put-MiB/s) | $(metric "${bench}" crane-put-peak-RSS-MiB) |"
		echo "| manifesto | get IMAGE KEY -o FILE | $(metric "${bench}" get-MiB/s) | $(metric "${bench}" get-peak-RSS-MiB) |"
		echo "| crane | blob REF@DIGEST > FILE (+ fsync) | $(metric "${bench}" crane-get-MiB/s) | $(metric "${bench}" crane-get-peak-RSS-MiB) |"
		echo "| manifesto | version (idle baseline) | | $(metric "${bench}" version-peak-RSS-MiB) |"
		echo "| crane | version (idle baseline) | | $(metric "${bench}" crane-version-peak-RSS-MiB) |"
		echo "| (sha256) | one v1.SHA256 pass over the file, in process | $(metric "${bench}" hash-pass-MiB/s) | |"
		echo "| manifesto | put, without that pass | $(metric "${bench}" put-minus-hash-MiB/s) | |"
		echo
		echo "Ratios manifesto/crane (speed above 1: manifesto is faster; RSS above 1: manifesto uses more):"
		echo
		echo "| | put | get | put without the sha256 pass |"
		echo "|---|---:|---:|---:|"
		echo "| throughput | $(metric "${bench}" put-speed-ratio) | $(metric "${bench}" get-speed-ratio) | $(metric "${bench}" put-minus-hash-speed-ratio) |"
		echo "| peak RSS | $(metric "${bench}" put-RSS-ratio) | $(metric "${bench}" get-RSS-ratio) | |"
		echo
	done
	for p in put get; do
		f="${out_dir}/${p}-1024MiB.pprof"
		[[ -s "${f}" ]] || continue
		echo "CPU profile of one 1 GiB ${p} through the store package (in process; \`go tool pprof -top\`):"
		echo
		echo '```'
		go tool pprof -top -nodecount=12 "${f}" 2>/dev/null | grep -v '^\(File\|Build ID\|Type\|Time\):' || echo "(pprof failed)"
		echo '```'
		echo
	done
	echo "## Reading the numbers"
	echo
	echo "- The machine is shared (see the load average): every figure is a median over rounds whose tool"
	echo "  order rotates, so that a slow moment hits every tool alike; the ratios still move between runs."
	echo "- Requests are counted by \`internal/faultproxy\` (no faults programmed) in front of each registry,"
	echo "  reset before each operation; their durations come from a timing layer behind it. Both proxies"
	echo "  add a fraction of a millisecond per request, to every tool alike."
	echo "- Wall time is the whole process (or, for oras's get, both processes: discover, then pull),"
	echo "  started through \`bench/peakrss\`, which also gives each child's peak RSS (Go starts children"
	echo "  with vfork, which would otherwise fold the benchmark process's own peak into the child's)."
	echo "- Streaming throughput is size / wall time of the whole command (start-up, image resolution, the"
	echo "  registry on the same machine). manifesto get fsyncs before renaming; crane's output is fsynced"
	echo "  by the benchmark inside crane's time."
	echo
	echo "## Raw output"
	echo
	echo '```'
	grep -v '^        time=' "${log}" # Distribution's own log lines, printed when a benchmark fails
	echo '```'
	if [[ -n "${by_hand}" ]]; then
		echo
		echo "${by_hand}"
	fi
} >"${results}"

# Issue 12: search vs crane ls + oras discover (bench/search_test.go), its
# own marked section after the rest.
{
	echo
	echo "<!-- BEGIN search (issue 12): bench/run.sh appends this section from bench/search_test.go -->"
	echo "## Search a repository: manifesto search vs crane ls + oras discover per tag (issue 12)"
	echo
	echo "Goal: at most 0.1× the loop's wall time, same run: **$(verdict search.md)**"
	echo
	fragment search.md
	echo "<!-- END search (issue 12) -->"
} >>"${results}"

echo "run.sh: wrote ${results}" >&2
exit "${status}"
