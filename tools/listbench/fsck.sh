#!/usr/bin/env bash
# Measures fsck throughput without checksums (docs/scale.md, "fsck"): a fresh
# cluster (tools/mogbench/cluster.sh, one storage node), N files (200000)
# filled by bulk SQL inserts, each also written straight into the device
# folder with its right size (fid%101 bytes), one copy in class "one"
# (mindevcount 1, no checksum); then "mogadm fsck reset; mogadm fsck start"
# and the time until the run has ended and its queue is empty. It prints
# files/s, the CPU seconds the tracker and mogstored used during the run,
# fsck_log's rows by code (clean: none) and the tracker's RSS at the end.
#
#   make build && tools/listbench/fsck.sh 200000
#
# BIN, VAR (./var/fsckbench), TRACKER_PORT, STORE_PORT, TRACKER_CONF,
# TRACKER_ENV as for tools/mogbench/cluster.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
n=${1:-200000}
export VAR=${VAR:-$root/var/fsckbench} BIN=${BIN:-$root/bin}
tport=${TRACKER_PORT:-7101}
sport=${STORE_PORT:-7600}
for port in "$tport" "$sport"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "127.0.0.1:$port is already taken: set TRACKER_PORT / STORE_PORT" >&2
		exit 1
	fi
done
go build -o "$VAR.listbench" ./tools/listbench

log=$(mktemp)
# No fast path: fsck needs no fid leases, and a lease's open tempfile rows
# would be fids fsck must leave alone.
FASTPATH=0 tools/mogbench/cluster.sh >"$log" 2>&1 &
cluster=$!
trap 'kill $cluster 2>/dev/null; wait $cluster 2>/dev/null; rm -f "$log"' EXIT
until grep -q '^ready' "$log"; do
	kill -0 $cluster 2>/dev/null || { cat "$log" >&2; exit 1; }
	sleep 0.2
done
pid() { tr ',' '\n' <"$VAR/procs" | sed -n "s/^$1=//p"; }
tracker=$(pid mogilefsd) store=$(pid mogstored1)
cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status"; }

db=(-db sqlite -dsn "$VAR/mogilefs.sqlite")
t0=$(date +%s.%N)
"$VAR.listbench" "${db[@]}" -fill "$n" -files "$VAR/store1" | tail -1
echo "fill of $n files (rows and files on disk): $(echo "$(date +%s.%N) - $t0" | bc) s"
echo "tracker RSS before fsck: $(rss "$tracker")"

adm() { "$BIN/mogadm" --trackers="127.0.0.1:$tport" "$@"; }
tc0=$(cpu "$tracker") sc0=$(cpu "$store")
adm fsck reset
adm fsck start
"$VAR.listbench" "${db[@]}" -fsck-wait
echo "CPU during fsck: tracker $(echo "$(cpu "$tracker") - $tc0" | bc) s, mogstored $(echo "$(cpu "$store") - $sc0" | bc) s"
echo "tracker RSS after fsck: $(rss "$tracker")"
adm fsck status
