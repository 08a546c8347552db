// Package quickstart holds the end-to-end test of the README's quick start:
// `make run` from a fresh clone, run in a private network namespace so that
// its fixed ports (7001, 7500, 7080) are free and nothing outside is
// touched. It has no code of its own.
package quickstart
