#!/usr/bin/env bash
# Starts a local MogileFS cluster in the foreground and stops it on Ctrl-C:
#   - mogilefsd on 127.0.0.1:7001, metadata in ./var/mogilefs.sqlite
#   - two mogstored: 127.0.0.1:7500 (dev1) and 127.0.0.2:7500 (dev2), data in ./var/store{1,2}
#   - hosts, devices, domain "files" and class "rep2" (2 copies) registered
#   - the HTTP gateway mogproxy on 127.0.0.1:7080 (/<domain>/<key>)
#   - the FUSE mount at ./mnt when /dev/fuse is usable
# Ports can be moved with TRACKER_PORT, STORE_PORT and GATEWAY_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
var=$root/var
bin=$root/bin
tport=${TRACKER_PORT:-7001}
sport=${STORE_PORT:-7500}
mport=$((sport + 1))
tracker=127.0.0.1:$tport
gport=${GATEWAY_PORT:-7080}
mkdir -p "$var"

pids=()
mounted=
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping…"
	if [ -n "$mounted" ]; then
		fusermount3 -u "$root/mnt" 2>/dev/null || umount "$root/mnt" 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "stopped; data stays in ./var"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

wait_port() { # host port name
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "$3 did not start on $1:$2; see $var/$3.log" >&2
	tail -20 "$var/$3.log" >&2 || true
	exit 1
}

have() { [ -x "$bin/$1" ]; }
missing=()
for b in mogdbsetup mogilefsd mogstored mogadm; do have "$b" || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
	echo "not built yet: ${missing[*]} — nothing to start without them" >&2
	exit 1
fi

dsn="DBI:SQLite:dbname=$var/mogilefs.sqlite"
"$bin/mogdbsetup" --type=SQLite --dbname="$var/mogilefs.sqlite" --yes >/dev/null

for i in 1 2; do
	ip=127.0.0.$i
	mkdir -p "$var/store$i/dev$i"
	"$bin/mogstored" --skipconfig --httplisten="$ip:$sport" --mgmtlisten="$ip:$mport" \
		--docroot="$var/store$i" >"$var/mogstored$i.log" 2>&1 &
	pids+=($!)
	wait_port "$ip" "$sport" "mogstored$i"
done

"$bin/mogilefsd" --skipconfig --dsn="$dsn" --listen="$tracker" --user="$(id -un)" >"$var/mogilefsd.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$tport" mogilefsd

adm() { "$bin/mogadm" --trackers="$tracker" "$@"; }
for i in 1 2; do
	adm host list 2>/dev/null | grep -q "^store$i " ||
		adm host add "store$i" --ip="127.0.0.$i" --port="$sport" --status=alive
	adm device list 2>/dev/null | grep -qE "^\s+dev$i\b" || adm device add "store$i" "$i" 2>/dev/null || true
done
adm domain list 2>/dev/null | grep -qE "^\s*files\b" || adm domain add files
adm class list 2>/dev/null | grep -qE "^\s*files\s+rep2\b" || adm class add files rep2 --mindevcount=2

gatewaymsg="  (no gateway: mogproxy is not built)"
if have mogproxy; then
	"$bin/mogproxy" --trackers="$tracker" --listen="127.0.0.1:$gport" >"$var/mogproxy.log" 2>&1 &
	pids+=($!)
	wait_port 127.0.0.1 "$gport" mogproxy
	gatewaymsg="  curl -X PUT -T /etc/passwd http://127.0.0.1:$gport/files/passwd.html; curl http://127.0.0.1:$gport/files/passwd.html"
fi

mountmsg="  (no FUSE mount: /dev/fuse is not usable here or mogfs is not built)"
if have mogfs && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	mkdir -p "$root/mnt"
	if "$bin/mogfs" --trackers="$tracker" "$root/mnt" >"$var/mogfs.log" 2>&1; then
		mounted=1
		mountmsg="  ls ./mnt/files                      # the FUSE mount: domains are directories"
	else
		mountmsg="  (FUSE mount failed; see ./var/mogfs.log)"
	fi
fi

cat <<MSG

MogileFS is running: tracker $tracker, storage nodes 127.0.0.1:$sport and 127.0.0.2:$sport,
gateway 127.0.0.1:$gport.
Try:
  bin/mogupload --trackers=$tracker --domain=files --class=rep2 --key=/fstab.txt --file=/etc/fstab
  bin/mogfetch --trackers=$tracker --domain=files --key=/fstab.txt --file=-
  bin/moglistkeys --trackers=$tracker --domain=files
  bin/mogfileinfo --trackers=$tracker --domain=files --key=/fstab.txt
  bin/mogadm --trackers=$tracker check
$gatewaymsg
$mountmsg
Logs are in ./var/*.log. Press Ctrl-C to stop everything.
MSG
wait -n "${pids[@]}" || true
echo "a daemon exited; see ./var/*.log" >&2
exit 1
