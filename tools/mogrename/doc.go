// Package mogrename is the mogrename tool: it renames a key.
//
//	mogrename --trackers=host --domain=foo --old_key=/hello.jpg --new_key=/bye.jpg
//
// --class is accepted for compatibility and not used.
package mogrename
