#!/usr/bin/env bash
# Starts or stops a private MariaDB server for the tests: data in a temp
# directory, listening on 127.0.0.1 on a free port, never the system one.
#
#   scripts/mariadb.sh start DIR   # prints the DSN for MOGTEST_MYSQL_DSN
#   scripts/mariadb.sh stop DIR
#
# BUFFER_POOL (128M) sizes InnoDB's buffer pool: the tests need little; a
# benchmark of a big database wants it to hold the tables (docs/scale.md).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?state directory}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/dsn" ] && [ -S "$dir/mysqld.sock" ] && mariadb-admin --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1; then
		cat "$dir/dsn"; exit 0
	fi
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		awk 'BEGIN{srand(); print 20000+int(rand()*20000)}')
	user=$(id -un)
	if [ ! -d "$dir/data/mysql" ]; then
		mariadb-install-db --no-defaults --datadir="$dir/data" --user="$user" \
			--auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
			{ cat "$dir/install.log" >&2; exit 1; }
	fi
	mkdir -p "$dir/tmp"
	mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --tmpdir="$dir/tmp" \
		--pid-file="$dir/mysqld.pid" --port="$port" --bind-address=127.0.0.1 \
		--user="$user" --skip-name-resolve --innodb-buffer-pool-size="${BUFFER_POOL:-128M}" \
		--innodb-flush-log-at-trx-commit=2 --max-connections=1000 \
		--log-error="$dir/error.log" >/dev/null 2>&1 &
	for _ in $(seq 1 300); do
		if mariadb-admin --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1; then
			echo "root@tcp(127.0.0.1:$port)/" >"$dir/dsn"
			cat "$dir/dsn"; exit 0
		fi
		sleep 0.1
	done
	echo "mariadb did not start; see $dir/error.log" >&2
	tail -20 "$dir/error.log" >&2 || true
	exit 1
	;;
stop)
	if [ -f "$dir/mysqld.pid" ]; then
		pid=$(cat "$dir/mysqld.pid")
		kill "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$dir/dsn"
	;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
