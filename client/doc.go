// Package client is the Go client library of MogileFS: it talks to the
// trackers over their line protocol (package internal/wire) and to the
// storage nodes over HTTP, as the original MogileFS::Client does.
//
// A Client serves one domain through a list of trackers. Every call takes a
// context.Context and is bounded by the client's timeout.
//
// # Trackers
//
// Each tracker has a small pool of persistent connections, with one request
// in flight per connection. A connection on which anything went wrong — a
// timeout, a cancelled context, a broken or malformed reply — is closed and
// never reused, so a late reply can never be taken as the answer to a later
// request. A tracker that cannot be reached (or times out) is skipped for
// DeadRetry (5 s by default, as the original) and the next one is tried.
// Once a request has been sent, only read-only commands are retried on
// another tracker; a command that changes state is never sent twice, except
// when a pooled connection turns out to have been closed by the tracker
// before it answered anything (a restarted tracker).
//
// # Files
//
// Store streams an io.Reader to a storage node: create_open (multi_dest)
// gives up to three destinations, the data is PUT to the first one (with
// Content-Length when the size is known, chunked otherwise), and
// create_close commits it. A PUT that cannot reach its destination before a
// single byte was sent moves on to the next destination; any other failure
// returns an error and commits nothing. For classes whose hash type is MD5
// or SHA-1 the digest is computed while streaming and sent with
// create_close (checksum=MD5:<hex>, checksumverify=1), so the tracker
// checks it.
//
// Get and Open read a file with failover across its paths; a read that
// breaks in the middle resumes on the next path with an HTTP Range request.
// Open returns a File whose paths are cached, so ReadAt and OpenRange cost
// one HTTP request each and no tracker round trip.
//
// # Path cache
//
// The client keeps what it learned about a key — its fid, length and
// paths — for Config.PathCacheTTL (2 s; negative turns it off), bounded
// by Config.PathCacheEntries with the oldest entries evicted first. Its
// own uploads, get_paths and /_key answers fill it; Get, Open and
// OpenRange of a cached key ask no tracker. Delete, Rename and Store of
// the key through this client drop it, and so does a read whose cached
// path answers 404, 410, a 5xx or refuses the connection; a read whose
// cached paths all failed asks again, once. Within the TTL a reader may
// see the previous content of a key another client changed, the bound a
// get_paths through a tracker's fid cache has too (docs/fastpath.md §5).
//
// # Fast path
//
// When the trackers answer fastpath_info and storage nodes answer
// GET /_fastpath (docs/fastpath.md), Store and StoreWith with the zero
// Commit send an upload of known size up to Config.FastPathMax (64 KiB)
// as one PUT /_put to a node, which commits it; a node that cannot take
// it (503, 500, no answer) sends the upload the three-step way, and a
// refusal of the domain, class or key is the tracker's error. A key not
// in the path cache is read with one GET /_key (Open: HEAD /_key) on a
// node, which serves its copy or redirects to one. Config.FastPath
// turns this off, or makes it mandatory ("only"). Stats counts which
// path served each upload and read.
//
// # Errors
//
// A tracker's ERR reply is returned as a *wire.Error carrying its code;
// match it with errors.Is(err, client.ErrUnknownKey) or helpers such as
// IsUnknownKey. Transport failures wrap ErrTimeout, ErrNoTracker and the
// like, and storage node failures are *PathError values.
package client
