package mountcmd

import "testing"

func TestMetricsListenOption(t *testing.T) {
	env := testEnv(t, map[string]string{"home": "trackers = home:7001\n"})
	for _, args := range [][]string{
		{"--metrics-listen=127.0.0.1:9102", "/mnt"},
		{"t:7001", "/mnt", "-o", "rw,metrics_listen=127.0.0.1:9102,_netdev"},
	} {
		o, err := parse(env, args, false)
		if err != nil || o.MetricsListen != "127.0.0.1:9102" {
			t.Errorf("%v: %q %v", args, o.MetricsListen, err)
		}
	}
	if _, err := parse(env, []string{"/mnt", "-o", "metrics_listen"}, false); err == nil {
		t.Error("-o metrics_listen without a value accepted")
	}
}
