//go:build !race

package mogtest

const raceEnabled = false
