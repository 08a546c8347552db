#!/usr/bin/env bash
# Fills a fresh cluster's domain with N files by bulk SQL inserts and
# measures list_keys and get_paths (see doc.go):
#
#   make build && tools/listbench/run.sh 1000000             # SQLite
#   DB=mariadb MYSQL_PORT=3306 tools/listbench/run.sh 1000000
#
# BIN (./bin) names the daemons, VAR (./var/listbench) their directory,
# DUR the length of each get_paths phase (10s); the cluster is the one of
# tools/mogbench/cluster.sh (TRACKER_PORT, STORE_PORT, MYSQL_* as there).
# MOGBENCH, if set, runs mogbench with these options (e.g. "-n 100000 -c 16")
# on the same cluster after the measurements, in class "one", so that its
# writes and reads are timed beside the N filled files. The tracker's RSS is
# printed at the end:
#
#   MOGBENCH="-n 100000" tools/listbench/run.sh 10000000
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
n=${1:?number of files}
export VAR=${VAR:-$root/var/listbench} BIN=${BIN:-$root/bin}
db=${DB:-sqlite}
tport=${TRACKER_PORT:-7101}
go build -o "$VAR.listbench" ./tools/listbench

log=$(mktemp)
tools/mogbench/cluster.sh >"$log" 2>&1 &
cluster=$!
trap 'kill $cluster 2>/dev/null; wait $cluster 2>/dev/null; rm -f "$log"' EXIT
until grep -q '^ready' "$log"; do
	kill -0 $cluster 2>/dev/null || { cat "$log" >&2; exit 1; }
	sleep 0.2
done

case $db in
sqlite) fill=(-db sqlite -dsn "$VAR/mogilefs.sqlite") ;;
mariadb)
	fill=(-db mysql -dsn "${MYSQL_USER:-root}:${MYSQL_PASS:-}@tcp(${MYSQL_HOST:-127.0.0.1}:${MYSQL_PORT:-3306})/mogbench")
	;;
esac
t0=$(date +%s.%N)
"$VAR.listbench" "${fill[@]}" -fill "$n" | tail -1
echo "fill of $n files: $(echo "$(date +%s.%N) - $t0" | bc) s"
"$VAR.listbench" -tracker "127.0.0.1:$tport" -n "$n" -measure -dur "${DUR:-10s}"
if [ -n "${MOGBENCH:-}" ]; then
	# shellcheck disable=SC2086 # MOGBENCH is a list of options
	"$BIN/mogbench" --trackers="127.0.0.1:$tport" --domain=bench --class=one \
		--procs="$(cat "$VAR/procs")" $MOGBENCH
fi
tracker=$(tr ',' '\n' <"$VAR/procs" | sed -n 's/^mogilefsd=//p')
awk '/^VmRSS/ { printf "tracker RSS: %.1f MiB\n", $2 / 1024 }' "/proc/$tracker/status"
if [ "$db" = sqlite ]; then
	echo "database file: $(du -h --apparent-size "$VAR/mogilefs.sqlite" | cut -f1)"
fi
