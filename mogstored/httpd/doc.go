// Package httpd is the small HTTP/1.x server under mogstored: enough of
// HTTP/1.0 and HTTP/1.1 for a storage node (persistent connections,
// pipelining, Content-Length and chunked request bodies, Expect:
// 100-continue) and nothing else, built to serve small files with as few
// allocations and system calls as possible. A response carries its whole
// head and, for small files, its body in one write; larger files go out
// with sendfile(2).
//
// Why not net/http: on a two-core machine net/http serves 4 KiB files at
// about 60% of nginx's rate, mostly per-request allocation and header map
// work that a storage node does not need; this server gets past nginx.
//
// What it enforces:
//   - a request line and headers must arrive within HeaderTimeout (an idle
//     keep-alive connection may wait IdleTimeout for its next request);
//   - request line plus headers are at most MaxHeaderBytes (431 if not);
//   - a request body must make progress at least every BodyTimeout, a
//     response write at least every WriteTimeout;
//   - ambiguous framing is refused: Content-Length together with
//     Transfer-Encoding, conflicting Content-Length values, any transfer
//     coding other than a single "chunked" (400 or 501), obsolete header
//     folding (400);
//   - a connection whose request body the handler did not read to the end
//     is closed after the response, so body bytes are never taken for the
//     next request;
//   - at most MaxConns connections are served at once; further clients wait
//     in the listen backlog.
//
// The Request and ResponseWriter a handler gets are reused for the next
// request on the connection: a handler must not keep them.
package httpd
