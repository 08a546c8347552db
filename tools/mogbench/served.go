package mogbench

import (
	"fmt"
	"strings"

	"github.com/mogilefs-go/mogilefs/client"
)

// Served counts which of the client library's paths served a phase: how
// uploads were committed and how reads found their paths.
type Served struct {
	FastPathPuts      uint64 `json:"fastpath_puts"`
	ThreeStepPuts     uint64 `json:"three_step_puts"`
	FastPathFallbacks uint64 `json:"fastpath_fallbacks"`
	CacheHits         uint64 `json:"path_cache_hits"`
	KeyReads          uint64 `json:"key_reads"`
	KeyReadFallbacks  uint64 `json:"key_read_fallbacks"`
	PathLookups       uint64 `json:"get_paths"`
	// TrackerCommands is the number of tracker requests per command.
	TrackerCommands map[string]uint64 `json:"tracker_commands,omitempty"`
}

// served is what the client did between two readings of its counters.
func served(a, b client.Stats) *Served {
	s := &Served{
		FastPathPuts:      b.FastPathPuts - a.FastPathPuts,
		ThreeStepPuts:     b.ThreeStepPuts - a.ThreeStepPuts,
		FastPathFallbacks: b.FastPathFallbacks - a.FastPathFallbacks,
		CacheHits:         b.PathCacheHits - a.PathCacheHits,
		KeyReads:          b.KeyReads - a.KeyReads,
		KeyReadFallbacks:  b.KeyReadFallbacks - a.KeyReadFallbacks,
		PathLookups:       b.PathLookups - a.PathLookups,
	}
	for cmd, n := range b.TrackerCommands {
		if d := n - a.TrackerCommands[cmd]; d > 0 {
			if s.TrackerCommands == nil {
				s.TrackerCommands = map[string]uint64{}
			}
			s.TrackerCommands[cmd] = d
		}
	}
	return s
}

// String renders the counts that are not zero, e.g. "served: writes
// fast path 1000; reads path cache 120, /_key 880; tracker commands 1".
func (s *Served) String() string {
	var writes, reads []string
	add := func(to *[]string, name string, n uint64) {
		if n > 0 {
			*to = append(*to, fmt.Sprintf("%s %d", name, n))
		}
	}
	add(&writes, "fast path", s.FastPathPuts)
	add(&writes, "three-step", s.ThreeStepPuts)
	add(&writes, "fast path fallbacks", s.FastPathFallbacks)
	add(&reads, "path cache", s.CacheHits)
	add(&reads, "/_key", s.KeyReads)
	add(&reads, "/_key fallbacks", s.KeyReadFallbacks)
	add(&reads, "get_paths", s.PathLookups)
	var total uint64
	for _, n := range s.TrackerCommands {
		total += n
	}
	parts := []string{}
	if len(writes) > 0 {
		parts = append(parts, "writes "+strings.Join(writes, ", "))
	}
	if len(reads) > 0 {
		parts = append(parts, "reads "+strings.Join(reads, ", "))
	}
	parts = append(parts, fmt.Sprintf("tracker commands %d", total))
	return "served: " + strings.Join(parts, "; ")
}
