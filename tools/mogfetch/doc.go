// Package mogfetch is the mogfetch tool: it writes the content of a key to
// a local file (or standard output).
//
//	mogfetch --trackers=host --domain=foo --key=/hello.jpg --file=./output
//	mogfetch ... --key=/hello.jpg --file=- > output
//
// The copies are tried in the tracker's order; a copy that fails in the
// middle is resumed on the next one. A local file is written to a
// temporary file next to it, synced and renamed into place only when
// complete (through a symbolic link, keeping an existing file's
// permissions), so a failed fetch (storage down, disk full) never leaves a
// half-written file behind.
//
// Exit status: 0 when the content was written, also when some copies
// failed and another served it (each failed copy is then named in a
// "Warning:" line on stderr; the original exits 1 in that case although
// the file was fetched); 1 when no copy could be read ("Got errors while
// trying to fetch: <url>: <status>; ..."); the errno of a local write
// failure (28 for a full disk); 255 for tracker errors (unknown key or
// domain, no tracker reachable).
package mogfetch
