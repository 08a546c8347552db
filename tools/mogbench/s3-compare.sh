#!/usr/bin/env bash
# The S3 API, ours against SeaweedFS's S3 gateway in one sitting (issue 18,
# "Figures"), medians of ROUNDS (3) interleaved rounds (ours, SeaweedFS,
# ours, SeaweedFS, ...), each on a fresh cluster in a fresh folder:
#   - 4 KiB PUT and GET at 16 clients: `s3bench -n N -c 16 --size=4096`
#     (every object written once, then read once in random order, every
#     byte verified; SigV4 header form with the body's SHA-256), and the
#     ratio ours / SeaweedFS;
#   - 100 MiB (BIG_MIB) multipart upload in 8 MiB parts, 10 at a time (the AWS
#     CLI's defaults), and download with ranged GETs of 8 MiB, 10 at a time,
#     through S3 (`s3bench --multipart-size`), against one PUT and one GET of
#     the same content through our plain /<domain>/<key> gateway by the same
#     client (`s3bench --plain-url`: generated as sent, checked as read),
#     and the ratio S3 / plain. Beside them: the plain PUT and GET by curl
#     (from and to a file; the GET is checked with cmp afterwards, untimed)
#     and SeaweedFS's multipart figures.
#
#   make build && go build -o bin/s3bench ./tools/s3bench &&
#     WEED=/path/to/weed tools/mogbench/s3-compare.sh /tmp/s3cmp
#
# Ours: tools/mogbench/cluster.sh (SQLite, one storage node, fsync off;
# domain "bench", class "one" of one copy, which the S3 requests name with
# x-amz-storage-class) and mogproxy with --listen, --s3-listen and
# --s3-keys. SeaweedFS: `weed server -s3` (master, one volume server,
# filer and S3 gateway; -volume.max=0, 1 GiB volumes, one copy) with an
# -s3.config giving the same access key and secret. WEED names the weed
# binary (default: weed on PATH); when it cannot be found the script says
# so and measures ours alone.
#
# S3BENCH_ARGS adds options to every s3bench run of both systems (e.g.
# --unsigned-payload, as the SDKs send over TLS).
# N (20000), ROUNDS (3), BIG_MIB (100), BIN (./bin, with s3bench), METRICS
# (an ip:port: mogproxy's --metrics-listen, for pprof while it runs); ports:
# TRACKER_PORT (7101), STORE_PORT (7600), PLAIN_PORT (7180), S3_PORT
# (7181), WEED_PORT_BASE (9400: master, +1 volume, +2 filer, +3 S3, and
# their gRPC ports +10000). OUTDIR keeps each run's report and log and the
# file "results"; the data folders are removed at the end (KEEP=1 keeps
# them), not between runs (docs/benchmarks.md §7).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=${1:?usage: s3-compare.sh OUTDIR}
bin=${BIN:-$root/bin}
n=${N:-20000}
rounds=${ROUNDS:-3}
big=${BIG_MIB:-100}MiB
tport=${TRACKER_PORT:-7101}
sport=${STORE_PORT:-7600}
pport=${PLAIN_PORT:-7180}
s3port=${S3_PORT:-7181}
wbase=${WEED_PORT_BASE:-9400}
weed=${WEED:-$(command -v weed || true)}
access=AKIAS3COMPARE
secret=s3compare/secret+key
for b in s3bench mogproxy mogilefsd mogstored mogadm mogdbsetup; do
	[ -x "$bin/$b" ] || { echo "$bin/$b is missing: run make build and go build -o $bin/ ./tools/s3bench" >&2; exit 1; }
done
if [ -z "$weed" ] || [ ! -x "$weed" ]; then
	echo "SeaweedFS skipped: no weed binary (set WEED=/path/to/weed; ../shared/anchors/README.md says how to build it)" >&2
	weed=
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
res=$out/results # lines: system workload round value errors
: >"$res"
printf '%s %s *\n' "$access" "$secret" >"$out/s3-keys"
printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
	"$access" "$secret" >"$out/weed-s3.json"
bigfile=$out/big.bin
head -c "$((${BIG_MIB:-100} << 20))" /dev/urandom >"$bigfile"

# shellcheck source=procs.sh
. tools/mogbench/procs.sh
finish() {
	stop
	rm -f "$bigfile" "$out/big.back"
	remove_runs "$out"
}
trap finish EXIT
trap 'exit 130' INT TERM

s3bench() { # endpoint report-file args...
	local ep=$1 rep=$2
	shift 2
	# shellcheck disable=SC2086 # S3BENCH_ARGS is a list of options
	"$bin/s3bench" --endpoint="$ep" --access-key="$access" --secret="$secret" --bucket=bench --json ${S3BENCH_ARGS:-} "$@" \
		>"$rep" 2>"$rep.err" || echo "s3bench $* against $ep failed (see $rep, $rep.err)" >&2
}
# record system round report: one results line per phase of an s3bench report.
record() {
	python3 - "$@" >>"$res" <<'EOF'
import json, sys
sysname, rnd, path = sys.argv[1:4]
try:
    d = json.load(open(path))
except Exception:
    sys.exit(0)
names = {"put": "put4k", "get": "get4k", "upload": "mpup", "download": "mpdown",
         "plain-put": "plainput", "plain-get": "plainget"}
for p in d.get("phases", []):
    v = p["req_per_sec"] if p["name"] in ("put", "get") else p["mib_per_sec"]
    print(sysname, names[p["name"]], rnd, "%.1f" % v, p["errors"] + p["verify_errors"])
EOF
}

# plain method round: one request of the big file through /bench/<key>.
plain() {
	local url=http://127.0.0.1:$pport/bench/big-$2 w
	if [ "$1" = put ]; then
		w=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -T "$bigfile" "$url")
	else
		w=$(curl -s -o "$out/big.back" -w '%{http_code} %{time_total}' "$url")
	fi
	local code=${w% *} secs=${w#* } bad=0
	[ "${code:0:1}" = 2 ] || bad=1
	if [ "$1" = get ] && ! cmp -s "$bigfile" "$out/big.back"; then bad=1; fi
	awk -v m="$1" -v r="$2" -v s="$secs" -v b="$bad" -v sz="$(stat -c %s "$bigfile")" \
		'BEGIN { printf "ours curl%s %s %.1f %s\n", m, r, sz / 1048576 / s, b }' >>"$res"
}

ours() { # round
	local dir=$out/run-ours-$1 ep=http://127.0.0.1:$s3port
	BIN=$bin VAR=$dir TRACKER_PORT=$tport STORE_PORT=$sport setsid tools/mogbench/cluster.sh >"$dir.log" 2>&1 &
	pids+=($!)
	disown
	wait_for "our cluster" "$dir.log" grep -q '^ready:' "$dir.log"
	setsid "$bin/mogproxy" --trackers="127.0.0.1:$tport" --listen="127.0.0.1:$pport" --class=one \
		--s3-listen="127.0.0.1:$s3port" --s3-keys="$out/s3-keys" ${METRICS:+--metrics-listen="$METRICS"} \
		--log-level=warn >"$dir.mogproxy.log" 2>&1 &
	pids+=($!)
	disown
	wait_for mogproxy "$dir.mogproxy.log" ports_open "$s3port" "$pport"
	s3bench "$ep" "$dir.small.json" --storage-class=one -n "$n" -c 16 --size=4096
	record ours "$1" "$dir.small.json"
	s3bench "$ep" "$dir.big.json" --storage-class=one -c 10 --multipart-size="$big" --part-size=8MiB \
		--plain-url="http://127.0.0.1:$pport/bench/"
	record ours "$1" "$dir.big.json"
	plain put "$1"
	plain get "$1"
	stop
}

weed_ready() { # endpoint
	"$bin/s3bench" --endpoint="$1" --access-key="$access" --secret="$secret" --bucket=warmup -n 1 -c 1 >/dev/null 2>&1
}

seaweed() { # round
	local dir=$out/run-weed-$1 ep=http://127.0.0.1:$((wbase + 3))
	mkdir -p "$dir"
	setsid "$weed" server -dir="$dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port="$wbase" \
		-volume.port="$((wbase + 1))" -filer.port="$((wbase + 2))" -s3 -s3.port="$((wbase + 3))" \
		-s3.config="$out/weed-s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
		-volume.max=0 -master.volumeSizeLimitMB=1024 >"$dir.log" 2>&1 &
	pids+=($!)
	disown
	wait_for "weed server" "$dir.log" sh -c "curl -s 127.0.0.1:$wbase/dir/status | grep -q '\"Max\":[1-9]'"
	# Ready when an object can be written (volumes are grown on demand).
	wait_for "weed S3 gateway" "$dir.log" weed_ready "$ep"
	s3bench "$ep" "$dir.small.json" -n "$n" -c 16 --size=4096
	record seaweed "$1" "$dir.small.json"
	s3bench "$ep" "$dir.big.json" -c 10 --multipart-size="$big" --part-size=8MiB
	record seaweed "$1" "$dir.big.json"
	stop
}

echo "$(date -u +%FT%TZ) N=$n rounds=$rounds big=$big load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
	ours "$r"
	[ -z "$weed" ] || seaweed "$r"
	grep " $r " "$res" | sed 's/^/  /' || true
	echo "  load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "$(date -u +%FT%TZ) done; load: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$res" <<'EOF'
import statistics, sys
rows, errors = {}, []
for line in open(sys.argv[1]):
    sysname, work, rnd, v, bad = line.split()
    rows.setdefault((sysname, work), []).append(float(v))
    if bad != "0":
        errors.append(line.strip())
def cell(k, unit):
    v = rows.get(k)
    if not v:
        return None, "skipped" if k[0] == "seaweed" else "-"
    m = statistics.median(v)
    return m, "%.0f %s (%s)" % (m, unit, ", ".join("%.0f" % x for x in v))
def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"
print("| 4 KiB, 16 clients | ours | SeaweedFS | ours / SeaweedFS |")
print("|---|---|---|---|")
for w, name in (("put4k", "PUT"), ("get4k", "GET")):
    o, fo = cell(("ours", w), "req/s")
    s, fs = cell(("seaweed", w), "req/s")
    print("| %s | %s | %s | %s |" % (name, fo, fs, ratio(o, s)))
print()
print("| 100 MiB | ours, S3 multipart | ours, plain /<domain>/<key> | S3 / plain | plain by curl | SeaweedFS, S3 multipart |")
print("|---|---|---|---|---|---|")
for w, pw, cw, name in (("mpup", "plainput", "curlput", "upload"), ("mpdown", "plainget", "curlget", "download")):
    o, fo = cell(("ours", w), "MiB/s")
    p, fp = cell(("ours", pw), "MiB/s")
    c, fc = cell(("ours", cw), "MiB/s")
    s, fs = cell(("seaweed", w), "MiB/s")
    print("| %s | %s | %s | %s | %s | %s |" % (name, fo, fp, ratio(o, p), fc, fs))
for e in errors:
    print("errors in:", e)
EOF
