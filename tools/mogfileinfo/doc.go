// Package mogfileinfo is the mogfileinfo tool: it prints a key's metadata
// and the URLs of its copies.
//
//	mogfileinfo --trackers=host --domain=foo --key=/hello.jpg
//
// Output, as the original:
//
//   - file: /hello.jpg
//     class:              default
//     devcount:                    2
//     ...
//   - http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid
package mogfileinfo
