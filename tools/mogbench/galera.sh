#!/usr/bin/env bash
# Write rate of one and of two trackers on a private 3-node Galera cluster
# against the same on a single private MariaDB, in one sitting (rounds
# interleaved), with mogbench (--mode=write, N files of SIZE bytes, C
# workers, class "one", 2 storage nodes, fsync off). Prints a table. Then,
# unless FAILOVER=0, with two trackers on Galera: kill -9 of tracker 1's node
# (time to the first upload through tracker 1 again), the node's restart (time
# until tracker 1 is back on it), and kill -9 of the job master (time until the
# other tracker holds the job-master lease).
#
#   make build && tools/mogbench/galera.sh            # N=5000 C=16 ROUNDS=2
#
# Needs mariadb-server, galera-4 and rsync (scripts/deps.sh mariadb-server galera).
# Everything lives under $VAR (./var/galera-bench), emptied first; ports 7101,
# 7102 (trackers) and 7600 (storage nodes) must be free.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${BIN:-$root/bin}
var=${VAR:-$root/var/galera-bench}
n=${N:-5000} c=${C:-16} size=${SIZE:-4096} rounds=${ROUNDS:-2}
for b in mogbench mogilefsd mogstored mogadm mogdbsetup; do
	[ -x "$bin/$b" ] || { echo "$bin/$b is missing: run make build" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "jq is missing (apt-get install jq)" >&2; exit 1; }
scripts/galera.sh stop "$var/galera" 2>/dev/null || true
scripts/mariadb.sh stop "$var/single" 2>/dev/null || true
rm -rf "$var"
mkdir -p "$var"
chmod 755 "$var"
cpid= tpid=
stop_cluster() {
	# (either may be gone already: the failover figures kill a tracker)
	[ -z "$tpid" ] || { kill "$tpid" 2>/dev/null || true; wait "$tpid" 2>/dev/null || true; }
	[ -z "$cpid" ] || { kill "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true; }
	cpid= tpid=
}
cleanup() {
	stop_cluster
	scripts/galera.sh stop "$var/galera" || true
	scripts/mariadb.sh stop "$var/single" || true
}
trap cleanup EXIT INT TERM

echo "starting a 3-node Galera cluster and a single MariaDB..." >&2
mapfile -t galera < <(scripts/galera.sh start "$var/galera" 3)
single=$(scripts/mariadb.sh start "$var/single")
port_of() { sed -E 's/.*:([0-9]+)\).*/\1/' <<<"$1"; }
dbi() { echo "DBI:mysql:database=mogbench;host=127.0.0.1;port=$(port_of "$1")"; }

# start_site DBNAME TRACKERS: a fresh cluster on that database with 1 or 2
# trackers; sets trackers.
start_site() {
	local name=$1 ntr=$2 first second extra
	case $name in
	galera) first=${galera[0]} second=${galera[1]}
		extra="--dsn=$(dbi "${galera[1]}") --dsn=$(dbi "${galera[2]}")" ;;
	single) first=$single second=$single extra= ;;
	esac
	: >"$var/cluster.log" # the last run's "ready" must not count
	VAR="$var/c" DB=mariadb MYSQL_PORT=$(port_of "$first") HOSTS=2 TRACKER_PORT=7101 TRACKER_ARGS="$extra" \
		tools/mogbench/cluster.sh >"$var/cluster.log" 2>&1 &
	cpid=$!
	for _ in $(seq 1 600); do grep -qs "^ready" "$var/cluster.log" && break; sleep 0.1; done
	grep -q '^ready' "$var/cluster.log" || { cat "$var/cluster.log" >&2; exit 1; }
	trackers=127.0.0.1:7101
	if [ "$ntr" = 2 ]; then
		local more=
		[ "$name" = galera ] && more="--dsn=$(dbi "${galera[2]}") --dsn=$(dbi "${galera[0]}")"
		# shellcheck disable=SC2086
		"$bin/mogilefsd" --config="$var/c/mogilefsd.conf" --dsn="$(dbi "$second")" $more --dbuser=root \
			--listen=127.0.0.1:7102 --user="$(id -un)" >"$var/tracker2.log" 2>&1 &
		tpid=$!
		for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/7102) 2>/dev/null && break; sleep 0.1; done
		trackers=127.0.0.1:7101,127.0.0.1:7102
	fi
}

# stop_site DBNAME: stops the cluster and drops its database.
stop_site() {
	local port
	port=$(port_of "$single")
	[ "$1" = galera ] && port=$(port_of "${galera[1]}")
	stop_cluster
	mariadb -h127.0.0.1 -P"$port" -uroot -e "DROP DATABASE IF EXISTS mogbench"
}

# run DBNAME TRACKERS: start_site, then mogbench through its trackers; sets
# rate (files/s).
run() {
	start_site "$@"
	"$bin/mogbench" --trackers="$trackers" --domain=bench --class=one --mode=write -n "$n" -c "$c" \
		--size="$size" --json >"$var/mogbench.json" 2>"$var/mogbench.err" || { cat "$var/mogbench.err" >&2; exit 1; }
	rate=$(jq -r '.phases[] | select(.name == "write") | .files_per_sec' "$var/mogbench.json")
	rate=$(printf '%.0f' "$rate")
	stop_site "$1"
}

declare -A sum
for r in $(seq 1 "$rounds"); do
	for cfg in "single 1" "galera 1" "single 2" "galera 2"; do
		# shellcheck disable=SC2086
		run $cfg
		v=$rate
		echo "round $r: $cfg tracker(s): $v files/s" >&2
		sum[$cfg]=$(( ${sum[$cfg]:-0} + v ))
	done
done
avg() { echo $(( sum[$1] / rounds )); }
printf '\n%s files of %s B, %s workers, class one, %s rounds (mean)\n' "$n" "$size" "$c" "$rounds"
printf '| trackers | single MariaDB files/s | 3-node Galera files/s | Galera / single |\n|---|---|---|---|\n'
for t in 1 2; do
	s=$(avg "single $t") g=$(avg "galera $t")
	printf '| %s | %s | %s | %s |\n' "$t" "$s" "$g" "$(awk -v a="$g" -v b="$s" 'BEGIN{printf "%.2f", a/b}')"
done

[ "${FAILOVER:-1}" = 0 ] && exit 0
. tools/mogbench/galera-failover.sh
