#!/usr/bin/env bash
# Compares GETs of small files through mogproxy with GETs of the same files
# straight from mogstored, with wrk, in one run (issue: ratio >= 0.8).
#
#   make build && gateway/bench/get4k.sh
#
# It starts a cluster (tools/mogbench/cluster.sh: a tracker on SQLite, one
# mogstored) and a mogproxy, stores N files of SIZE bytes, and then runs wrk
# ROUNDS times against each (direct first, then through the gateway, in
# turn), with T threads and C connections for D each. For every run it
# prints requests/s and the CPU time per request of wrk, mogproxy,
# mogstored and mogilefsd (from /proc/<pid>/stat before and after), and at
# the end the medians and the ratios gateway/direct.
#
# Environment: BIN (./bin), VAR (a new /tmp directory, removed at the end),
# TRACKER_PORT (7301), STORE_PORT (7800), PROXY_PORT (7880), METRICS_PORT
# (7881: mogproxy's /metrics and /debug/pprof), N (1000), SIZE (4096), T (2),
# C (32), D (10s), ROUNDS (3), PROXY_ARGS (more mogproxy options, e.g.
# --content-cache=0), KEEP=1 (keep VAR: logs), PROFILE=1 (take a 5 s CPU profile of mogproxy during
# its first run, into $OUT/mogproxy.pprof), OUT (where to keep the profile;
# /tmp).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${BIN:-$root/bin}
tport=${TRACKER_PORT:-7301}
sport=${STORE_PORT:-7800}
pport=${PROXY_PORT:-7880}
mport=${METRICS_PORT:-7881}
n=${N:-1000}
size=${SIZE:-4096}
threads=${T:-2}
conns=${C:-32}
dur=${D:-10s}
rounds=${ROUNDS:-3}
out=${OUT:-/tmp}
var=${VAR:-$(mktemp -d /tmp/get4k.XXXXXX)}
mkdir -p "$var"
lua=$root/gateway/bench/urls.lua
hz=$(getconf CLK_TCK)

for b in mogproxy mogstored mogilefsd; do
	[ -x "$bin/$b" ] || { echo "$bin/$b is missing: run make build" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }

pids=()
cleanup() {
	trap - INT TERM EXIT
	for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$var"
}
trap cleanup INT TERM EXIT

BIN=$bin VAR=$var/cluster TRACKER_PORT=$tport STORE_PORT=$sport setsid tools/mogbench/cluster.sh >"$var/cluster.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
	grep -q '^ready:' "$var/cluster.log" 2>/dev/null && break
	sleep 0.1
done
grep -q '^ready:' "$var/cluster.log" || { cat "$var/cluster.log" >&2; exit 1; }
procs=$(cat "$var/cluster/procs")
store_pid=$(tr ',' '\n' <<<"$procs" | sed -n 's/^mogstored1=//p')
tracker_pid=$(tr ',' '\n' <<<"$procs" | sed -n 's/^mogilefsd=//p')

setsid "$bin/mogproxy" --trackers=127.0.0.1:$tport --listen=127.0.0.1:$pport \
	--metrics-listen=127.0.0.1:$mport --domain= ${PROXY_ARGS:-} >"$var/mogproxy.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)
for _ in $(seq 1 300); do
	(exec 3<>"/dev/tcp/127.0.0.1/$pport") 2>/dev/null && break
	sleep 0.1
done

# N files through the gateway (one curl, one connection).
head -c "$size" /dev/urandom >"$var/file"
for i in $(seq 1 "$n"); do
	printf 'url = "http://127.0.0.1:%s/bench/f/%06d.bin?class=one"\nupload-file = "%s"\noutput = "/dev/null"\n' \
		"$pport" "$i" "$var/file"
done >"$var/put.curl"
curl -sS -f -K "$var/put.curl"

# Their paths on the storage node (get_paths, one tracker connection).
exec 3<>"/dev/tcp/127.0.0.1/$tport"
for i in $(seq 1 "$n"); do
	printf 'get_paths domain=bench&key=f%%2F%06d.bin&noverify=1\r\n' "$i" >&3
	read -r line <&3
	p=$(sed -n 's/.*path1=\([^&]*\).*/\1/p' <<<"$line" | sed 's/%3A/:/g; s/%2F/\//g; s/\r//')
	[ -n "$p" ] || { echo "get_paths: $line" >&2; exit 1; }
	echo "/${p#http://*/}"
	printf '/bench/f/%06d.bin\n' "$i" >&4
done >"$var/direct.txt" 4>"$var/proxy.txt"
exec 3>&-

cpu() { # pid: utime+stime in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# run name url paths: one wrk run; prints "name req/s wrk_us proxy_us store_us tracker_us"
run() {
	local name=$1 url=$2 paths=$3
	local p0 s0 t0 w
	p0=$(cpu $proxy_pid) s0=$(cpu "$store_pid") t0=$(cpu "$tracker_pid")
	w=$( { /usr/bin/time -f 'cpu %U %S' wrk -t"$threads" -c"$conns" -d"$dur" -s "$lua" "$url" -- "$paths"; } 2>&1)
	local p1 s1 t1
	p1=$(cpu $proxy_pid) s1=$(cpu "$store_pid") t1=$(cpu "$tracker_pid")
	local reqs rps werr wcpu
	reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$w")
	rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$w")
	werr=$(grep -E 'Non-2xx|Socket errors' <<<"$w" || true)
	[ -z "$werr" ] || echo "$name: $werr" >&2
	wcpu=$(sed -n 's/^cpu \([0-9.]*\) \([0-9.]*\)/\1 \2/p' <<<"$w" | awk '{print $1 + $2}')
	awk -v name="$name" -v rps="$rps" -v n="$reqs" -v w="$wcpu" -v hz="$hz" \
		-v p=$((p1 - p0)) -v s=$((s1 - s0)) -v t=$((t1 - t0)) 'BEGIN {
		us = 1e6 / n
		printf "%-7s %9.0f %8.1f %8.1f %8.1f %8.1f\n", name, rps, w * us, p / hz * us, s / hz * us, t / hz * us
	}'
}

printf '%-7s %9s %8s %8s %8s %8s   (CPU µs per request; %s files of %s bytes, wrk -t%s -c%s -d%s)\n' \
	run req/s wrk mogproxy mogstored tracker "$n" "$size" "$threads" "$conns" "$dur"
# One untimed pass through the gateway first: its caches are warm in
# every measured run, as in steady service.
wrk -t1 -c4 -d2s -s "$lua" "http://127.0.0.1:$pport" -- "$var/proxy.txt" >/dev/null
for r in $(seq 1 "$rounds"); do
	run direct "http://127.0.0.1:$sport" "$var/direct.txt"
	if [ "${PROFILE:-0}" = 1 ] && [ "$r" = 1 ]; then
		(sleep 1; curl -so "$out/mogproxy.pprof" "http://127.0.0.1:$mport/debug/pprof/profile?seconds=5") &
	fi
	run proxy "http://127.0.0.1:$pport" "$var/proxy.txt"
	wait
done | tee "$var/results"
awk '
function median(a, k,   i, j, t) { # sorts a[1..k] in place
	for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
$1 == "direct" { nd++; dr[nd] = $2; dc[nd] = $3 + $5 + $6 }
$1 == "proxy"  { np++; pr[np] = $2; pc[np] = $3 + $4 + $5 + $6; pp[np] = $4 }
END {
	mdr = median(dr, nd); mpr = median(pr, np); mdc = median(dc, nd); mpc = median(pc, np); mpp = median(pp, np)
	printf "median req/s: direct %.0f, mogproxy %.0f; ratio %.2f\n", mdr, mpr, mpr / mdr
	printf "median CPU µs per request, all processes: direct %.1f, mogproxy %.1f; ratio direct/mogproxy %.2f (mogproxy itself %.1f)\n", mdc, mpc, mdc / mpc, mpp
}' "$var/results"
