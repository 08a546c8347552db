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
// # Errors
//
// A tracker's ERR reply is returned as a *wire.Error carrying its code;
// match it with errors.Is(err, client.ErrUnknownKey) or helpers such as
// IsUnknownKey. Transport failures wrap ErrTimeout, ErrNoTracker and the
// like, and storage node failures are *PathError values.
package client
