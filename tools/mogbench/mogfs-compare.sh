#!/usr/bin/env bash
# Compares the mogfs small-file figures of two builds in one sitting:
# rounds interleaved (A, B, A, B, ...), each on a fresh cluster
# (cluster.sh: SQLite, one storage node without fsync, class "one") and a
# fresh mount. Per round and build it measures
#   write-1p  files/s writing 2 000 files of 4 KiB from one process
#   read-1p   files/s reading them back through the same mount
#   ls-l      seconds of `ls -l` of a directory of 10 000 keys on a fresh mount
# and prints the medians and the ratio B/A. Run as root (or a user who may
# mount FUSE), from the repository:
#
#   A=/tmp/old-bin B=bin ROUNDS=3 tools/mogbench/mogfs-compare.sh
#
# A and B name directories of binaries (mogilefsd, mogstored, mogadm,
# mogdbsetup, mogfs); mogbench is taken from B. N, SIZE and LSN change the
# counts; VAR (/tmp/mogfs-compare) holds the clusters and mount points.
set -euo pipefail
cd "$(dirname "$0")/../.."
a=${A:?A: directory of the first build\'s binaries}
b=${B:?B: directory of the second build\'s binaries}
rounds=${ROUNDS:-3}
n=${N:-2000}
size=${SIZE:-4096}
lsn=${LSN:-10000}
var=${VAR:-/tmp/mogfs-compare}
tracker=127.0.0.1:${TRACKER_PORT:-7101}
bench=$b/mogbench
for d in "$a" "$b"; do
	for x in mogilefsd mogstored mogadm mogdbsetup mogfs; do
		[ -x "$d/$x" ] || { echo "$d/$x is missing" >&2; exit 1; }
	done
done
[ -x "$bench" ] || { echo "$bench is missing" >&2; exit 1; }
mkdir -p "$var"
results=$var/results
: >"$results"

cluster_pid=
mnt=
stop() {
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" || true
	fi
	if [ -n "$cluster_pid" ]; then
		kill "$cluster_pid" 2>/dev/null || true
		wait "$cluster_pid" 2>/dev/null || true
	fi
	cluster_pid=
}
trap stop EXIT INT TERM

start() { # bin dir
	BIN=$(cd "$1" && pwd) VAR=$2 tools/mogbench/cluster.sh >"$2.out" 2>&1 &
	cluster_pid=$!
	for _ in $(seq 1 600); do
		grep -q '^ready:' "$2.out" 2>/dev/null && return 0
		kill -0 "$cluster_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "cluster of $1 did not start:" >&2
	cat "$2.out" >&2
	exit 1
}

mount_fs() { # bin mountpoint
	mkdir -p "$2"
	"$1/mogfs" --trackers="$tracker" --domain=bench --class=one --cache-dir="$var/cache" "$2"
	mnt=$2
}

umount_fs() {
	fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt"
	mnt=
}

field() { # json phase field
	python3 -c 'import json,sys; r=json.load(sys.stdin); print([p for p in r["phases"] if p["name"]==sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}

for r in $(seq 1 "$rounds"); do
	for side in A B; do
		bin=$a
		[ $side = B ] && bin=$b
		dir=$var/$side-$r
		rm -rf "$dir" "$dir.out"
		start "$bin" "$dir"
		mount_fs "$bin" "$dir.mnt"
		js=$("$bench" --mode=dir --dir="$mnt" -n "$n" -c 1 --size="$size" --big-size=0 --json)
		w=$(field dir-write files_per_sec <<<"$js")
		rd=$(field dir-read files_per_sec <<<"$js")
		umount_fs
		"$bench" --mode=write --trackers="$tracker" --domain=bench --class=one -n "$lsn" --size=100 --prefix=ls/ >/dev/null
		# ls -l on a fresh mount varies by tens of percent from one run
		# to the next: the median of three, each on a fresh mount.
		lss=()
		for _ in 1 2 3; do
			mount_fs "$bin" "$dir.mnt"
			t0=$(date +%s.%N)
			ls -l "$mnt/ls" >/dev/null
			t1=$(date +%s.%N)
			umount_fs
			lss+=("$(python3 -c "print(f'{$t1-$t0:.3f}')")")
		done
		stop
		ls=$(printf '%s\n' "${lss[@]}" | sort -n | sed -n 2p)
		printf '%s %s %.0f %.0f %s\n' "$side" "$r" "$w" "$rd" "$ls" | tee -a "$results"
	done
done

python3 - "$results" "$a" "$b" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda side, i: statistics.median(float(r[i]) for r in rows if r[0] == side)
print(f"\nmedians of {len(rows)//2} rounds   A={sys.argv[2]}   B={sys.argv[3]}")
print(f"{'figure':<22}{'A':>10}{'B':>10}{'B/A':>8}")
for name, i in (("write-1p files/s", 2), ("read-1p files/s", 3), ("ls -l 10k files s", 4)):
    x, y = med("A", i), med("B", i)
    print(f"{name:<22}{x:>10.3f}{y:>10.3f}{y/x:>8.2f}" if i == 4 else f"{name:<22}{x:>10.0f}{y:>10.0f}{y/x:>8.2f}")
EOF
