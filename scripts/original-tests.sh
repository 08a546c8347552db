#!/usr/bin/env bash
# Runs the original MogileFS-Server's own test files against our daemons:
# mogilefsd, mogstored and mogdbsetup built from this tree take the place
# of the Perl ones in a scratch copy of the original's checkout. See
# docs/compat.md.
#
#   scripts/original-tests.sh SERVER CLIENT UTILS [sqlite|mysql] [t/FILE.t ...]
#
# SERVER, CLIENT and UTILS are checkouts of mogilefs/MogileFS-Server (2.73),
# mogilefs/perl-MogileFS-Client and mogilefs/MogileFS-Utils; nothing is
# written into them. For mysql set MOGTEST_DBHOST, MOGTEST_DBPORT,
# MOGTEST_DBUSER (and MOGTEST_DBPASS) to a server where that user may
# create databases. The tests bind the fixed ports 127.0.0.1:7001 and
# 127.0.0.1:7500 (and 127.0.0.2-4), so run one at a time. Prints
# "<file> <passed>/<planned>" per file.
set -euo pipefail
server=$(cd "${1:?MogileFS-Server checkout}" && pwd)
client=$(cd "${2:?perl-MogileFS-Client checkout}" && pwd)
utils=$(cd "${3:?MogileFS-Utils checkout}" && pwd)
db=${4:-sqlite}
shift $(($# < 4 ? $# : 4))
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	files=(t/00-startup.t t/01-domain-class.t t/02-host-device.t t/10-weighting.t t/30-rebalance.t
		t/40-httpfile.t t/50-checksum.t t/51-checksum_class_change.t t/60-fsck.t t/70-reaper.t
		t/80-job_master.t t/mogstored-shutdown.t t/multiple-hosts-replpol.t
		t/multiple-devices-replpol.t t/http.t)
fi
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mogcompat.XXXXXX")

mkdir -p "$work/bin"
(cd "$root" && go build -o "$work/bin/" ./cmd/mogilefsd ./cmd/mogstored ./cmd/mogdbsetup)
# The tests find the daemons at t/../, mogadm at t/../../utils and the
# client library through PERL5LIB.
cp -a "$server" "$work/server"
rm -rf "$work/server/.git"
for b in mogstored mogdbsetup; do
	rm -f "$work/server/$b"
	ln -s "$work/bin/$b" "$work/server/$b"
done
# create_temp_tracker forks, and the parent then makes sure nothing listens
# on 7001 yet; the child execs the tracker. The Perl tracker takes a second
# to load, ours can be listening before that check and the test then dies
# ("tracker already running"), leaving the tracker behind. Half a second
# of delay gives the check its time.
rm -f "$work/server/mogilefsd"
printf '#!/bin/sh\nsleep 0.5\nexec "%s" "$@"\n' "$work/bin/mogilefsd" >"$work/server/mogilefsd"
chmod +x "$work/server/mogilefsd"

# leftovers ends the daemons of ours still running after a test file
# (a test that died leaves them).
leftovers() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		# CONT too: t/60-fsck.t stops processes with SIGSTOP.
		case "$exe" in "$work/bin/"*) kill -TERM "${p#/proc/}" 2>/dev/null && kill -CONT "${p#/proc/}" 2>/dev/null || true ;; esac
	done
	for _ in $(seq 1 100); do
		local alive=0
		for p in /proc/[0-9]*; do
			exe=$(readlink "$p/exe" 2>/dev/null) || continue
			case "$exe" in "$work/bin/"*) alive=1 ;; esac
		done
		[ $alive = 0 ] && return
		sleep 0.1
	done
	echo "daemons of $work still running" >&2
}
trap 'leftovers || true; rm -rf "$work"' EXIT
ln -s "$utils" "$work/utils"
export PERL5LIB="$work/server/lib:$client/lib:$utils/lib${PERL5LIB:+:$PERL5LIB}"
case "$db" in
sqlite) export MOGTEST_DBTYPE=SQLite ;;
mysql)
	export MOGTEST_DBTYPE=MySQL
	export MOGTEST_DBNAME=${MOGTEST_DBNAME:-tmp_mogcompat_$$}
	# The original's MySQL test store connects to the database before it
	# recreates it, so it has to exist; it is dropped at the end.
	mysql_cmd=(mariadb -h "${MOGTEST_DBHOST:-127.0.0.1}" -P "${MOGTEST_DBPORT:-3306}" -u "${MOGTEST_DBUSER:-root}")
	[ -n "${MOGTEST_DBPASS:-}" ] && mysql_cmd+=(-p"$MOGTEST_DBPASS")
	"${mysql_cmd[@]}" -e "CREATE DATABASE IF NOT EXISTS \`$MOGTEST_DBNAME\`"
	trap 'leftovers || true; "${mysql_cmd[@]}" -e "DROP DATABASE IF EXISTS \`$MOGTEST_DBNAME\`" || true; rm -rf "$work"' EXIT
	;;
*) echo "unknown database $db (sqlite or mysql)" >&2; exit 2 ;;
esac

# t/60-fsck.t stops the reaper with "kill STOP <reaper pid from !jobs>".
# Our workers are goroutines and !jobs names the tracker's own pid, so that
# stops the whole tracker and the file dies at its next command. With
# REAPER_WANT=1 the scratch copy stops and resumes the reaper with
# "!want 0|1 reaper" instead, to run the rest of the file.
if [ -n "${REAPER_WANT:-}" ]; then
	perl -0pi -e 's/ok\(kill\("STOP", \$reaper_pid\), "stopped reaper from running"\);/want(\$admin, 0, "reaper");/; s/ok\(kill\("CONT", \$reaper_pid\), "resumed reaper"\);/want(\$admin, 1, "reaper");/' "$work/server/t/60-fsck.t"
	grep -q 'want($admin, 0, "reaper")' "$work/server/t/60-fsck.t" || { echo "REAPER_WANT: t/60-fsck.t not as expected" >&2; exit 1; }
fi

cd "$work/server"
status=0
for f in "${files[@]}"; do
	log="$work/$(basename "$f").log"
	timeout 900 perl "$f" >"$log" 2>&1 || true
	leftovers
	planned=$(grep -m1 -oE '^1\.\.[0-9]+' "$log" | cut -d. -f3 || true)
	passed=$(grep -cE '^ok [0-9]+' "$log" || true)
	failed=$(grep -cE '^not ok [0-9]+' "$log" || true)
	skip=$(grep -m1 -oE '^1\.\.0 # SKIP.*' "$log" || true)
	if [ -n "$skip" ]; then
		echo "$f skipped: ${skip#1..0 # SKIP }"
		status=1
	else
		note=""
		[ "$failed" != 0 ] && note=" (not ok: $failed)"
		echo "$f ${passed}/${planned:-?}$note"
	fi
	if [ -z "$planned" ] || [ "$passed" != "$planned" ] || [ "$failed" != 0 ]; then
		status=1
		if [ -n "${KEEP_LOGS:-}" ]; then
			cp "$log" "$KEEP_LOGS/"
		fi
	fi
done
exit $status
