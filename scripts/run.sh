#!/usr/bin/env bash
# Starts a local MogileFS cluster in the foreground and stops it on Ctrl-C:
#   - mogilefsd on 127.0.0.1:7001, metadata in ./var/mogilefs.sqlite
#   - two mogstored: 127.0.0.1:7500 (dev1) and 127.0.0.2:7500 (dev2), data in ./var/store{1,2}
#   - hosts, devices, domain "files" and class "rep2" (2 copies) registered
#   - the HTTP gateway mogproxy on 127.0.0.1:7080 (/<domain>/<key>), new keys in class rep2
#   - the FUSE mount of domain "files" at ./mnt (new files in class rep2),
#     after installing fuse3 when it is missing (scripts/deps.sh)
# Ports can be moved with TRACKER_PORT, STORE_PORT and GATEWAY_PORT.
#
# It only talks to servers it started: every port must be free before it
# starts, and each listener must belong to the process it started (checked
# through /proc) before anything is sent to it. A stale mount left at
# ./mnt by an earlier run is cleaned first; on Ctrl-C a busy ./mnt is
# reported with the processes holding it and detached lazily.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
var=$root/var
bin=$root/bin
mnt=$root/mnt
tport=${TRACKER_PORT:-7001}
sport=${STORE_PORT:-7500}
mport=$((sport + 1))
tracker=127.0.0.1:$tport
gport=${GATEWAY_PORT:-7080}

say() { echo "run.sh: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# listen_inodes IP PORT: socket inodes of the TCP listeners on IP:PORT,
# also those bound to every address (0.0.0.0, ::) on PORT.
listen_inodes() {
	local a b c d p
	IFS=. read -r a b c d <<<"$1"
	p=$(printf '%04X' "$2")
	awk -v le="$(printf '%02X%02X%02X%02X' "$d" "$c" "$b" "$a"):$p" \
		-v be="$(printf '%02X%02X%02X%02X' "$a" "$b" "$c" "$d"):$p" -v any="00000000:$p" \
		-v any6="00000000000000000000000000000000:$p" \
		'$4 == "0A" && ($2 == le || $2 == be || $2 == any || $2 == any6) { print $10 }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null || true
}

# holders_of_inodes INODE...: "pid N (name)" of the processes owning them.
holders_of_inodes() {
	local ino fd pid out=()
	for ino in "$@"; do
		for fd in /proc/[0-9]*/fd/*; do
			if [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$ino]" ]; then
				pid=${fd#/proc/}
				pid=${pid%%/*}
				out+=("pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo '?'))")
			fi
		done
	done
	[ ${#out[@]} -gt 0 ] && echo "${out[*]}"
	return 0
}

# owns_listener PID IP PORT: PID holds the socket listening on IP:PORT.
owns_listener() {
	local ino
	for ino in $(listen_inodes "$2" "$3"); do
		for fd in "/proc/$1"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "socket:[$ino]" ] && return 0
		done
	done
	return 1
}

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# is_mounted DIR: DIR is a mount point (also a stale FUSE mount whose
# server is gone, which stat would report as "not connected").
is_mounted() {
	local esc=${1// /\\040}
	awk -v d="$esc" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# mount_holders: processes with their working directory, root or an open
# file under ./mnt.
mount_holders() {
	local p l out=()
	for p in /proc/[0-9]*; do
		for l in "$p/cwd" "$p/root" "$p"/fd/*; do
			case "$(readlink "$l" 2>/dev/null)" in
			"$mnt" | "$mnt"/*)
				out+=("pid ${p#/proc/} ($(cat "$p/comm" 2>/dev/null || echo '?'))")
				break
				;;
			esac
		done
	done
	[ ${#out[@]} -gt 0 ] && echo "${out[*]}"
	return 0
}

unmount() { fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || ! is_mounted "$mnt"; }

# unmount_or_detach: unmounts ./mnt; when it is busy, says who holds it
# and what to do, and detaches it lazily so that nothing stays mounted.
unmount_or_detach() {
	is_mounted "$mnt" || return 0
	unmount && return 0
	local who
	who=$(mount_holders)
	say "./mnt is busy${who:+: $who} (a working directory or an open file inside it)."
	if fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || ! is_mounted "$mnt"; then
		say "detached ./mnt lazily: it is no longer mounted, but those processes still see the old directory" \
			"(with errors once mogfs stops); cd out of ./mnt there."
		return 0
	fi
	say "could not unmount ./mnt; leave it (cd out), then run: fusermount3 -u $mnt"
	return 1
}

# ---- checks before anything starts --------------------------------------

have() { [ -x "$bin/$1" ]; }
missing=()
for b in mogdbsetup mogilefsd mogstored mogadm; do have "$b" || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
	die "not built yet: ${missing[*]} — run 'make run' (it builds first)"
fi

# Every port this script uses must be free: anything answering there is not
# ours, and nothing will be sent to it.
busy=()
for ap in "127.0.0.1 $tport" "127.0.0.1 $sport" "127.0.0.1 $mport" "127.0.0.2 $sport" "127.0.0.2 $mport" \
	"127.0.0.1 $gport"; do
	read -r ip port <<<"$ap"
	# shellcheck disable=SC2046 # one inode per word
	if answers "$ip" "$port" || [ -n "$(listen_inodes "$ip" "$port")" ]; then
		who=$(holders_of_inodes $(listen_inodes "$ip" "$port"))
		busy+=("$ip:$port${who:+ (held by $who)}")
	fi
done
if [ ${#busy[@]} -gt 0 ]; then
	say "refusing to start: these ports are in use by servers this script did not start:"
	for b in "${busy[@]}"; do say "  $b"; done
	die "stop them, or move ours with TRACKER_PORT=, STORE_PORT= (uses it and the next port) or GATEWAY_PORT="
fi

# A mount left by an earlier run whose mogfs is gone ("Transport endpoint
# is not connected"): clean it before using ./mnt.
if is_mounted "$mnt"; then
	say "./mnt is still mounted from an earlier run; unmounting it"
	unmount_or_detach || exit 1
fi

# What the mount needs (fuse3 for fusermount3), installed as `make test`
# does when root or sudo allows; otherwise the reason is printed below.
mountwhy=
if ! have mogfs; then
	mountwhy="mogfs is not built"
elif [ ! -c /dev/fuse ]; then
	mountwhy="/dev/fuse does not exist here (a container without FUSE? load the fuse module or pass /dev/fuse in)"
elif ! command -v fusermount3 >/dev/null; then
	if ! scripts/deps.sh fuse3 >&2; then
		mountwhy="fusermount3 is missing: install package fuse3 (sudo apt-get install fuse3)"
	elif ! command -v fusermount3 >/dev/null; then
		mountwhy="fusermount3 is still missing after installing fuse3"
	fi
fi

# ---- start ----------------------------------------------------------------

mkdir -p "$var"
pids=()
mogfspid=
stopping=
cleanup() {
	local rc=$?
	trap - INT TERM EXIT
	[ -n "$stopping" ] && return
	stopping=1
	echo >&2
	say "stopping…"
	unmount_or_detach || rc=1
	# mogfs ends by itself once unmounted; after a lazy detach it would
	# serve on, so it gets SIGKILL if it is still there after 5 s.
	if [ -n "$mogfspid" ]; then
		kill "$mogfspid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$mogfspid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$mogfspid" 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if is_mounted "$mnt"; then
		say "./mnt is still mounted; run: fusermount3 -u $mnt"
		rc=1
	fi
	say "stopped; data stays in ./var"
	return "$rc"
}
trap 'cleanup' EXIT
trap 'cleanup; exit 0' INT TERM

# wait_ours PID IP PORT NAME: waits until PID itself listens on IP:PORT.
wait_ours() {
	local i
	for i in $(seq 1 300); do
		if ! kill -0 "$1" 2>/dev/null; then
			say "$4 exited before listening on $2:$3; see $var/$4.log"
			tail -20 "$var/$4.log" >&2 || true
			exit 1
		fi
		owns_listener "$1" "$2" "$3" && return 0
		sleep 0.1
	done
	local who
	# shellcheck disable=SC2046
	who=$(holders_of_inodes $(listen_inodes "$2" "$3"))
	say "$4 (pid $1) is not listening on $2:$3 after 30 s${who:+; $who listens there instead}; see $var/$4.log"
	exit 1
}

"$bin/mogdbsetup" --type=SQLite --dbname="$var/mogilefs.sqlite" --yes >/dev/null

for i in 1 2; do
	ip=127.0.0.$i
	mkdir -p "$var/store$i/dev$i"
	"$bin/mogstored" --skipconfig --httplisten="$ip:$sport" --mgmtlisten="$ip:$mport" \
		--docroot="$var/store$i" >"$var/mogstored$i.log" 2>&1 &
	pids+=($!)
	wait_ours $! "$ip" "$sport" "mogstored$i"
	wait_ours $! "$ip" "$mport" "mogstored$i"
done

dsn="DBI:SQLite:dbname=$var/mogilefs.sqlite"
"$bin/mogilefsd" --skipconfig --dsn="$dsn" --listen="$tracker" --user="$(id -un)" >"$var/mogilefsd.log" 2>&1 &
pids+=($!)
wait_ours $! 127.0.0.1 "$tport" mogilefsd

adm() { "$bin/mogadm" --trackers="$tracker" "$@"; }
hosts=$(adm host list 2>/dev/null || true)
for i in 1 2; do
	want=127.0.0.$i:$sport
	# "store1 [1]: alive" then "  IP:       127.0.0.1:7500"
	have_at=$(awk -v h="store$i" '$1 == h && $2 ~ /^\[/ { in_h = 1; next }
		in_h && $1 == "IP:" { print $2; exit } /^$/ { in_h = 0 }' <<<"$hosts")
	if [ -z "$have_at" ]; then
		adm host add "store$i" --ip="127.0.0.$i" --port="$sport" --status=alive
	elif [ "$have_at" != "$want" ]; then
		say "store$i was registered at $have_at; moving it to $want"
		adm host modify "store$i" --ip="127.0.0.$i" --port="$sport"
	fi
	adm device list 2>/dev/null | grep -qE "^\s+dev$i:" || adm device add "store$i" "$i"
done
adm domain list 2>/dev/null | grep -qE "^\s*files\b" || adm domain add files
adm class list 2>/dev/null | grep -qE "^\s*files\s+rep2\b" || adm class add files rep2 --mindevcount=2

# Ready when the tracker has seen both devices (their size is known): a
# cluster whose storage nodes it cannot reach is not reported as running.
ready=
for _ in $(seq 1 300); do
	if adm device list 2>/dev/null | awk '$1 ~ /^dev[12]:$/ && $5 + 0 > 0 { n++ } END { exit n != 2 }'; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ -z "$ready" ]; then
	adm device list >&2 || true
	die "the tracker does not see both storage devices after 30 s; see $var/mogilefsd.log"
fi

gatewaymsg="  (no gateway: mogproxy is not built)"
if have mogproxy; then
	"$bin/mogproxy" --trackers="$tracker" --listen="127.0.0.1:$gport" --class=rep2 >"$var/mogproxy.log" 2>&1 &
	pids+=($!)
	wait_ours $! 127.0.0.1 "$gport" mogproxy
	gatewaymsg="  curl -T /etc/passwd http://127.0.0.1:$gport/files/etc/passwd; curl http://127.0.0.1:$gport/files/etc/passwd"
fi

mountmsg="  (no FUSE mount: $mountwhy)"
if [ -z "$mountwhy" ]; then
	mkdir -p "$mnt"
	"$bin/mogfs" --foreground --trackers="$tracker" --domain=files --class=rep2 "$mnt" >"$var/mogfs.log" 2>&1 &
	mogfspid=$!
	for _ in $(seq 1 300); do
		is_mounted "$mnt" && break
		kill -0 "$mogfspid" 2>/dev/null || break
		sleep 0.1
	done
	if is_mounted "$mnt"; then
		mountmsg="  mkdir -p ./mnt/docs && cp README.md ./mnt/docs/ && ls -l ./mnt/docs    # the FUSE mount of domain files
  bin/mogfileinfo --trackers=$tracker --domain=files --key=docs/README.md   # 2 paths once replicated"
	else
		mountmsg="  (FUSE mount failed; see ./var/mogfs.log)"
		kill "$mogfspid" 2>/dev/null || true
		mogfspid=
	fi
fi

cat <<MSG

MogileFS is running: tracker $tracker, storage nodes 127.0.0.1:$sport and 127.0.0.2:$sport,
gateway 127.0.0.1:$gport${mogfspid:+, domain files mounted at ./mnt}.
Try:
  bin/mogupload --trackers=$tracker --domain=files --class=rep2 --key=etc/fstab --file=/etc/fstab
  bin/mogfetch --trackers=$tracker --domain=files --key=etc/fstab --file=-
  bin/moglistkeys --trackers=$tracker --domain=files
  bin/mogfileinfo --trackers=$tracker --domain=files --key=etc/fstab     # class rep2: 2 paths once replicated
  bin/mogadm --trackers=$tracker check
$gatewaymsg
$mountmsg
Keys are paths on the mount (key etc/fstab is ./mnt/etc/fstab); a key with a leading / shows under a directory
named %% (key /etc/fstab is ./mnt/%%/etc/fstab; docs/mogfs.md). The gateway and the mount store in class rep2.
Logs are in ./var/*.log. Press Ctrl-C to stop everything.
MSG
# Any daemon ending on its own stops the rest.
wait -n "${pids[@]}" ${mogfspid:+"$mogfspid"} || true
[ -n "$stopping" ] && exit 0
say "a daemon exited; see ./var/*.log"
exit 1
