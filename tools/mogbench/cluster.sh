#!/usr/bin/env bash
# Starts a fresh cluster for mogbench on loopback and keeps it running until
# Ctrl-C (or SIGTERM):
#   - mogilefsd on 127.0.0.1:$TRACKER_PORT (7101), on SQLite (the default) or
#     MariaDB (DB=mariadb, with MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASS
#     of an account that may create databases; the database "mogbench" is
#     dropped and made anew)
#   - HOSTS (1) mogstored, 127.0.0.N:$STORE_PORT (7600), one device each,
#     fsync off unless FSYNC=1, with --trackers naming the tracker (the fast
#     path: /_put, /_key) unless FASTPATH=0; the script waits until each
#     node holds a fid lease (with HOSTS > 1, one naming a peer device)
#   - domain "bench" with classes "one" (mindevcount 1) and "two" (2)
# Everything lives in $VAR (./var/bench), which starts empty: what a previous
# cluster left there is moved aside to $VAR.old-<time>, not removed, because
# on ext4 without a journal (this project's benchmark disk) creating files
# within 30 s of a mass deletion costs several times the CPU (the kernel
# skips recently freed inodes, docs/benchmarks.md §7): removing the last
# run's files here would slow the first ~20 000 uploads of the new cluster
# by a factor of 2–3. Remove the old directories when nothing is measured
# (make clean, or rm -rf var/bench.old-*). BIN (./bin)
# names the binaries, TRACKER_CONF adds lines to mogilefsd.conf (e.g.
# "replicate_jobs = 4"), TRACKER_ARGS adds mogilefsd options, TRACKER_ENV and
# STORE_ENV variables of the tracker's and storage nodes' environment (e.g. PPROF_ADDR=127.0.0.1:6060 for a build
# with the profiling overlay of docs/benchmarks.md).
#
#   make build && tools/mogbench/cluster.sh &
#   bin/mogbench --trackers=127.0.0.1:7101 --domain=bench --class=one
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${BIN:-$root/bin}
var=${VAR:-$root/var/bench}
tport=${TRACKER_PORT:-7101}
sport=${STORE_PORT:-7600}
mport=$((sport + 1))
hosts=${HOSTS:-1}
db=${DB:-sqlite}
tracker=127.0.0.1:$tport

for b in mogdbsetup mogilefsd mogstored mogadm; do
	[ -x "$bin/$b" ] || { echo "$bin/$b is missing: run make build" >&2; exit 1; }
done
if [ -e "$var" ]; then
	old=$var.old-$(date +%s%N)
	mv "$var" "$old"
	echo "the previous data is in $old: remove it when nothing is measured" >&2
fi
mkdir -p "$var"

case $db in
sqlite)
	"$bin/mogdbsetup" --type=SQLite --dbname="$var/mogilefs.sqlite" --yes >/dev/null
	dbargs=(--dsn="DBI:SQLite:dbname=$var/mogilefs.sqlite")
	;;
mariadb)
	mh=${MYSQL_HOST:-127.0.0.1} mp=${MYSQL_PORT:-3306} mu=${MYSQL_USER:-root} mpw=${MYSQL_PASS:-}
	mariadb -h "$mh" -P "$mp" -u "$mu" ${mpw:+-p"$mpw"} -e "DROP DATABASE IF EXISTS mogbench"
	"$bin/mogdbsetup" --type=MySQL --dbhost="$mh" --dbport="$mp" --dbname=mogbench \
		--dbrootuser="$mu" --dbrootpassword="$mpw" --dbuser="$mu" --dbpassword="$mpw" --yes >/dev/null
	dbargs=(--dsn="DBI:mysql:database=mogbench;host=$mh;port=$mp" --dbuser="$mu" --dbpass="$mpw")
	;;
*)
	echo "DB must be sqlite or mariadb" >&2
	exit 1
	;;
esac

pids=()
procs=
cleanup() {
	trap - INT TERM EXIT
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

wait_port() { # host port name
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "$3 did not start on $1:$2; see $var/$3.log" >&2
	exit 1
}

fsync=--no-fsync
[ "${FSYNC:-0}" = 1 ] && fsync=--fsync
fastpath=${FASTPATH:-1}
fpargs=()
[ "$fastpath" = 1 ] && fpargs=(--trackers="$tracker")
for i in $(seq 1 "$hosts"); do
	ip=127.0.0.$i
	mkdir -p "$var/store$i/dev$i"
	env ${STORE_ENV:-} "$bin/mogstored" --skipconfig --httplisten="$ip:$sport" --mgmtlisten="$ip:$mport" \
		--docroot="$var/store$i" $fsync "${fpargs[@]}" >"$var/mogstored$i.log" 2>&1 &
	pids+=($!)
	procs+="mogstored$i=$!,"
	wait_port "$ip" "$sport" "mogstored$i"
done

printf 'mogstored_stream_port = %s\n%s\n' "$mport" "${TRACKER_CONF:-}" >"$var/mogilefsd.conf"
env ${TRACKER_ENV:-} "$bin/mogilefsd" --config="$var/mogilefsd.conf" "${dbargs[@]}" --listen="$tracker" \
	--user="$(id -un)" ${TRACKER_ARGS:-} >"$var/mogilefsd.log" 2>&1 &
pids+=($!)
procs+="mogilefsd=$!"
wait_port 127.0.0.1 "$tport" mogilefsd

adm() { "$bin/mogadm" --trackers="$tracker" "$@" >/dev/null; }
for i in $(seq 1 "$hosts"); do
	adm host add "store$i" --ip="127.0.0.$i" --port="$sport" --status=alive
	adm device add "store$i" "$i"
done
adm domain add bench
adm class add bench one --mindevcount=1
adm class add bench two --mindevcount=2

# Wait until the tracker has seen every device writeable (get_devices).
writeable() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$tport" || return 1
	printf 'get_devices \r\n' >&3
	read -r line <&3
	exec 3>&-
	grep -o 'observed_state=writeable' <<<"$line" | wc -l
}
for _ in $(seq 1 300); do
	[ "$(writeable)" -ge "$hosts" ] && break
	sleep 0.1
done
# With the fast path, wait until every node holds a fid lease (GET /_fastpath
# says "ready":true).
fp_ready() { # ip
	local line
	exec 3<>"/dev/tcp/$1/$sport" || return 1
	printf 'GET /_fastpath HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3
	line=$(cat <&3)
	exec 3>&-
	grep -q '"ready":true' <<<"$line" || return 1
	# With more than one node, also a lease naming a peer device for
	# the copies of class "two" (docs/fastpath.md §4.5), unless the node
	# is older than peer copies (no "peers" in its answer).
	[ "$hosts" -lt 2 ] || ! grep -q '"peers":' <<<"$line" || grep -q '"peers":\[[0-9]' <<<"$line"
}
if [ "$fastpath" = 1 ]; then
	for i in $(seq 1 "$hosts"); do
		for _ in $(seq 1 300); do
			fp_ready "127.0.0.$i" && break
			sleep 0.1
		done
		fp_ready "127.0.0.$i" || { echo "mogstored$i holds no fast-path lease; see $var/mogstored$i.log" >&2; exit 1; }
	done
fi
echo "$procs" >"$var/procs" # for mogbench --procs
echo "ready: tracker $tracker, $hosts storage node(s), $db, fsync ${FSYNC:-0}, fast path $fastpath; domain bench, classes one, two"
wait -n "${pids[@]}" || true
echo "a daemon exited; see $var/*.log" >&2
