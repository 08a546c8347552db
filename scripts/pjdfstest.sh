#!/usr/bin/env bash
# Runs pjdfstest on a real mogfs mount, as CI does (mogfs's TestPJDFSTest
# under the race detector: a SQLite tracker, two storage nodes, a mount
# with --allow-other), and prints the per-group table of passed and planned
# subtests. It needs root. The test fails when a subtest fails that
# mogfs/testdata/pjdfstest-expected-failures.txt does not list.
#
#   scripts/pjdfstest.sh              # the whole suite
#   scripts/pjdfstest.sh --update     # and rewrite the expected-failure list
#   scripts/pjdfstest.sh --tap DIR    # and keep every file's TAP output in DIR
#   MOGFS_PJDFSTEST_RUN=tests/chmod/ scripts/pjdfstest.sh   # some files only
#
# MOGFS_PJDFSTEST_JOBS (files at once, default 4) and
# MOGFS_PJDFSTEST_FILE_TIMEOUT (default 4m) pass through to the test.
set -euo pipefail
cd "$(dirname "$0")/.."
while [ $# -gt 0 ]; do
	case "$1" in
	--update) export MOGFS_PJDFSTEST_UPDATE=1 ;;
	--tap)
		[ $# -ge 2 ] || { echo "--tap needs a directory" >&2; exit 2; }
		MOGFS_PJDFSTEST_TAP_DIR=$(realpath -m "$2")
		export MOGFS_PJDFSTEST_TAP_DIR
		shift
		;;
	*) echo "usage: $0 [--update] [--tap DIR]" >&2; exit 2 ;;
	esac
	shift
done
if [ "$(id -u)" -ne 0 ]; then
	echo "pjdfstest needs root (it switches users and changes owners)" >&2
	exit 1
fi
report=$(mktemp /tmp/pjdfstest-report.XXXXXX)
log=$(mktemp /tmp/pjdfstest-log.XXXXXX)
trap 'rm -f "$report"' EXIT
status=0
MOGFS_PJDFSTEST_REPORT=$report go test -race -count=1 -timeout 30m -v -run '^TestPJDFSTest$' ./mogfs/ >"$log" 2>&1 || status=$?
if [ -s "$report" ]; then
	cat "$report"
else
	echo "no report was written: see $log" >&2
fi
if [ $status -ne 0 ]; then
	echo "TestPJDFSTest failed (status $status); its output is in $log:" >&2
	grep -E -A40 -- '--- FAIL|regressions|SKIPPING|cannot run' "$log" | head -80 >&2 || true
else
	grep -E 'now pass|slowest|rewrote|did not finish' "$log" | sed 's/^ *//' >&2 || true
	rm -f "$log"
fi
exit $status
