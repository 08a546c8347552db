// Package wire is the codec of the MogileFS tracker line protocol, shared by
// the tracker (server side) and the client library.
//
// A request is one line, "<command> <args>\r\n", where command is a word
// (lower-cased by the server) and args is a URL-encoded "k=v&k=v" string that
// may be empty. A line starting with "!" is an admin command instead (see the
// tracker package). A reply is one line: "OK <args>\r\n" (with no args, "OK "
// and its trailing space) or "ERR <code> <text>\r\n", where text is the
// URL-encoded error text as one token.
//
// Encoding keeps the bytes [A-Za-z0-9_,-./\: ] as they are (space then
// becomes "+") and writes every other byte as %XX with upper-case hex, so
// paths such as "http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid" travel
// unescaped, as the nginx MogileFS module expects. Decoding splits on "&",
// drops empty pairs, splits each pair at the first "=", turns "+" into a
// space and decodes %XX in either case. A name given twice has its values
// joined with a NUL byte, as the original tracker does.
//
// If a request carries callid=X, the reply echoes it: as an extra OK argument,
// or appended to an ERR line after the text.
package wire
