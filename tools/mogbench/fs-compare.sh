#!/usr/bin/env bash
# mogfs against JuiceFS and `weed mount` in one sitting: rounds interleaved
# (mogfs, JuiceFS, weed, mogfs, ...), each system on a fresh cluster, in a
# fresh folder, through a fresh mount. Per system and round:
#   write-1p      files/s writing N (2 000) files of 4 KiB + 0–63 B of random
#                 data from one process (mogbench --mode=dir)
#   read-1p       files/s reading them back (every byte verified) through the
#                 same mount right after: warm
#   create-empty  files/s creating LSN (10 000) empty files from one process
#                 (mogbench --mode=dir-create: open O_CREAT|O_EXCL, close)
#   ls-l          seconds of `ls -l` of that directory of LSN empty files,
#                 each on a fresh mount: the median of 3 mounts
# then the medians per system and the ratios mogfs/JuiceFS and mogfs/weed
# (for ls-l, lower is better). Run as root (or a user who may mount FUSE):
#
#   make build && JUICEFS=/tmp/juicefs/juicefs WEED=/tmp/weed/weed tools/mogbench/fs-compare.sh /tmp/fscmp
#
# mogfs: tools/mogbench/cluster.sh (SQLite, one storage node, class one,
# fsync off, the fast path) and `mogfs --domain=bench --class=one`.
# JuiceFS: `juicefs format sqlite3://DB NAME --storage file --bucket DIR/
# --trash-days 0` and `juicefs mount -d --no-usage-report`. weed: `weed
# server -filer` (master, one volume server, filer on leveldb) and `weed
# mount -filer=... -dir=MNT`. ../shared/anchors/README.md says how JuiceFS and
# SeaweedFS build; JUICEFS and WEED name the binaries (default: on PATH),
# and a system that cannot be found is skipped with a message. BIN (./bin)
# holds ours (mogbench too). ROUNDS (3), N (2000), SIZE (4096), LSN (10000);
# MOGFS_ARGS adds flags to the mogfs mount (e.g.
# --metrics-listen=127.0.0.1:9102 for /debug/pprof); ports TRACKER_PORT
# (7101), STORE_PORT (7600), WEED_MASTER_PORT (9333), WEED_VOLUME_PORT
# (8080), WEED_FILER_PORT (8888). The CPU time of every process of the
# system (servers and the FUSE daemon) per file and phase goes into
# OUTDIR/<system>-<round>-*.json (mogbench --procs). The data folders are
# removed at the end (KEEP=1 keeps them), not between rounds: creating files
# right after a mass deletion is slow on ext4 without a journal
# (docs/benchmarks.md §7).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=${1:?usage: fs-compare.sh OUTDIR}
bin=${BIN:-$root/bin}
rounds=${ROUNDS:-3}
n=${N:-2000}
size=${SIZE:-4096}
lsn=${LSN:-10000}
tport=${TRACKER_PORT:-7101}
sport=${STORE_PORT:-7600}
mport=${WEED_MASTER_PORT:-9333}
vport=${WEED_VOLUME_PORT:-8080}
fport=${WEED_FILER_PORT:-8888}
juicefs=${JUICEFS:-$(command -v juicefs || true)}
weed=${WEED:-$(command -v weed || true)}
for b in mogbench mogilefsd mogstored mogadm mogdbsetup mogfs; do
	[ -x "$bin/$b" ] || { echo "$bin/$b is missing: run make build" >&2; exit 1; }
done
systems=(mogfs)
if [ -n "$juicefs" ] && [ -x "$juicefs" ]; then
	systems+=(juicefs)
else
	echo "JuiceFS skipped: no juicefs binary (set JUICEFS=/path/to/juicefs; ../shared/anchors/README.md says how to build it)" >&2
fi
if [ -n "$weed" ] && [ -x "$weed" ]; then
	systems+=(weed)
else
	echo "weed mount skipped: no weed binary (set WEED=/path/to/weed; ../shared/anchors/README.md says how to build it)" >&2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
res=$out/results # lines: system round write-1p read-1p create-empty ls-l errors
: >"$res"

# shellcheck source=procs.sh
. tools/mogbench/procs.sh
finish() {
	unmount_all
	stop
	remove_runs "$out"
}
trap finish EXIT
trap 'exit 130' INT TERM

# Each system defines <system>_start DIR (fresh servers and data),
# <system>_mount DIR MNT (returns once MNT is mounted) and
# <system>_procs DIR MNT (name=pid,... for mogbench --procs).

mogfs_start() {
	BIN=$bin VAR=$1/cluster TRACKER_PORT=$tport STORE_PORT=$sport setsid tools/mogbench/cluster.sh >"$1.log" 2>&1 &
	pids+=($!)
	wait_for "the mogfs cluster" "$1.log" grep -q '^ready:' "$1.log"
}
mogfs_mount() {
	# shellcheck disable=SC2086 # MOGFS_ARGS is a list of flags
	"$bin/mogfs" --trackers="127.0.0.1:$tport" --domain=bench --class=one --cache-dir="$1/cache" \
		--log-file="$1/mogfs.log" ${MOGFS_ARGS:-} "$2"
	mounted "$2"
}
mogfs_procs() { echo "$(cat "$1/cluster/procs"),$(mount_procs mogfs "$2")"; }

juicefs_start() {
	mkdir -p "$1/bucket"
	"$juicefs" format "sqlite3://$1/meta.db" bench --storage file --bucket "$1/bucket/" --trash-days 0 \
		>"$1.log" 2>&1 || { tail -20 "$1.log" >&2; exit 1; }
}
juicefs_mount() {
	"$juicefs" mount -d --no-usage-report --cache-dir="$1/cache" --log="$1/juicefs.log" \
		"sqlite3://$1/meta.db" "$2" >>"$1.log" 2>&1 || { tail -20 "$1.log" >&2; exit 1; }
	mounted "$2"
}
juicefs_procs() { mount_procs juicefs "$2"; }

weed_start() {
	mkdir -p "$1/data"
	setsid "$weed" server -dir="$1/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port="$mport" \
		-volume.port="$vport" -volume.max=0 -master.volumeSizeLimitMB=1024 \
		-filer -filer.port="$fport" >"$1.log" 2>&1 &
	pids+=($!)
	wait_for "weed server" "$1.log" sh -c "curl -s 127.0.0.1:$mport/dir/status | grep -q '\"Max\":[1-9]'"
	wait_for "the weed filer" "$1.log" ports_open "$fport" "$((fport + 10000))"
}
weed_mount() {
	mkdir -p "$1/cache"
	setsid "$weed" mount -filer="127.0.0.1:$fport" -dir="$2" -cacheDir="$1/cache" >"$1.mount.log" 2>&1 &
	pids+=($!)
	mounted "$2"
}
weed_procs() { echo "weed_server=${pids[0]},$(mount_procs weed "$2")"; }

# mount_procs NAME MNT: name=pid of the processes whose command line names
# MNT (the FUSE daemon; JuiceFS may run a supervisor beside it).
mount_procs() {
	local p list= i=0
	for p in $(pgrep -f -- "$2"); do
		[ "$p" = $$ ] && continue
		list+="${list:+,}$1$i=$p"
		i=$((i + 1))
	done
	echo "$list"
}

field() { # file phase field
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([p for p in r["phases"] if p["name"]==sys.argv[2]][0][sys.argv[3]])' "$@"
}

# One system's round: write, read, create, then ls -l on 3 fresh mounts.
measure() { # system round
	local s=$1 r=$2 dir=$out/run-$1-$2 mnt j bad=0 w rd cr lss=() t0 t1 count
	mnt=$dir/mnt
	mkdir -p "$dir" "$mnt"
	"${s}_start" "$dir"
	"${s}_mount" "$dir" "$mnt"
	j=$out/$s-$r
	"$bin/mogbench" --mode=dir --dir="$mnt" --prefix=small -n "$n" -c 1 --size="$size" --big-size=0 \
		--procs="$("${s}_procs" "$dir" "$mnt")" --json >"$j-rw.json" 2>"$j-rw.err" || bad=1
	"$bin/mogbench" --mode=dir-create --dir="$mnt" --prefix=empty -n "$lsn" -c 1 \
		--procs="$("${s}_procs" "$dir" "$mnt")" --json >"$j-create.json" 2>"$j-create.err" || bad=1
	w=$(field "$j-rw.json" dir-write files_per_sec)
	rd=$(field "$j-rw.json" dir-read files_per_sec)
	cr=$(field "$j-create.json" dir-create files_per_sec)
	unmount_all
	for _ in 1 2 3; do
		"${s}_mount" "$dir" "$mnt"
		t0=$(date +%s.%N)
		ls -l "$mnt/empty" >"$j-ls.out"
		t1=$(date +%s.%N)
		count=$(($(wc -l <"$j-ls.out") - 1))
		[ "$count" = "$lsn" ] || { echo "$s round $r: ls -l listed $count files, not $lsn" >&2; bad=1; }
		unmount_all
		lss+=("$(python3 -c "print(f'{$t1-$t0:.3f}')")")
	done
	stop
	printf '%s %s %.0f %.0f %.0f %s %s\n' "$s" "$r" "$w" "$rd" "$cr" \
		"$(printf '%s\n' "${lss[@]}" | sort -n | sed -n 2p)" "$bad" | tee -a "$res"
}

echo "$(date -u +%FT%TZ) systems: ${systems[*]}; N=$n SIZE=$size LSN=$lsn rounds=$rounds load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "system round write-1p read-1p create-empty ls-l(s) failed"
for r in $(seq 1 "$rounds"); do
	for s in "${systems[@]}"; do
		measure "$s" "$r"
	done
done
echo "$(date -u +%FT%TZ) done; load: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$res" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = ("write-1p files/s", "read-1p files/s", "create-empty files/s", "ls -l s")
med = {}
for s in dict.fromkeys(r[0] for r in rows):
    med[s] = [statistics.median(float(r[i]) for r in rows if r[0] == s) for i in range(2, 6)]
cols = list(med)
ratios = [c for c in ("juicefs", "weed") if c in med]
print("\nmedians of %d rounds" % len({r[1] for r in rows}))
head = ["figure"] + cols + ["mogfs/" + c for c in ratios]
print("| " + " | ".join(head) + " |")
print("|---" * len(head) + "|")
for i, name in enumerate(names):
    fmt = "%.3f" if i == 3 else "%.0f"
    cells = [name] + [fmt % med[c][i] for c in cols] + ["%.2f" % (med["mogfs"][i] / med[c][i]) for c in ratios]
    print("| " + " | ".join(cells) + " |")
for r in rows:
    if r[6] != "0":
        print("failures in %s round %s: see its .err files" % (r[0], r[1]))
EOF
