package mogstats

import (
	"bytes"
	"database/sql"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		nexttry int64
		want    string
	}{
		{0, "newfile"}, {1, "redo"}, {5, "unknown"}, {endOfTime, "manual"}, {1999, "overdue"}, {2001, "deferred"},
	} {
		if got := status(tc.nexttry, 2000, "newfile"); got != tc.want {
			t.Errorf("status(%d) = %q, want %q", tc.nexttry, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	var b bytes.Buffer
	Format(&b, map[string]bool{"devices": true, "fids": true, "files": true, "replication-queue": true}, &Stats{
		Devices:     []DeviceStat{{DevID: 1, Host: "store1", Status: "alive", Files: 12}},
		MaxFID:      sql.NullInt64{Int64: 42, Valid: true},
		Files:       []FileStat{{Domain: "files", Class: "default", Files: 3, Bytes: 3 << 20, FullBytes: 6 << 20}},
		ToReplicate: map[string]int64{"newfile": 2, "overdue": 1},
	})
	want := "\nStatistics for devices...\n" +
		"  device     host                   files     status\n" +
		"  ---------- ---------------- ------------ ----------\n" +
		"  dev1       store1             12      alive\n" +
		"  ---------- ---------------- ------------ ----------\n" +
		"\nStatistics for file ids...\n  Max file id: 42\n" +
		"\nStatistics for files...\n" +
		"  domain               class           files    size (m)  fullsize (m)\n" +
		"  -------------------- ----------- ---------- ----------- -------------\n" +
		"  files                default             3           3             6\n" +
		"  -------------------- ----------- ---------- ----------- -------------\n" +
		"\nStatistics for replication queue...\n" +
		"  status                      count\n" +
		"  -------------------- ------------\n" +
		"  newfile                         2\n" +
		"  overdue                         1\n" +
		"  -------------------- ------------\n" +
		"\ndone\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	Format(&b, map[string]bool{"domains": true, "fids": true}, &Stats{Domains: []FileStat{{Domain: "d", Class: "c", Files: 1}}})
	if !strings.Contains(b.String(), "Statistics for domains...") || !strings.Contains(b.String(), "  Max file id: none\n") {
		t.Fatalf("domains/fids:\n%s", b.String())
	}
}
