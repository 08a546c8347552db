package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// namePrefix is added to policy names written without a "::".
const namePrefix = "MogileFS::ReplicationPolicy::"

// maxDepth bounds Union nesting so hostile input cannot recurse without end.
const maxDepth = 64

// Parse parses a class's replpolicy string the way the original does:
// optional whitespace, a name of word characters and colons (a name without
// "::" gets the MogileFS::ReplicationPolicy:: prefix), then the policy's
// arguments. MultipleHosts and MultipleDevices take "( N )" with N optional
// digits; Union takes "(" then member policies, each optionally followed by
// a comma, up to ")". Anything after a complete policy is ignored, as in
// the original. The empty string (a NULL column) and "0" (false to Perl)
// mean the default, MultipleHosts(). Error texts are the original's,
// without Perl's source locations.
func Parse(s string) (Policy, error) {
	if s == "" || s == "0" {
		return MultipleHosts{}, nil
	}
	p := &parser{rest: s}
	return p.policy(0)
}

type parser struct{ rest string }

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	}
	return false
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipSpace returns s without leading whitespace.
func skipSpace(s string) string {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return s[i:]
}

// eat consumes `\s* c \s*` from the front of p.rest and reports whether it
// was there; p.rest is unchanged if not.
func (p *parser) eat(c byte) bool {
	s := skipSpace(p.rest)
	if s == "" || s[0] != c {
		return false
	}
	p.rest = skipSpace(s[1:])
	return true
}

func (p *parser) policy(depth int) (Policy, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("Failed to parse policy string: nested deeper than %d levels", maxDepth)
	}
	s := skipSpace(p.rest)
	i := 0
	for i < len(s) && (isWord(s[i]) || s[i] == ':') {
		i++
	}
	if i == 0 {
		return nil, fmt.Errorf("Failed to parse policy string: %s", p.rest)
	}
	name := s[:i]
	p.rest = s[i:]
	if !strings.Contains(name, ":") {
		name = namePrefix + name
	}
	switch name {
	case namePrefix + "MultipleHosts":
		n, err := p.count(name)
		if err != nil {
			return nil, err
		}
		return MultipleHosts{Min: n}, nil
	case namePrefix + "MultipleDevices":
		n, err := p.count(name)
		if err != nil {
			return nil, err
		}
		return MultipleDevices{Min: n}, nil
	case namePrefix + "Union":
		return p.union(depth)
	}
	return nil, fmt.Errorf("Failed to load replication policy class %s: no such policy", name)
}

// count parses `\s*\(\s*(\d*)\s*\)\s*`.
func (p *parser) count(class string) (int, error) {
	bad := fmt.Errorf("%s failed to parse args: %s", class, p.rest)
	s := skipSpace(p.rest)
	if s == "" || s[0] != '(' {
		return 0, bad
	}
	s = skipSpace(s[1:])
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	digits := s[:i]
	s = skipSpace(s[i:])
	if s == "" || s[0] != ')' {
		return 0, bad
	}
	n := 0
	if digits != "" {
		v, err := strconv.Atoi(digits)
		if err != nil || v > 1<<20 {
			return 0, fmt.Errorf("%s failed to parse args: count %s is out of range", class, digits)
		}
		n = v
	}
	p.rest = skipSpace(s[1:])
	return n, nil
}

// union parses the members of a Union: the opening parenthesis is optional
// and commas between members are optional, as in the original.
func (p *parser) union(depth int) (Policy, error) {
	p.eat('(')
	var u Union
	for {
		m, err := p.policy(depth + 1)
		if err != nil {
			return nil, err
		}
		u.Policies = append(u.Policies, m)
		p.eat(',')
		if p.eat(')') {
			return u, nil
		}
	}
}
