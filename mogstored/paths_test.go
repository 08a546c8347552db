package mogstored

import "testing"

func TestParseNodePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want nodePath
		err  error
	}{
		{"/dev1/0/000/000/0000000001.fid", nodePath{devid: 1, rel: "dev1/0/000/000/0000000001.fid", sub: "0/000/000/0000000001.fid"}, nil},
		{"/dev12/", nodePath{devid: 12, rel: "dev12/", dir: true}, nil},
		{"/dev3", nodePath{devid: 3, rel: "dev3"}, nil},
		{"/dev1/test-write/test-write-7", nodePath{devid: 1, rel: "dev1/test-write/test-write-7", sub: "test-write/test-write-7"}, nil},
		{"/", nodePath{}, errNotDevice},
		{"/devx/a", nodePath{}, errNotDevice},
		{"/usage", nodePath{}, errNotDevice},
		{"/dev1/../etc", nodePath{}, errBadPath},
		{"/dev1/a..b", nodePath{}, errBadPath},
		{"/dev1//a", nodePath{}, errBadPath},
		{"/dev1/./a", nodePath{}, errBadPath},
		{"/dev1/a b", nodePath{}, errBadPath},
		{"/dev1/é", nodePath{}, errBadPath},
		{"dev1/a", nodePath{}, errBadPath},
		{"", nodePath{}, errBadPath},
	} {
		got, err := parseNodePath(tc.in)
		if got != tc.want || err != tc.err {
			t.Errorf("parseNodePath(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h          string
		size       int64
		start, end int64
		status     int
	}{
		{"", 10, 0, 0, 200},
		{"bytes=0-0", 10, 0, 0, 206},
		{"bytes=3-", 10, 3, 9, 206},
		{"bytes=3-100", 10, 3, 9, 206},
		{"bytes=-4", 10, 6, 9, 206},
		{"bytes=-40", 10, 0, 9, 206},
		{"bytes=-0", 10, 0, 0, 416},
		{"bytes=10-", 10, 0, 0, 416},
		{"bytes=0-", 0, 0, 0, 416},
		{"bytes=5-4", 10, 0, 0, 416},
		{"bytes=a-b", 10, 0, 0, 200},
		{"bytes=1-2,4-5", 10, 0, 0, 200},
		{"bytes=99999999999999999999-", 10, 0, 0, 200},
	} {
		s, e, st := parseRange(tc.h, tc.size)
		if st != tc.status || st == 206 && (s != tc.start || e != tc.end) {
			t.Errorf("parseRange(%q, %d) = %d-%d %d; want %d-%d %d", tc.h, tc.size, s, e, st, tc.start, tc.end, tc.status)
		}
	}
}
