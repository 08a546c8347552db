// Package mogupload is the mogupload tool: it stores a local file (or
// standard input) under a key.
//
//	mogupload --trackers=host --domain=foo [--class=bar] --key=/hello.jpg --file=./hello.jpg
//	echo "why hello" | mogupload ... --key=world --file=-
//
// A file is streamed with its size announced; standard input is streamed
// chunked when its size is not known. Nothing is committed unless the
// whole content reached a storage node and the tracker accepted it.
package mogupload
