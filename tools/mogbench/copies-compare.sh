#!/usr/bin/env bash
# One copy against two, in one sitting: the write rate of class "one"
# (mindevcount 1) and of class "two" (mindevcount 2) on a cluster of two
# storage nodes (two hosts, one device each), and for class "two" the time
# from the last write until every file has two copies. Medians of ROUNDS
# (3) interleaved runs (one, two, one, two, ...), each on a fresh cluster
# in a fresh folder; the ratio two / one of the write rates.
#
#   make build && tools/mogbench/copies-compare.sh /tmp/copies
#
# Each run: tools/mogbench/cluster.sh with HOSTS=2 (SQLite, fsync off, fast
# path on unless FASTPATH=0) and `mogbench --mode=write -n N -c C
# --size=4096 --class=one|two --replication-wait=WAIT --procs=…`
# (the replication phase polls list_fids until every file has the class's
# mindevcount copies; its time is an upper bound, one poll round's
# resolution). The CPU per file of each process is printed per run.
#
# MOGBENCH_ARGS adds flags to mogbench, CLUSTER_ENV variables to
# cluster.sh's environment (e.g. "TRACKER_CONF=replicate_jobs = 4");
# N (20000), C (16), ROUNDS (3), WAIT (120s), BIN (./bin); ports
# TRACKER_PORT (7101), STORE_PORT (7600). OUTDIR keeps each run's report
# and log and the file "results"; the data folders are removed at the end
# (KEEP=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=${1:?usage: copies-compare.sh OUTDIR}
bin=${BIN:-$root/bin}
n=${N:-20000}
conc=${C:-16}
rounds=${ROUNDS:-3}
wait=${WAIT:-120s}
tport=${TRACKER_PORT:-7101}
sport=${STORE_PORT:-7600}
for b in mogbench mogilefsd mogstored mogadm mogdbsetup; do
	[ -x "$bin/$b" ] || { echo "$bin/$b is missing: run make build" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
res=$out/results # lines: class round files/s copies-seconds errors
: >"$res"

# shellcheck source=procs.sh
. tools/mogbench/procs.sh
finish() {
	stop
	remove_runs "$out"
}
trap finish EXIT
trap 'exit 130' INT TERM

run() { # class round
	local dir=$out/run-$1-$2
	# shellcheck disable=SC2086 # CLUSTER_ENV is a list of assignments
	env ${CLUSTER_ENV:+"$CLUSTER_ENV"} HOSTS=2 BIN="$bin" VAR="$dir" TRACKER_PORT="$tport" STORE_PORT="$sport" \
		setsid tools/mogbench/cluster.sh >"$dir.log" 2>&1 &
	pids+=($!)
	wait_for "the cluster" "$dir.log" grep -q '^ready:' "$dir.log"
	# shellcheck disable=SC2086 # MOGBENCH_ARGS is a list of flags
	"$bin/mogbench" --trackers="127.0.0.1:$tport" --domain=bench --class="$1" -n "$n" -c "$conc" --size=4096 \
		--mode=write --replication-wait="$wait" --procs="$(cat "$dir/procs")" \
		${MOGBENCH_ARGS:-} --json >"$dir.json" 2>"$dir.err" || echo "class $1 round $2: mogbench failed (see $dir.json, $dir.err)" >&2
	stop
	python3 - "$dir.json" "$1" "$2" >>"$res" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ph = {p["name"]: p for p in d.get("phases", [])}
w, r = ph.get("write", {}), ph.get("replication", {})
bad = w.get("errors", 0) + w.get("verify_errors", 0) + r.get("errors", 0)
cpu = ",".join("%s=%.0f" % kv for kv in sorted(w.get("cpu_us_per_op", {}).items()))
print(sys.argv[2], sys.argv[3], "%.0f" % w.get("files_per_sec", 0), "%.2f" % r.get("seconds", -1), bad, cpu or "-")
EOF
}

echo "$(date -u +%FT%TZ) N=$n C=$conc rounds=$rounds load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
	for cl in one two; do
		run "$cl" "$r"
		grep -e "^$cl $r " "$res" | sed 's/^/  /' || true
	done
done
echo "$(date -u +%FT%TZ) done; load: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$res" <<'EOF'
import statistics, sys
rate, copies, errors = {}, {}, []
for line in open(sys.argv[1]):
    cl, rnd, fps, secs, bad, _ = line.split()
    rate.setdefault(cl, []).append(float(fps))
    copies.setdefault(cl, []).append(float(secs))
    if bad != "0":
        errors.append(line.strip())
def med(v):
    return statistics.median(v) if v else 0
print("| class | write files/s (rounds) | s from the last write to every file at mindevcount (rounds) |")
print("|---|---|---|")
for cl in ("one", "two"):
    print("| %s | %.0f (%s) | %.1f (%s) |" % (cl, med(rate.get(cl)), ", ".join("%.0f" % x for x in rate.get(cl, [])),
          med(copies.get(cl)), ", ".join("%.1f" % x for x in copies.get(cl, []))))
if rate.get("one") and rate.get("two"):
    print("two / one write rate: %.2f" % (med(rate["two"]) / med(rate["one"])))
for e in errors:
    print("errors in:", e)
EOF
