package acl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// maxEntries bounds a list, so that a configuration typo cannot make every
// connection walk a huge list.
const maxEntries = 1024

// List is a parsed allow-list. The zero value and the nil *List allow
// every client.
type List struct {
	nets []netip.Prefix
}

// Parse reads a list of networks. An empty list is an error: leaving the
// setting out is how the check is turned off.
func Parse(s string) (*List, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
	if len(fields) == 0 {
		return nil, errors.New("acl: empty allow-list (leave the setting out to allow every client)")
	}
	if len(fields) > maxEntries {
		return nil, fmt.Errorf("acl: %d networks in the allow-list, at most %d", len(fields), maxEntries)
	}
	l := &List{nets: make([]netip.Prefix, 0, len(fields))}
	for _, f := range fields {
		p, err := parseNet(f)
		if err != nil {
			return nil, err
		}
		l.nets = append(l.nets, p)
	}
	return l, nil
}

// parseNet reads one entry: "a.b.c.d/n", "x::y/n" or a single address.
func parseNet(f string) (netip.Prefix, error) {
	if strings.Contains(f, "/") {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("acl: %q is not a network (want e.g. 10.0.0.0/8): %w", f, err)
		}
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	a, err := netip.ParseAddr(f)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("acl: %q is not an IP address or network: %w", f, err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("acl: %q: zoned addresses are not supported", f)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// MustParse is Parse that panics on error, for fixed lists in tests.
func MustParse(s string) *List {
	l, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Enabled reports whether l restricts anything (it is not nil).
func (l *List) Enabled() bool { return l != nil && l.nets != nil }

// Allows reports whether a is inside one of the networks. An invalid
// address is allowed only by a list that allows everyone.
func (l *List) Allows(a netip.Addr) bool {
	if !l.Enabled() {
		return true
	}
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range l.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AllowsIP is Allows for a net.IP (nil or malformed: refused by an
// enabled list).
func (l *List) AllowsIP(ip net.IP) bool {
	if !l.Enabled() {
		return true
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	return l.Allows(a)
}

// AllowsAddr is Allows for the remote address of a connection. Addresses
// other than TCP and UDP ones (a Unix socket, say) carry no IP and are
// refused by an enabled list.
func (l *List) AllowsAddr(addr net.Addr) bool {
	if !l.Enabled() {
		return true
	}
	switch a := addr.(type) {
	case *net.TCPAddr:
		return l.AllowsIP(a.IP)
	case *net.UDPAddr:
		return l.AllowsIP(a.IP)
	}
	return false
}

// String returns the list in canonical form ("10.0.0.0/8,127.0.0.1/32"),
// or "" for a list that allows everyone. Parse(l.String()) gives an equal
// list.
func (l *List) String() string {
	if !l.Enabled() {
		return ""
	}
	parts := make([]string, len(l.nets))
	for i, p := range l.nets {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}
