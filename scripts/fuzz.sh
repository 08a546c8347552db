#!/usr/bin/env bash
# Runs every Go fuzz target of the module (go test -fuzz), one at a time,
# each for a bounded time, and prints one line per target with the number
# of executions and the outcome.
#
#   scripts/fuzz.sh                  # every target, FUZZTIME each (default 10s)
#   FUZZTIME=3s scripts/fuzz.sh      # CI: a few seconds per target
#   FUZZTIME=10m scripts/fuzz.sh     # long mode, for the figures in docs/reliability.md
#   scripts/fuzz.sh 'wire|acl'       # only targets whose "package.Target" matches
#
# FUZZTIME is anything go test's -fuzztime takes (a duration, or "Nx" for a
# number of executions). The seed corpora (testdata/fuzz/<Target>/ next to
# each target) run first, as with every go test. A failing input is saved
# by go test under the package's testdata/fuzz/<Target>/; the script then
# prints the go test output and exits 1 after running the remaining
# targets.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
filter=${1:-.}

# Every "func FuzzX(f *testing.F)" in a _test.go file, as "dir target".
mapfile -t targets < <(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+\(' \
	--exclude-dir=.git --exclude-dir=var --exclude-dir=mnt --exclude-dir=bin . |
	sed -E 's|^\./||; s|/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+)\($| \1|; s|^[^/ ]*_test\.go:func (Fuzz[A-Za-z0-9_]+)\($|. \1|' | sort -u)

# count_inputs DIR TARGET: the files of the target's corpus (0 if none).
count_inputs() {
	if [ -d "$1/testdata/fuzz/$2" ]; then
		find "$1/testdata/fuzz/$2" -type f | wc -l
	else
		echo 0
	fi
}

log=$(mktemp -d /tmp/mogfuzz.XXXXXX)
trap 'rm -rf "$log"' EXIT
failed=0 ran=0 total_execs=0
printf '%-28s %-24s %14s  %s\n' package target execs result
for t in "${targets[@]}"; do
	dir=${t% *} name=${t#* }
	pkg=$(basename "$dir")
	if ! [[ "$pkg.$name" =~ $filter ]]; then
		continue
	fi
	out="$log/$pkg.$name.log"
	start=$(date +%s)
	result=FAIL
	for attempt in 1 2; do
		corpus=$(count_inputs "$dir" "$name")
		if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=30s "./$dir" >"$out" 2>&1; then
			result=ok
			break
		fi
		# Go's fuzzing coordinator can report its own -fuzztime deadline as
		# a failure ("context deadline exceeded", no failing input written:
		# golang/go#75804, fixed in Go 1.27). Only that is tried again, once.
		if [ "$attempt" = 2 ] || ! grep -q 'context deadline exceeded' "$out" ||
			grep -q 'Failing input written' "$out" ||
			[ "$(count_inputs "$dir" "$name")" != "$corpus" ]; then
			break
		fi
		echo "$dir $name: the fuzzing engine's deadline race (golang/go#75804, no failing input); running it again"
	done
	if [ "$result" = FAIL ]; then
		failed=$((failed + 1))
	fi
	ran=$((ran + 1))
	execs=$(grep -oE 'execs: [0-9]+' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
	total_execs=$((total_execs + execs))
	printf '%-28s %-24s %14s  %s (%ss)\n' "$dir" "$name" "$execs" "$result" "$(($(date +%s) - start))"
	if [ "$result" = FAIL ]; then
		sed 's/^/    /' "$out" | tail -40
	fi
done
echo "$ran targets, $total_execs executions, $failed failed (FUZZTIME=$fuzztime per target)"
[ "$failed" -eq 0 ]
