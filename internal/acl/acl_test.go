package acl

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParseAndMatch(t *testing.T) {
	l, err := Parse("127.0.0.1/32, 10.0.0.0/8\t192.168.1.7  2001:db8::/32,::1 ::ffff:172.16.0.0/108,10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.String(), "127.0.0.1/32,10.0.0.0/8,192.168.1.7/32,2001:db8::/32,::1/128,172.16.0.0/12,10.0.0.0/8"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	cases := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.2", false},
		{"10.255.0.1", true},
		{"11.0.0.1", false},
		{"192.168.1.7", true},
		{"192.168.1.8", false},
		{"::ffff:10.9.9.9", true}, // an IPv4 client on an IPv6 socket
		{"::ffff:11.9.9.9", false},
		{"2001:db8:1::5", true},
		{"2001:db9::5", false},
		{"::1", true},
		{"::2", false},
		{"172.31.255.255", true},
		{"172.32.0.0", false},
		{"fe80::1%eth0", false},
	}
	for _, c := range cases {
		a := netip.MustParseAddr(c.addr)
		if got := l.Allows(a); got != c.want {
			t.Errorf("Allows(%s) = %v, want %v", c.addr, got, c.want)
		}
		ip := net.ParseIP(strings.Split(c.addr, "%")[0])
		if got := l.AllowsAddr(&net.TCPAddr{IP: ip, Port: 1}); got != c.want && !strings.Contains(c.addr, "%") {
			t.Errorf("AllowsAddr(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
	if l.AllowsIP(nil) || l.AllowsIP(net.IP{1, 2, 3}) {
		t.Error("a malformed IP was allowed")
	}
	if l.AllowsAddr(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}) {
		t.Error("a Unix socket peer was allowed by an enabled list")
	}
	if l.Allows(netip.Addr{}) {
		t.Error("the invalid address was allowed")
	}
}

func TestDisabledAllowsAll(t *testing.T) {
	var l *List
	if l.Enabled() || !l.Allows(netip.MustParseAddr("203.0.113.9")) || !l.AllowsIP(nil) ||
		!l.AllowsAddr(&net.UnixAddr{}) || l.String() != "" {
		t.Error("the nil list restricts something")
	}
	var z List
	if z.Enabled() || !z.Allows(netip.MustParseAddr("203.0.113.9")) {
		t.Error("the zero list restricts something")
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"", " , ,", "10.0.0.0/33", "10.0.0/8", "localhost", "10.0.0.1/8/8", "::1/129",
		"fe80::1%eth0", "1.2.3.4/-1", "1.2.3.4/ 8", "10.0.0.0/8;rm",
		strings.Repeat("10.0.0.1,", maxEntries+1),
	} {
		if l, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", s, l)
		} else if !strings.HasPrefix(err.Error(), "acl: ") {
			t.Errorf("Parse(%q): error %q does not say where it comes from", s, err)
		}
	}
}

// FuzzParse: Parse never panics; what it accepts prints in a form that
// parses to a list deciding every address the same way.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"127.0.0.1/32,10.0.0.0/8", "::1", "::ffff:10.0.0.0/104", "1.2.3.4/0", "", "a,b"} {
		f.Add(s, []byte{10, 1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, s string, ip []byte) {
		l, err := Parse(s)
		if err != nil {
			if l != nil {
				t.Fatalf("Parse(%q) returned a list and an error", s)
			}
			return
		}
		l2, err := Parse(l.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, l.String(), err)
		}
		if l2.String() != l.String() {
			t.Fatalf("String not stable: %q then %q", l.String(), l2.String())
		}
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			if l.AllowsIP(ip) {
				t.Fatalf("malformed IP %v allowed", ip)
			}
			return
		}
		if l.Allows(a) != l2.Allows(a) || l.Allows(a) != l.AllowsIP(net.IP(ip)) {
			t.Fatalf("%q and its canonical form disagree on %v", s, a)
		}
	})
}
