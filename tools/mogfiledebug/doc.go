// Package mogfiledebug is the mogfiledebug tool: it dumps everything the
// tracker knows about a file (file row, tempfile and queue rows, devices,
// checksum) and checks each copy on the storage nodes.
//
//	mogfiledebug --trackers=host --domain=foo --key=/hello.jpg [--paths=print|stat|fetch]
//	mogfiledebug --trackers=host --fid=123456
//
// --paths=fetch (the default) downloads every copy and compares MD5 sums
// and lengths; stat only sends HEAD requests; print only lists the URLs.
package mogfiledebug
