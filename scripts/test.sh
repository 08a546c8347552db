#!/usr/bin/env bash
# Runs every test: checks that go.mod and go.sum are tidy, installs what the
# tests need, starts a private MariaDB on 127.0.0.1 (unless MOGTEST_MYSQL_DSN
# names one already), runs go vet and the whole suite with the race detector,
# and stops MariaDB again.
set -euo pipefail
cd "$(dirname "$0")/.."
# go.mod must list what the code imports, direct dependencies as direct;
# `go mod tidy -diff` prints what tidy would change and fails if anything.
echo "== checking that go.mod is tidy" >&2
if ! tidy=$(go mod tidy -diff 2>&1); then
	printf '%s\n' "$tidy" >&2
	if grep -q '^diff current/go\.' <<<"$tidy"; then
		echo "go.mod/go.sum are not tidy (diff above): run 'go mod tidy' and commit the result" >&2
	else
		echo "go mod tidy -diff failed (above)" >&2
	fi
	exit 1
fi
scripts/deps.sh
if [ -z "${MOGTEST_MYSQL_DSN:-}" ]; then
	state=$(mktemp -d /tmp/mogtest-mariadb.XXXXXX)
	trap 'scripts/mariadb.sh stop "$state"; rm -rf "$state"' EXIT
	MOGTEST_MYSQL_DSN=$(scripts/mariadb.sh start "$state")
	export MOGTEST_MYSQL_DSN
fi
echo "MariaDB for tests: $MOGTEST_MYSQL_DSN" >&2
echo "== go vet ./... (compiles every package first: minutes on a fresh machine)" >&2
go vet ./...
# go test prints results in package order, so one slow package hides the
# rest: -json through scripts/testprogress prints each package as it starts
# and ends. Compiling the race-enabled test binaries comes first.
echo "== go test -race ./... (a line per package as it starts and ends; failures with their output)" >&2
go build -o "${TMPDIR:-/tmp}/mogtest-testprogress" ./scripts/testprogress
summary=$(mktemp)
set +e
go test -race -count=1 -timeout 20m -json ./... 2>&1 | "${TMPDIR:-/tmp}/mogtest-testprogress" | tee "$summary"
status=("${PIPESTATUS[@]}")
set -e
rm -f "${TMPDIR:-/tmp}/mogtest-testprogress"
closing=$(tail -n 1 "$summary")
rm -f "$summary"
if [ "${status[0]}" -ne 0 ] || [ "${status[1]}" -ne 0 ]; then
	echo "go test failed (exit ${status[0]})" >&2
	exit 1
fi
echo "== fuzz targets for ${FUZZTIME:-2s} each" >&2
# Every fuzz target for a short bounded time (the seed corpora already ran
# above as ordinary tests); FUZZTIME=10m scripts/fuzz.sh is the long mode.
FUZZTIME=${FUZZTIME:-2s} scripts/fuzz.sh
# The suite's count of tests, last, where CI reads it.
echo "$closing"
