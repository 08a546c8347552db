package tracker

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// FuzzRequestLines feeds arbitrary bytes through the connection's line
// reader and the parsing every line gets (admin "!" split, command split,
// argument decoding). Nothing may panic; every line comes back without its
// line end and within the length limit (longer ones are reported, not
// returned); the reader consumes the whole input.
func FuzzRequestLines(f *testing.F) {
	for _, s := range []string{
		"noop\r\n", "get_paths domain=d&key=k\r\nnoop\n\n\r\n", "!stats\r\n!want 3 replicate\r\n", "!\r\n! x\r\n",
		"\x00\xff\xfe garbage\r\n", "create_open domain=%zz\r\n", "x" + strings.Repeat("y", 70000) + "\r\nnoop\r\n",
		"no line end", "\r\r\r\n", "  \tNOOP  a=b\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{br: bufio.NewReaderSize(bytes.NewReader(data), 4096)}
		lines := 0
		for {
			line, tooLong, err := c.readLine()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("readLine: %v", err)
				}
				break
			}
			lines++
			if tooLong {
				if line != "" {
					t.Fatal("a too-long line came back with text")
				}
				continue
			}
			if len(line) > maxLine+1 || strings.HasSuffix(line, "\n") {
				t.Fatalf("line of %d bytes ending %q", len(line), line[max(0, len(line)-2):])
			}
			if line == "" {
				continue
			}
			if line[0] == '!' {
				if cmd, args, ok := parseBang(line); ok && (cmd == "" || strings.ContainsAny(cmd, " \t") || strings.HasPrefix(args, " ")) {
					t.Fatalf("parseBang(%q) = %q, %q", line, cmd, args)
				}
			}
			cmd, raw, ok := splitCommand(line)
			if !ok {
				continue
			}
			if cmd != strings.ToLower(cmd) {
				t.Fatalf("command %q not lower-cased", cmd)
			}
			for i := 0; i < len(cmd); i++ {
				if !isWordByte(cmd[i]) {
					t.Fatalf("command %q from %q holds %q", cmd, line, cmd[i])
				}
			}
			if _, err := wire.DecodeArgs(raw); err != nil && !errors.Is(err, wire.ErrBadEscape) {
				t.Fatalf("DecodeArgs(%q): %v", raw, err)
			}
		}
		if c.br.Buffered() != 0 {
			t.Fatalf("%d bytes left unread", c.br.Buffered())
		}
		if n := bytes.Count(data, []byte("\n")); lines != n && lines != n+1 {
			t.Fatalf("%d lines read from input with %d newlines", lines, n)
		}
	})
}
