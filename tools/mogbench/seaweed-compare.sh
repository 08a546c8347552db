#!/usr/bin/env bash
# Small files, ours against SeaweedFS in one sitting: the four rows of
# issue 14 (write and read at 16 workers and at 1 worker), medians of
# ROUNDS (3) interleaved runs (ours, SeaweedFS, ours, SeaweedFS, ...), each
# run on a fresh cluster in a fresh folder, and the ratio ours / SeaweedFS.
#
#   make build && WEED=/path/to/weed tools/mogbench/seaweed-compare.sh /tmp/swcmp
#
# Ours: tools/mogbench/cluster.sh (SQLite, one storage node, fsync off) and
# `mogbench -n N -c C --size=4096 --class=one` (every file written once,
# then read once in random order, every byte verified).
# SeaweedFS: `weed server` (master and one volume server, -volume.max=0,
# 1 GiB volumes) and `weed benchmark -n N -c C -size 4096` (reads are random
# picks with repetition and are not verified). See
# ../shared/anchors/README.md for building weed; WEED names the binary
# (default: weed on PATH). When it cannot be found the script says so and
# measures ours alone.
#
# MOGBENCH_ARGS adds flags to our mogbench (e.g. "--fastpath=off" for the
# three-step path; the default is the client library's: uploads through
# the storage nodes' fast path when the cluster offers it, reads through
# get_paths and the client's 2 s path cache, docs/fastpath.md).
# N (20000), ROUNDS (3), CONCURRENCY ("16 1"), BIN (./bin); ports:
# TRACKER_PORT (7101), STORE_PORT (7600), WEED_MASTER_PORT (9333),
# WEED_VOLUME_PORT (8080). OUTDIR keeps each run's report and log and the
# file "results"; the data folders are kept until the end and then removed
# (KEEP=1 keeps them): removing files between runs would slow the next
# run's writes on ext4 without a journal (docs/benchmarks.md §7).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=${1:?usage: seaweed-compare.sh OUTDIR}
bin=${BIN:-$root/bin}
n=${N:-20000}
rounds=${ROUNDS:-3}
concs=${CONCURRENCY:-16 1}
tport=${TRACKER_PORT:-7101}
sport=${STORE_PORT:-7600}
mport=${WEED_MASTER_PORT:-9333}
vport=${WEED_VOLUME_PORT:-8080}
weed=${WEED:-$(command -v weed || true)}
for b in mogbench mogilefsd mogstored mogadm mogdbsetup; do
	[ -x "$bin/$b" ] || { echo "$bin/$b is missing: run make build" >&2; exit 1; }
done
if [ -z "$weed" ] || [ ! -x "$weed" ]; then
	echo "SeaweedFS skipped: no weed binary (set WEED=/path/to/weed; ../shared/anchors/README.md says how to build it)" >&2
	weed=
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
res=$out/results # lines: system workload round files/s
: >"$res"

# shellcheck source=procs.sh
. tools/mogbench/procs.sh
finish() {
	stop
	remove_runs "$out"
}
trap finish EXIT
trap 'exit 130' INT TERM


ours() { # concurrency round
	local dir=$out/run-ours-c$1-$2
	BIN=$bin VAR=$dir TRACKER_PORT=$tport STORE_PORT=$sport setsid tools/mogbench/cluster.sh >"$dir.log" 2>&1 &
	pids+=($!)
	wait_for "our cluster" "$dir.log" grep -q '^ready:' "$dir.log"
	# shellcheck disable=SC2086 # MOGBENCH_ARGS is a list of flags
	"$bin/mogbench" --trackers="127.0.0.1:$tport" --domain=bench --class=one -n "$n" -c "$1" --size=4096 \
		${MOGBENCH_ARGS:-} --json >"$dir.json" 2>"$dir.err" || echo "ours c=$1 round $2: mogbench failed (see $dir.json, $dir.err)" >&2
	stop
	python3 - "$dir.json" "$1" "$2" >>"$res" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d.get("phases", []):
    if p["name"] in ("write", "read"):
        bad = p["errors"] + p.get("verify_errors", 0)
        print("ours", p["name"] + "-c" + sys.argv[2], sys.argv[3], "%.0f" % p["files_per_sec"], bad)
EOF
}

seaweed() { # concurrency round
	local dir=$out/run-weed-c$1-$2
	mkdir -p "$dir"
	setsid "$weed" server -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port="$mport" \
		-volume.port="$vport" -volume.max=0 -master.volumeSizeLimitMB=1024 >"$dir.log" 2>&1 &
	pids+=($!)
	wait_for "weed server" "$dir.log" sh -c "curl -s 127.0.0.1:$mport/dir/status | grep -q '\"Max\":[1-9]'"
	"$weed" benchmark -master="127.0.0.1:$mport" -n "$n" -c "$1" -size 4096 -list="$dir.list" >"$dir.out" 2>&1 ||
		echo "SeaweedFS c=$1 round $2: weed benchmark failed (see $dir.out)" >&2
	stop
	awk -v c="$1" -v r="$2" '
		/Writing Benchmark/ { ph = "write" } /Reading Benchmark/ { ph = "read" }
		/^Failed requests:/ { bad[ph] = $3 }
		/^Requests per second:/ { printf "seaweed %s-c%s %s %.0f %s\n", ph, c, r, $4, bad[ph] }' "$dir.out" >>"$res"
}

echo "$(date -u +%FT%TZ) N=$n rounds=$rounds concurrency=$concs load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
	for c in $concs; do
		ours "$c" "$r"
		[ -z "$weed" ] || seaweed "$c" "$r"
		grep -e "-c$c $r " "$res" | sed 's/^/  /' || true
	done
done
echo "$(date -u +%FT%TZ) done; load: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$res" "$concs" <<'EOF'
import statistics, sys
rows = {}
errors = []
for line in open(sys.argv[1]):
    sysname, work, rnd, rate, bad = line.split()
    rows.setdefault((work, sysname), []).append(float(rate))
    if bad != "0":
        errors.append(line.strip())
def med(k):
    v = rows.get(k)
    return statistics.median(v) if v else None
print("| workload | ours files/s | SeaweedFS files/s | ours / SeaweedFS |")
print("|---|---|---|---|")
for c in sys.argv[2].split():
    for ph in ("write", "read"):
        w = "%s-c%s" % (ph, c)
        o, s = med((w, "ours")), med((w, "seaweed"))
        fo = "%.0f" % o if o else "-"
        fs = "%.0f" % s if s else "skipped"
        ratio = "%.2f" % (o / s) if o and s else "-"
        ro = ", ".join("%.0f" % x for x in rows.get((w, "ours"), []))
        rs = ", ".join("%.0f" % x for x in rows.get((w, "seaweed"), []))
        if o:
            fo += " (" + ro + ")"
        if s:
            fs += " (" + rs + ")"
        print("| %s, %s worker%s | %s | %s | %s |" % (ph, c, "s" if c != "1" else "", fo, fs, ratio))
for e in errors:
    print("errors in:", e)
EOF
