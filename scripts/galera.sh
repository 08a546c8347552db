#!/usr/bin/env bash
# Starts, stops, kills and restarts the nodes of a private MariaDB Galera
# cluster on loopback, for the tests and for trying MogileFS on Galera by
# hand: data under DIR, every port chosen free at start, never the system
# server.
#
#   scripts/galera.sh start DIR [N]   # N nodes (default 3); prints one DSN a line
#   scripts/galera.sh stop DIR        # stops every node
#   scripts/galera.sh kill DIR I      # kill -9 of node I (1-based)
#   scripts/galera.sh restart DIR I   # starts node I again; it rejoins (state transfer)
#   scripts/galera.sh dsn DIR I       # node I's DSN
#   scripts/galera.sh status DIR      # wsrep_cluster_size and state of each node
#
# Node 1 bootstraps the cluster and gets the root account; the others join
# it by state transfer (rsync). Needs mariadb-server, galera-4 and rsync.
set -euo pipefail
cmd=${1:?start|stop|kill|restart|dsn|status}; dir=${2:?state directory}
provider=${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
# As root the servers run as the mysql user: the rsync state transfer's
# daemon, started by a joiner running as root, would write as nobody.
user=$(id -un)
if [ "$(id -u)" = 0 ]; then user=mysql; fi

# freeport prints a port free now, below the kernel's ephemeral range: a
# node's ports stay unbound while it is down (the SST and IST ports between
# state transfers, all of them after a kill), and a port from the ephemeral
# range could meanwhile be handed to another program's listener or outgoing
# connection (tests bind port 0 by the hundred), failing the node's restart.
freeport() {
	local lo
	lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	python3 - "$lo" <<-'PY' 2>/dev/null ||
		import random, socket, sys
		hi = int(sys.argv[1])
		# (an ephemeral range that starts low leaves no room: any free port)
		for p in [random.randrange(10000, hi) for _ in range(1000)] if hi > 11000 else [0]:
		    s = socket.socket()
		    try:
		        s.bind(("127.0.0.1", p))
		        print(s.getsockname()[1])
		        sys.exit(0)
		    except OSError:
		        continue
		    finally:
		        s.close()
		sys.exit(1)
		PY
		awk -v r="$RANDOM" 'BEGIN{srand(); print 10000+int((rand()*20000+r)%20000)}'
}

sock() { echo "$dir/n$1/mysqld.sock"; }
ping_node() { mariadb-admin --socket="$(sock "$1")" -uroot ping >/dev/null 2>&1; }
ready() {
	[ "$(mariadb --socket="$(sock "$1")" -uroot -N -e "SHOW STATUS LIKE 'wsrep_ready'" 2>/dev/null | awk '{print $2}')" = ON ]
}

# server_args I sets args to node I's mariadbd options.
server_args() {
	local i=$1 n peers=""
	n=$(cat "$dir/size")
	# shellcheck disable=SC1090
	. "$dir/n$i/ports"
	for j in $(seq 1 "$n"); do
		# shellcheck disable=SC2154
		peers="$peers${peers:+,}127.0.0.1:$(. "$dir/n$j/ports"; echo "$gcomm")"
	done
	# shellcheck disable=SC2154
	args=(--no-defaults --datadir="$dir/n$i/data" --socket="$(sock "$i")"
		--tmpdir="$dir/n$i/tmp" --pid-file="$dir/n$i/mysqld.pid" --port="$port"
		--bind-address=127.0.0.1 --user="$user" --skip-name-resolve
		--innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2
		--innodb-autoinc-lock-mode=2 --binlog-format=ROW --default-storage-engine=InnoDB
		--max-connections=1000 --log-error="$dir/n$i/error.log"
		--wsrep-on=ON --wsrep-provider="$provider" --wsrep-cluster-name=mogtest
		--wsrep-cluster-address="gcomm://$peers" --wsrep-node-name="n$i"
		--wsrep-node-address="127.0.0.1:$gcomm"
		--wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$gcomm;ist.recv_addr=127.0.0.1:$ist;gcache.size=64M;evs.inactive_timeout=PT6S;evs.suspect_timeout=PT3S"
		--wsrep-sst-method=rsync --wsrep-sst-receive-address="127.0.0.1:$sst")
}

# launch I [bootstrap]: starts node I's mariadbd in the background.
launch() {
	local i=$1 boot=${2:-} args
	server_args "$i"
	if [ -n "$boot" ]; then args+=(--wsrep-new-cluster); fi
	if [ -n "${start_pos:-}" ]; then args+=(--wsrep-start-position="$start_pos"); fi
	mariadbd "${args[@]}" >/dev/null 2>&1 &
	echo "$!" >"$dir/n$i/launcher.pid"
}

# recover I prints the last position (cluster uuid:seqno) node I committed,
# read from its InnoDB, as the packaged service's galera_recovery does before
# every start. A node killed with -9 has no position in grastate.dat; given
# this one it asks its peers only for the writes it missed (IST, from their
# gcache, a second or two) instead of a copy of the whole database (SST over
# rsync, which needs a daemon on a port of its own and aborts the server
# when anything goes wrong with it).
recover() {
	local i=$1 log args
	log="$dir/n$i/recover.log"
	server_args "$i"
	rm -f "$log"
	# The later options override the server's own.
	mariadbd "${args[@]}" --socket="$dir/n$i/recover.sock" --pid-file="$dir/n$i/recover.pid" \
		--skip-networking --log-error="$log" --wsrep-recover >/dev/null 2>&1 || return 0
	sed -n 's/.*WSREP: Recovered position: *\([0-9a-f-]*:[0-9][0-9]*\).*/\1/p' "$log" 2>/dev/null | tail -1
}

wait_ready() {
	local i=$1
	for _ in $(seq 1 600); do
		if ping_node "$i" && ready "$i"; then return 0; fi
		sleep 0.1
	done
	echo "galera node $i did not become ready; see $dir/n$i/error.log" >&2
	tail -20 "$dir/n$i/error.log" >&2 || true
	return 1
}

dsn_of() {
	# shellcheck disable=SC1090
	. "$dir/n$1/ports"
	echo "root@tcp(127.0.0.1:$port)/"
}

stop_node() {
	local i=$1 pid
	[ -f "$dir/n$i/mysqld.pid" ] || return 0
	pid=$(cat "$dir/n$i/mysqld.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$dir/n$i/mysqld.pid"
}

case "$cmd" in
start)
	n=${3:-3}
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	echo "$n" >"$dir/size"
	for i in $(seq 1 "$n"); do
		mkdir -p "$dir/n$i/tmp" "$dir/n$i/data"
		if [ ! -f "$dir/n$i/ports" ]; then
			printf 'port=%s\ngcomm=%s\nist=%s\nsst=%s\n' "$(freeport)" "$(freeport)" "$(freeport)" "$(freeport)" >"$dir/n$i/ports"
		fi
	done
	if [ "$user" != "$(id -un)" ]; then
		chown -R "$user:" "$dir"
		runuser -u "$user" -- test -w "$dir/n1/data" ||
			{ echo "galera.sh: $user cannot write $dir (a parent directory closed to it?)" >&2; exit 1; }
	fi
	if [ ! -d "$dir/n1/data/mysql" ]; then
		mariadb-install-db --no-defaults --datadir="$dir/n1/data" --user="$user" \
			--auth-root-authentication-method=normal --skip-test-db >"$dir/n1/install.log" 2>&1 ||
			{ cat "$dir/n1/install.log" >&2; exit 1; }
	fi
	# A restart of a cluster stopped in order: node 1 is safe to bootstrap.
	sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$dir/n1/data/grastate.dat" 2>/dev/null || true
	launch 1 bootstrap
	wait_ready 1
	for i in $(seq 2 "$n"); do
		launch "$i"
		wait_ready "$i"
	done
	for i in $(seq 1 "$n"); do dsn_of "$i"; done
	;;
stop)
	[ -f "$dir/size" ] || exit 0
	n=$(cat "$dir/size")
	# Joiners first, node 1 last, so node 1 is the one safe to bootstrap.
	for i in $(seq "$n" -1 1); do stop_node "$i"; done
	;;
kill)
	i=${3:?node}
	if [ -f "$dir/n$i/mysqld.pid" ]; then
		pid=$(cat "$dir/n$i/mysqld.pid")
		kill -9 "$pid" 2>/dev/null || true
		# Gone before we return: a restart must not find its files locked.
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	fi
	rm -f "$dir/n$i/mysqld.pid"
	;;
restart)
	i=${3:?node}
	start_pos=$(recover "$i")
	launch "$i"
	wait_ready "$i"
	dsn_of "$i"
	;;
dsn) dsn_of "${3:?node}" ;;
status)
	n=$(cat "$dir/size")
	for i in $(seq 1 "$n"); do
		printf 'n%s ' "$i"
		mariadb --socket="$(sock "$i")" -uroot -N -e \
			"SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size','wsrep_local_state_comment','wsrep_ready')" 2>/dev/null |
			tr '\t\n' '= ' || printf 'down'
		echo
	done
	;;
*) echo "usage: $0 start|stop|kill|restart|dsn|status DIR [N|I]" >&2; exit 2 ;;
esac
