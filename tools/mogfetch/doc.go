// Package mogfetch is the mogfetch tool: it writes the content of a key to
// a local file (or standard output).
//
//	mogfetch --trackers=host --domain=foo --key=/hello.jpg --file=./output
//	mogfetch ... --key=/hello.jpg --file=- > output
//
// The copies are tried in the tracker's order; a copy that fails in the
// middle is resumed on the next one. A local file is written to a
// temporary file next to it, synced and renamed into place only when
// complete, so a failed fetch (storage down, disk full) never leaves a
// half-written file behind.
package mogfetch
