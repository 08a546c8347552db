# Process helpers for the comparison scripts (seaweed-compare.sh, fs-compare.sh,
# s3-compare.sh), which source this file. Each server a script starts in
# its own process group goes into pids; stop ends them all (TERM, then KILL
# after 10 s: weed server may not stop on TERM) and waits until they are
# gone; wait_for runs a test until it holds, failing with the last lines of
# a log when the newest server died or 90 s passed; remove_runs removes
# the run-* folders of OUTDIR unless KEEP=1.

pids=()

stop() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null && sleep 0.1; done
		kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	pids=()
}

wait_for() { # what log test...
	local what=$1 log=$2
	shift 2
	for _ in $(seq 1 900); do
		"$@" && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "$what did not start; its log:" >&2
	tail -20 "$log" >&2
	exit 1
}

ports_open() { # port...
	local p
	for p; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || return 1; done
}

# FUSE mounts (fs-compare.sh): mounted waits until a mount point answers
# and records it in mounts; unmount_all unmounts each (fusermount3, else
# umount, else a lazy umount) and waits until the processes whose command
# line names it (the FUSE daemons) are gone, so that the next mount of the
# same data starts on a quiet store.
mounts=()

mounted() { # mountpoint
	for _ in $(seq 1 600); do
		if mountpoint -q "$1"; then
			mounts+=("$1")
			return 0
		fi
		sleep 0.1
	done
	echo "nothing mounted at $1 after 60 s" >&2
	exit 1
}

unmount_all() {
	local m
	for m in "${mounts[@]}"; do
		if mountpoint -q "$m"; then
			fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m" || true
		fi
		for _ in $(seq 1 300); do
			pgrep -f -- "$m" >/dev/null || break
			sleep 0.1
		done
	done
	mounts=()
}

remove_runs() { # outdir
	[ "${KEEP:-0}" = 1 ] || find "$1" -mindepth 1 -maxdepth 1 -type d -name 'run-*' -exec rm -rf {} +
}
