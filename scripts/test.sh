#!/usr/bin/env bash
# Runs every test: installs what the tests need, starts a private MariaDB
# on 127.0.0.1 (unless MOGTEST_MYSQL_DSN names one already), runs go vet and
# the whole suite with the race detector, and stops MariaDB again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ -z "${MOGTEST_MYSQL_DSN:-}" ]; then
	state=$(mktemp -d /tmp/mogtest-mariadb.XXXXXX)
	trap 'scripts/mariadb.sh stop "$state"; rm -rf "$state"' EXIT
	MOGTEST_MYSQL_DSN=$(scripts/mariadb.sh start "$state")
	export MOGTEST_MYSQL_DSN
fi
echo "MariaDB for tests: $MOGTEST_MYSQL_DSN" >&2
go vet ./...
go test -race -count=1 -timeout 20m ./...
# Every fuzz target for a short bounded time (the seed corpora already ran
# above as ordinary tests); FUZZTIME=10m scripts/fuzz.sh is the long mode.
FUZZTIME=${FUZZTIME:-2s} scripts/fuzz.sh
