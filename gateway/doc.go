// Package gateway is mogproxy's HTTP front end to MogileFS: it maps URLs to
// (domain, key) pairs and serves them over plain HTTP, as people used to do
// with nginx-mogilefs-module.
//
//	GET, HEAD  /<domain>/<key>   the file, streamed from its first healthy copy
//	PUT        /<domain>/<key>   store the request body (create_open, PUT, create_close)
//	DELETE     /<domain>/<key>   delete the key
//
// # Reading
//
// A GET looks the key up with the trackers (get_paths and file_info, asked
// together), keeps the answer for a short time (Config.CacheTTL; this
// gateway's own PUT and DELETE forget it at once), and streams the file
// from the first copy that answers, failing over to the next one when a
// storage node cannot be reached, answers an error, or breaks off in the
// middle (the transfer resumes there with a Range request). Range,
// If-Range, If-Match and If-None-Match follow net/http's ServeContent. The
// ETag is the file's checksum when its class keeps one, else the fid (a
// fid's content never changes); Content-Type comes from the key's
// extension. An unknown domain or key is 404; a file none of whose copies
// can be read is 503.
//
// In X-Accel-Redirect mode (Config.AccelRedirect) the gateway does the
// lookup, answers conditional and unsatisfiable requests itself, and
// otherwise hands the transfer to nginx with
//
//	X-Accel-Redirect: <AccelRedirect>/<host:port>/<path on the node>
//	X-Reproxy-URL:    <url1> <url2> ...
//
// so that nginx serves the bytes straight from the storage node (see
// docs/mogproxy.md for the nginx configuration, failover included).
//
// # Writing
//
// A PUT streams the body to a storage node as it arrives and commits it
// only when every byte arrived and the tracker's create_close succeeded; a
// body cut off half-way commits nothing. The class comes from the
// X-MogileFS-Class header, the "class" query parameter, or
// Config.DefaultClass.
//
// # URL layout
//
// Config.Prefix is the location the gateway serves (default "/"). After it
// comes the domain, unless Config.Domain fixes one, and then the key:
// either the whole rest of the path (KeyFromPath) or only its last segment
// (KeyFromLastSegment, like an nginx "location ~ ([^/]+)$" rule). Each
// segment is percent-decoded, so any key, including one with "/", "%",
// "?" or bytes that are not UTF-8, round-trips through its escaped URL.
package gateway
