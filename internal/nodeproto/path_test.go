package nodeproto

import "testing"

func TestFIDPath(t *testing.T) {
	for _, tc := range []struct {
		dev  int
		fid  int64
		want string
	}{
		{2, 1, "/dev2/0/000/000/0000000001.fid"},
		{1, 4222, "/dev1/0/000/004/0000004222.fid"},
		{2, 148056, "/dev2/0/000/148/0000148056.fid"},
		{7, 12345678901, "/dev7/1/234/567/12345678901.fid"},
	} {
		if got := FIDPath(tc.dev, tc.fid); got != tc.want {
			t.Errorf("FIDPath(%d, %d) = %q, want %q", tc.dev, tc.fid, got, tc.want)
		}
	}
	d := FIDDirs(2, 148056)
	if d != [3]string{"/dev2/0/", "/dev2/0/000/", "/dev2/0/000/148/"} {
		t.Errorf("FIDDirs = %q", d)
	}
}
