#!/usr/bin/env bash
# Measures mogfs memory on a big domain, for one or two builds in one
# sitting. One cluster (cluster.sh: SQLite, one storage node) is filled by
# bulk SQL inserts of valid rows (file and file_on; one-byte keys whose
# content is never read) with N keys in all:
#   big/f0000001 ...   BIG (100 000) keys in one directory
#   ls/f...            LSN (10 000) keys in one directory
#   tree/dNNNNN/f...   the rest, 1 000 keys per directory
# Then, for each build, on a fresh mount with --metrics-listen:
#   ls-l-big   seconds of `ls -l big` and mogfs VmRSS / VmHWM after it
#   find       seconds of `find -type f` over the whole mount (counted) and
#              VmRSS / VmHWM after it, and the live file nodes if exported
# (with the CPU seconds mogfs spent on each: on a busy machine they vary
# less than the elapsed times)
#   drop       VmRSS and nodes after `echo 2 > /proc/sys/vm/drop_caches`
#              (root only) and a GC (heap profile with gc=1)
#   ls-l-10k   seconds of `ls -l ls` on a fresh mount (median of three)
# A heap profile after find is left in $VAR/<side>-heap.pb.gz (read it
# with `go tool pprof -top -sample_index=inuse_space`). Run as root (or a
# user who may mount FUSE), from the repository, after make build:
#
#   A=/tmp/old-bin B=bin N=1000000 tools/mogbench/mogfs-memory.sh
#
# A is optional (B alone: one build). MOGFS_ARGS adds mogfs options to
# every mount. VAR (/tmp/mogfs-memory) holds the cluster and mounts.
set -euo pipefail
cd "$(dirname "$0")/../.."
b=${B:-bin}
a=${A:-}
n=${N:-210000}
big=${BIG:-100000}
lsn=${LSN:-10000}
var=${VAR:-/tmp/mogfs-memory}
tport=${TRACKER_PORT:-7101}
tracker=127.0.0.1:$tport
mport=${METRICS_PORT:-7190}
[ "$n" -ge $((big + lsn)) ] || { echo "N must be at least BIG+LSN" >&2; exit 1; }
sides=(B)
[ -n "$a" ] && sides=(A B)
for d in $a $b; do
	for x in mogilefsd mogstored mogadm mogdbsetup mogfs; do
		[ -x "$d/$x" ] || { echo "$d/$x is missing" >&2; exit 1; }
	done
done
command -v sqlite3 >/dev/null || { echo "sqlite3 is missing (apt-get install sqlite3)" >&2; exit 1; }
rm -rf "$var"
mkdir -p "$var"

cluster_pid= mnt= mpid=
stop_mount() {
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
	fi
	if [ -n "$mpid" ]; then
		wait "$mpid" 2>/dev/null || true
	fi
	mnt= mpid=
}
stop() {
	stop_mount
	if [ -n "$cluster_pid" ]; then
		kill "$cluster_pid" 2>/dev/null || true
		wait "$cluster_pid" 2>/dev/null || true
	fi
}
trap stop EXIT INT TERM

BIN=$(cd "$b" && pwd) VAR=$var/cluster TRACKER_PORT=$tport tools/mogbench/cluster.sh >"$var/cluster.out" 2>&1 &
cluster_pid=$!
until grep -q '^ready:' "$var/cluster.out" 2>/dev/null; do
	kill -0 "$cluster_pid" 2>/dev/null || { cat "$var/cluster.out" >&2; exit 1; }
	sleep 0.1
done

db=$var/cluster/mogilefs.sqlite
t0=$(date +%s.%N)
sqlite3 "$db" <<EOF
.timeout 30000
PRAGMA synchronous=OFF;
BEGIN;
CREATE TEMP TABLE ids AS SELECT (SELECT dmid FROM domain WHERE namespace='bench') AS dmid,
  (SELECT classid FROM class c JOIN domain d USING (dmid) WHERE d.namespace='bench' AND c.classname='one') AS classid,
  (SELECT MIN(devid) FROM device) AS devid;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < $n)
INSERT INTO file (fid, dmid, dkey, length, classid, devcount)
SELECT i, ids.dmid,
  CASE WHEN i <= $big THEN printf('big/f%07d', i)
       WHEN i <= $big + $lsn THEN printf('ls/f%07d', i)
       ELSE printf('tree/d%05d/f%08d', (i - $big - $lsn) / 1000, i) END,
  1, ids.classid, 1
FROM c, ids;
INSERT INTO file_on (fid, devid) SELECT fid, (SELECT devid FROM ids) FROM file;
DELETE FROM sqlite_sequence WHERE name = 'tempfile';
INSERT INTO sqlite_sequence (name, seq) VALUES ('tempfile', $n);
COMMIT;
EOF
t1=$(date +%s.%N)

status() { # pid field -> MiB
	awk -v f="$2:" '$1 == f { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}
nodes() {
	curl -s "http://127.0.0.1:$mport/metrics" | awk '/^mogilefs_mogfs_nodes\{type="file"\}/ { print $2 }'
}
cpu() { # pid -> user+system CPU seconds so far
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
mount_fs() { # bin
	mnt=$var/mnt
	mkdir -p "$mnt"
	# shellcheck disable=SC2086
	"$1/mogfs" -f --trackers="$tracker" --domain=bench --cache-dir="$var/cache" \
		--metrics-listen="127.0.0.1:$mport" ${MOGFS_ARGS:-} "$mnt" >"$var/mogfs.log" 2>&1 &
	mpid=$!
	until mountpoint -q "$mnt"; do
		kill -0 "$mpid" 2>/dev/null || { cat "$var/mogfs.log" >&2; exit 1; }
		sleep 0.05
	done
}
echo "filled $n keys by SQL in $(secs "$t0" "$t1") s"
timed() { # command... -> seconds on stdout, output discarded
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null
	e=$(date +%s.%N)
	secs "$s" "$e"
}

for side in "${sides[@]}"; do
	bin=$b
	[ "$side" = A ] && bin=$a
	mount_fs "$bin"
	r0=$(status "$mpid" VmRSS)
	c0=$(cpu "$mpid")
	tl=$(timed ls -l "$mnt/big")
	r1=$(status "$mpid" VmRSS) h1=$(status "$mpid" VmHWM) c1=$(cpu "$mpid")
	s=$(date +%s.%N)
	files=$(find "$mnt" -type f | wc -l)
	tf=$(secs "$s" "$(date +%s.%N)")
	r2=$(status "$mpid" VmRSS) h2=$(status "$mpid" VmHWM) n2=$(nodes) c2=$(cpu "$mpid")
	curl -s -o "$var/$side-heap.pb.gz" "http://127.0.0.1:$mport/debug/pprof/heap?gc=1"
	r3=- n3=-
	if [ "$(id -u)" = 0 ]; then
		sync
		echo 2 >/proc/sys/vm/drop_caches
		curl -s -o /dev/null "http://127.0.0.1:$mport/debug/pprof/heap?gc=1"
		r3=$(status "$mpid" VmRSS) n3=$(nodes)
	fi
	stop_mount
	lss=()
	for _ in 1 2 3; do
		mount_fs "$bin"
		lss+=("$(timed ls -l "$mnt/ls")")
		stop_mount
	done
	l10=$(printf '%s\n' "${lss[@]}" | sort -n | sed -n 2p)
	echo "$side ($bin): N=$n keys, find saw $files files"
	echo "  start RSS ${r0} MiB"
	echo "  ls -l of $big keys: ${tl} s (mogfs CPU $(secs "$c0" "$c1") s), RSS ${r1} MiB, HWM ${h1} MiB"
	echo "  find -type f:       ${tf} s (mogfs CPU $(secs "$c1" "$c2") s), RSS ${r2} MiB, HWM ${h2} MiB, file nodes ${n2:--}"
	echo "  after drop_caches:  RSS ${r3} MiB, nodes ${n3:--}"
	echo "  ls -l of $lsn keys (fresh mount, median of 3): ${l10} s"
done
