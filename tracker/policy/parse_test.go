package policy

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "MultipleHosts()"},
		{"0", "MultipleHosts()"},
		{"MultipleHosts()", "MultipleHosts()"},
		{"MultipleHosts(5)", "MultipleHosts(5)"},
		{"MultipleHosts(0)", "MultipleHosts()"},
		{"  MultipleHosts ( 3 ) ", "MultipleHosts(3)"},
		{"MultipleHosts(\n3\n)", "MultipleHosts(3)"},
		{"MultipleDevices(2)", "MultipleDevices(2)"},
		{"MogileFS::ReplicationPolicy::MultipleHosts(2)", "MultipleHosts(2)"},
		{"MogileFS::ReplicationPolicy::MultipleDevices()", "MultipleDevices()"},
		// Trailing text after a complete policy is ignored, as in the original.
		{"MultipleHosts(2) and more", "MultipleHosts(2)"},
		{"Union(MultipleHosts(2), MultipleDevices(3))", "Union(MultipleHosts(2), MultipleDevices(3))"},
		// The strings of the original t/replpolicy-parsing.t.
		{"Union(MultipleHosts(5), MultipleHosts(2))", "Union(MultipleHosts(5), MultipleHosts(2))"},
		{"Union(MultipleHosts(5), MultipleHosts(2), )", "Union(MultipleHosts(5), MultipleHosts(2))"},
		{"Union( MultipleHosts(5), MultipleHosts(2) )", "Union(MultipleHosts(5), MultipleHosts(2))"},
		{"Union(MultipleHosts(  5),MultipleHosts(2))", "Union(MultipleHosts(5), MultipleHosts(2))"},
		{"Union ( MultipleHosts ( 5 ) , MultipleHosts ( 2 ) )", "Union(MultipleHosts(5), MultipleHosts(2))"},
		{"Union ( MultipleHosts ( 5 ) ,\n MultipleHosts ( 2 ) )", "Union(MultipleHosts(5), MultipleHosts(2))"},
		{"Union ( MultipleHosts ( 5 ) , \n MultipleHosts ( 2 ), )", "Union(MultipleHosts(5), MultipleHosts(2))"},
		// The original's parser makes the commas (and the opening
		// parenthesis) optional.
		{"Union(MultipleHosts(5) MultipleDevices(2))", "Union(MultipleHosts(5), MultipleDevices(2))"},
		{"Union MultipleHosts(5))", "Union(MultipleHosts(5))"},
		{"Union(Union(MultipleHosts(1)), MultipleDevices())", "Union(Union(MultipleHosts(1)), MultipleDevices())"},
	} {
		p, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
		}
		// The canonical form parses back to itself.
		p2, err := Parse(p.String())
		if err != nil || p2.String() != p.String() {
			t.Errorf("Parse(%q) does not round-trip: %v, %v", p.String(), p2, err)
		}
	}
}

func TestParseMin(t *testing.T) {
	p, err := Parse("MultipleHosts(5)")
	if err != nil {
		t.Fatal(err)
	}
	if mh, ok := p.(MultipleHosts); !ok || mh.Min != 5 {
		t.Errorf("Parse(MultipleHosts(5)) = %#v, want MultipleHosts{Min: 5}", p)
	}
	u, err := Parse("Union(MultipleHosts(5), MultipleHosts(2))")
	if err != nil {
		t.Fatal(err)
	}
	un, ok := u.(Union)
	if !ok || len(un.Policies) != 2 {
		t.Fatalf("got %#v, want a Union of 2", u)
	}
	for i, want := range []int{5, 2} {
		if mh, ok := un.Policies[i].(MultipleHosts); !ok || mh.Min != want {
			t.Errorf("member %d = %#v, want MultipleHosts(%d)", i, un.Policies[i], want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, wantPrefix string }{
		{"   ", "Failed to parse policy string:"},
		{"(3)", "Failed to parse policy string: (3)"},
		{"MultipleHosts", "MogileFS::ReplicationPolicy::MultipleHosts failed to parse args: "},
		{"MultipleHosts(x)", "MogileFS::ReplicationPolicy::MultipleHosts failed to parse args: (x)"},
		{"MultipleHosts(-1)", "MogileFS::ReplicationPolicy::MultipleHosts failed to parse args: (-1)"},
		{"MultipleHosts(3", "MogileFS::ReplicationPolicy::MultipleHosts failed to parse args: (3"},
		{"MultipleDevices[2]", "MogileFS::ReplicationPolicy::MultipleDevices failed to parse args: [2]"},
		{"MultipleHosts(99999999999999999999)", "MogileFS::ReplicationPolicy::MultipleHosts failed to parse args: count"},
		{"HashRing(2)", "Failed to load replication policy class MogileFS::ReplicationPolicy::HashRing"},
		{"MogileFS::ReplicationPolicy::MultipleNetworks(2)", "Failed to load replication policy class MogileFS::ReplicationPolicy::MultipleNetworks"},
		{"Union()", "Failed to parse policy string: )"},
		{"Union(MultipleHosts(2)", "Failed to parse policy string: "},
		{"Union(MultipleHosts(2), Bogus())", "Failed to load replication policy class MogileFS::ReplicationPolicy::Bogus"},
		{strings.Repeat("Union(", 200) + "MultipleHosts()" + strings.Repeat(")", 200), "Failed to parse policy string: nested"},
	} {
		p, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want an error", tc.in, p)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.wantPrefix) {
			t.Errorf("Parse(%q) error %q, want prefix %q", tc.in, err, tc.wantPrefix)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "MultipleHosts(2)", "Union(MultipleHosts(5), MultipleDevices(2), )", "Union(("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		p2, err := Parse(p.String())
		if err != nil || p2.String() != p.String() {
			t.Fatalf("Parse(%q) = %s does not round-trip: %v", s, p, err)
		}
	})
}
