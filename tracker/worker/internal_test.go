package worker

import "testing"

func TestDepthCheck(t *testing.T) {
	for _, tc := range []struct {
		depth, limit, max int
		fetch             bool
		newLimit          int
	}{
		{0, 100, 500, true, 150},  // empty: grow by 50 and fetch
		{0, 500, 500, true, 500},  // at the cap
		{69, 100, 500, true, 100}, // under 70%: fetch
		{70, 100, 500, false, 100},
		{300, 150, 500, false, 150},
	} {
		fetch, limit := depthCheck(tc.depth, tc.limit, tc.max)
		if fetch != tc.fetch || limit != tc.newLimit {
			t.Errorf("depthCheck(%d, %d, %d) = %v, %d; want %v, %d", tc.depth, tc.limit, tc.max, fetch, limit, tc.fetch, tc.newLimit)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	for fc, base := range map[int]int64{0: 15, 1: 60, 2: 300, 3: 1800, 7: 28800, 8: 86400, 200: 86400} {
		for range 50 {
			d := backoffDelay(fc)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("backoffDelay(%d) = %d, want %d ±20%%", fc, d, base)
			}
		}
	}
	if nextFailCount(255) != 255 || nextFailCount(3) != 4 {
		t.Errorf("failcount must stay within a TINYINT UNSIGNED")
	}
}

func TestSettingInt(t *testing.T) {
	for in, want := range map[string]int{"": 7, "0": 7, "x": 7, "12": 12} {
		if got := settingInt(in, 7); got != want {
			t.Errorf("settingInt(%q, 7) = %d, want %d", in, got, want)
		}
	}
}
