package nodeproto

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The side channel (mogstored's management port, default 7501) is a line
// protocol. A request is one line ending in "\n" (a "\r" before it is
// dropped); replies end in "\r\n", except the watch stream, whose lines end
// in "\n". Requests:
//
//	size <uri>                  → "<uri> <bytes>", or "<uri> -1" when missing
//	MD5 <uri>[ <reason>]        → "<uri> MD5=<lower-case hex>", or "<uri> MD5=-1"
//	SHA-1 <uri>[ <reason>]      → "<uri> SHA-1=<hex>", or "<uri> SHA-1=-1"
//	watch                       → a stream of utilization blocks (see WatchBlock)
//	anything else               → a management command (shutdown, ...)
//
// A uri containing ".." is answered "ERROR: uri invalid (contains ..)"; a
// read error during a digest "ERR read <uri> at <offset> failed". The reason
// "fsck" marks a low-priority digest: the node runs those one at a time per
// filesystem. Management replies are their lines joined by "\r\n" plus a
// final "\r\n" (an empty line when the command prints nothing); an unknown
// command gets "ERROR: unknown command: <word>".

// DefaultSideChannelPort is the management port of a storage node, the
// tracker's mogstored_stream_port.
const DefaultSideChannelPort = 7501

// Digest algorithms the side channel computes, named as on the wire.
const (
	AlgMD5  = "MD5"
	AlgSHA1 = "SHA-1"
)

// Kinds of side-channel requests.
const (
	CmdSize   = "size"
	CmdDigest = "digest"
	CmdWatch  = "watch"
	CmdManage = "manage"
)

// Command is a parsed side-channel request line.
type Command struct {
	Kind   string // CmdSize, CmdDigest, CmdWatch or CmdManage
	Alg    string // for CmdDigest: AlgMD5 or AlgSHA1
	URI    string // for CmdSize and CmdDigest
	Reason string // for CmdDigest: "" or e.g. "fsck"
	Line   string // the whole line without its line end (for CmdManage)
}

var (
	sizeRe   = regexp.MustCompile(`^size (\S+)$`)
	watchRe  = regexp.MustCompile(`(?i)^watch$`)
	digestRe = regexp.MustCompile(`^(MD5|SHA-1) (\S+)(?: (\w+))?$`)
)

// ErrURIDotDot is the error for a uri containing "..".
var ErrURIDotDot = errors.New("uri invalid (contains ..)")

// ParseCommand parses one request line (without or with its "\r\n").
// A size or digest request whose uri contains ".." parses, and also returns
// ErrURIDotDot; FormatError(ErrURIDotDot) is the reply.
func ParseCommand(line string) (Command, error) {
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if m := sizeRe.FindStringSubmatch(line); m != nil {
		return Command{Kind: CmdSize, URI: m[1], Line: line}, checkURI(m[1])
	}
	if watchRe.MatchString(line) {
		return Command{Kind: CmdWatch, Line: line}, nil
	}
	if m := digestRe.FindStringSubmatch(line); m != nil {
		return Command{Kind: CmdDigest, Alg: m[1], URI: m[2], Reason: m[3], Line: line}, checkURI(m[2])
	}
	return Command{Kind: CmdManage, Line: line}, nil
}

func checkURI(uri string) error {
	if strings.Contains(uri, "..") {
		return ErrURIDotDot
	}
	return nil
}

// FormatError returns the "ERROR: <text>\r\n" reply.
func FormatError(err error) string { return "ERROR: " + err.Error() + "\r\n" }

// FormatSizeRequest returns the request line for the size of uri.
func FormatSizeRequest(uri string) string { return "size " + uri + "\r\n" }

// FormatSizeReply returns the reply to a size request; size < 0 means missing.
func FormatSizeReply(uri string, size int64) string {
	if size < 0 {
		size = -1
	}
	return uri + " " + strconv.FormatInt(size, 10) + "\r\n"
}

// FormatDigestRequest returns the request line for a digest of uri; reason
// is "" or a word such as "fsck".
func FormatDigestRequest(alg, uri, reason string) string {
	if reason != "" {
		return alg + " " + uri + " " + reason + "\r\n"
	}
	return alg + " " + uri + "\r\n"
}

// FormatDigestReply returns "<uri> <alg>=<hex>\r\n"; an empty hex means the
// file could not be opened and gives "<uri> <alg>=-1".
func FormatDigestReply(alg, uri, hex string) string {
	if hex == "" {
		hex = "-1"
	}
	return uri + " " + alg + "=" + hex + "\r\n"
}

// FormatReadError returns the reply for a read error at offset.
func FormatReadError(uri string, offset int64) string {
	return fmt.Sprintf("ERR read %s at %d failed\r\n", uri, offset)
}

// ErrMissing is returned by the reply parsers when the node says the file
// does not exist (-1).
var ErrMissing = errors.New("file missing on storage node")

// ParseSizeReply parses the reply to "size <uri>".
func ParseSizeReply(uri, line string) (int64, error) {
	line = strings.TrimRight(line, "\r\n")
	rest, ok := strings.CutPrefix(line, uri+" ")
	if !ok {
		return 0, fmt.Errorf("side channel: unexpected size reply %q", line)
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("side channel: unexpected size reply %q", line)
	}
	if n < 0 {
		return 0, ErrMissing
	}
	return n, nil
}

// ParseDigestReply parses the reply to a digest request for alg and uri and
// returns the lower-case hex digest. A "-1" answer gives ErrMissing; an
// "ERROR ..." answer (a node that does not know the command) or any other
// line gives an error that quotes it.
func ParseDigestReply(alg, uri, line string) (string, error) {
	line = strings.TrimRight(line, "\r\n")
	rest, ok := strings.CutPrefix(line, uri+" "+alg+"=")
	if !ok {
		return "", fmt.Errorf("side channel: %s %s failed: %q", alg, uri, line)
	}
	if rest == "-1" {
		return "", ErrMissing
	}
	if len(rest) < 32 || len(rest) > 128 || strings.Trim(rest, "0123456789abcdef") != "" {
		return "", fmt.Errorf("side channel: %s %s: bad digest %q", alg, uri, rest)
	}
	return rest, nil
}

// WatchBlock is one sample of the watch stream: device id → utilization
// in percent as iostat prints it ("52.55"), or "-" when unknown.
type WatchBlock map[int]string

// Format returns the block as sent: "<devid>\t<util>\n" per device in
// ascending devid order, then ".\n".
func (w WatchBlock) Format() string {
	ids := make([]int, 0, len(w))
	for id := range w {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(strconv.Itoa(id))
		b.WriteByte('\t')
		b.WriteString(w[id])
		b.WriteByte('\n')
	}
	b.WriteString(".\n")
	return b.String()
}

// ParseWatchBlock parses the lines of one block, without the closing ".",
// as the tracker does: each non-empty line is "<devid><space><util>".
func ParseWatchBlock(lines []string) (WatchBlock, error) {
	w := WatchBlock{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("watch: bad line %q", l)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("watch: bad line %q", l)
		}
		w[id] = f[1]
	}
	return w, nil
}
