#!/usr/bin/env bash
# Takes the figures of docs/benchmarks.md: every configuration RUNS (3)
# times, each on a fresh cluster from tools/mogbench/cluster.sh, and prints
# the median of each phase's rate. The JSON report of every run, the load
# average before and after it and the daemons' logs are kept in OUTDIR.
#
#   make build && tools/mogbench/measure.sh /tmp/bench [CONFIG...]
#
# CONFIG (default: all but tracker) is one of
#   sqlite-1   1 host, class one (mindevcount 1), SQLite: write, read 4 KiB files
#   sqlite-2   2 hosts, class two (mindevcount 2), SQLite, --replication-wait=60s
#   sqlite-2-rN  as sqlite-2 with replicate_jobs = N (the default is 1, as the original)
#   mariadb-1  as sqlite-1 on MariaDB (MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASS)
#   big        1 host, SQLite: --mode=big (1000 files of 1 MiB, -c 4)
#   tracker    1 host, SQLite: --mode=tracker-paths (create_open+create_close, get_paths)
#   localfs    no cluster: --mode=dir on a local directory (the disk's own rate
#              of small-file creation, and a 1 GiB file), the floor under the rest
# N overrides -n (files per run) for a quick try; MOGBENCH_ARGS adds options;
# BIN (./bin) names the binaries and VAR (./var/bench) the data directory.
# Every run gets a directory of its own under VAR, and all are removed only
# at the end: on ext4, creating files in a block group where many inodes were
# freed in the last minutes makes the allocator skip each of them (the
# kernel's recently_deleted check), and creation then costs 300 µs instead
# of 15 µs of CPU. Deleting the previous run's 100 000 files just before a
# run made its writes 2× slower (measured with perf; see docs/benchmarks.md).
# The CPU time of the tracker, the storage nodes, mogbench and (with
# MARIADB_PID) MariaDB is reported per phase (mogbench --procs).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${BIN:-$root/bin}
export BIN=$bin
out=${1:?usage: measure.sh OUTDIR [CONFIG...]}
shift
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(sqlite-1 sqlite-2 mariadb-1 big)
runs=${RUNS:-3}
mkdir -p "$out"
tracker=127.0.0.1:${TRACKER_PORT:-7101}
varbase=${VAR:-$root/var/bench}
rm -rf "$varbase"

cluster_pid=
stop_cluster() {
	if [ -n "$cluster_pid" ]; then
		kill -TERM -- "-$cluster_pid" 2>/dev/null || true
		while kill -0 "$cluster_pid" 2>/dev/null; do sleep 0.1; done
		cluster_pid=
	fi
}
finish() {
	stop_cluster
	rm -rf "$varbase"
}
trap finish EXIT INT TERM

start_cluster() { # env assignments...
	local log=$out/cluster.log
	: >"$log"
	env VAR="$runvar" "$@" setsid tools/mogbench/cluster.sh >"$log" 2>&1 &
	cluster_pid=$!
	# Removing the previous run's files (100 000 and more) can take
	# minutes on a loaded machine.
	local deadline=$((SECONDS + 900))
	while [ $SECONDS -lt $deadline ]; do
		grep -q '^ready:' "$log" && return 0
		kill -0 "$cluster_pid" 2>/dev/null || break
		sleep 0.2
	done
	echo "cluster did not start:" >&2
	cat "$log" >&2
	exit 1
}

for cfg in "${configs[@]}"; do
	case $cfg in
	sqlite-1) cenv=(HOSTS=1 DB=sqlite) args=(--class=one) ;;
	sqlite-2) cenv=(HOSTS=2 DB=sqlite) args=(--class=two --replication-wait=60s) ;;
	sqlite-2-r[0-9]*) cenv=(HOSTS=2 DB=sqlite "TRACKER_CONF=replicate_jobs = ${cfg#sqlite-2-r}") args=(--class=two --replication-wait=60s) ;;
	mariadb-1) cenv=(HOSTS=1 DB=mariadb) args=(--class=one) ;;
	big) cenv=(HOSTS=1 DB=sqlite) args=(--class=one --mode=big) ;;
	tracker) cenv=(HOSTS=1 DB=sqlite) args=(--class=one --mode=tracker-paths) ;;
	localfs) cenv=() args=(--mode=dir --big-size=1GiB --delete) ;;
	*)
		echo "unknown configuration $cfg" >&2
		exit 1
		;;
	esac
	[ -n "${N:-}" ] && args+=(-n "$N")
	for run in $(seq 1 "$runs"); do
		runvar=$varbase/$cfg-$run
		runargs=("${args[@]}")
		if [ "$cfg" = localfs ]; then
			mkdir -p "$runvar"
			runargs+=(--dir="$runvar")
			procs=
		else
			start_cluster "${cenv[@]}"
			procs=--procs=$(cat "$runvar/procs")
			[ -n "${MARIADB_PID:-}" ] && [ "$cfg" = mariadb-1 ] && procs+=",mariadbd=$MARIADB_PID"
		fi
		cut -d' ' -f1-3 /proc/loadavg >"$out/$cfg-$run.load"
		code=0
		"$bin/mogbench" --trackers="$tracker" --domain=bench "${runargs[@]}" $procs ${MOGBENCH_ARGS:-} --json \
			>"$out/$cfg-$run.json" || code=$?
		cut -d' ' -f1-3 /proc/loadavg >>"$out/$cfg-$run.load"
		stop_cluster
		# The daemons' logs, for the errors of the run.
		for l in "$runvar"/*.log; do
			[ -e "$l" ] && cp "$l" "$out/$cfg-$run.$(basename "$l")"
		done
		jq -r --arg run "$cfg #$run (exit $code, load $(paste -sd/ "$out/$cfg-$run.load"))" \
			'$run + ": " + ([.phases[] | if .name == "replication" then "replication \(.seconds * 100 | floor / 100) s errors \(.errors)" else "\(.name) \(.files_per_sec|floor)/s \(.mib_per_sec*10|floor/10) MiB/s p99 \(.latency_ms.p99 * 100 | floor / 100) errors \(.errors)" end] | join("; "))' \
			"$out/$cfg-$run.json"
	done
	# Median over the runs of each phase's files/s and MiB/s (and of the
	# replication phase's seconds).
	jq -rs --arg cfg "$cfg" '
		def median: sort | .[(length - 1) / 2 | floor];
		def r2: . * 100 | floor / 100;
		[.[].phases[]] | group_by(.name)[] | . as $all |
		"\($cfg) median of \(length): \(.[0].name) " +
		(if .[0].name == "replication"
		 then "\([.[].seconds] | median | r2) s to mindevcount \(.[0].min_devcount)"
		 else "\([.[].files_per_sec] | median | floor) files/s, \([.[].mib_per_sec] | median | r2) MiB/s, p50 \([.[].latency_ms.p50] | median | r2) ms, p99 \([.[].latency_ms.p99] | median | r2) ms"
		 end) +
		"; CPU µs/file: " + ([.[0].cpu_us_per_op // {} | keys[] as $k | "\($k) \([$all[] | .cpu_us_per_op[$k] // empty] | median | floor)"] | join(", "))' $(for r in $(seq 1 "$runs"); do echo "$out/$cfg-$r.json"; done) | tee "$out/$cfg.median"
done
