package mogfs

import (
	"context"
	"sync"
)

// maxDue bounds the empty files whose commit waits for their release:
// past it, close(2) commits an empty file itself.
const maxDue = 64

// dueSet holds the files whose empty content Flush left to their last
// release (fileNode.Flush). The kernel sends a release after close(2)
// has returned, and drops the releases it has not sent yet when the
// mount goes away (umount right after the last close): the files still
// here then are committed by CommitDue.
type dueSet struct {
	mu sync.Mutex
	m  map[*fileNode]struct{}
}

// add records n; false when maxDue files already wait.
func (s *dueSet) add(n *fileNode) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[n]; ok {
		return true
	}
	if len(s.m) >= maxDue {
		return false
	}
	if s.m == nil {
		s.m = map[*fileNode]struct{}{}
	}
	s.m[n] = struct{}{}
	return true
}

func (s *dueSet) remove(n *fileNode) {
	s.mu.Lock()
	delete(s.m, n)
	s.mu.Unlock()
}

func (s *dueSet) take() []*fileNode {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*fileNode, 0, len(s.m))
	for n := range s.m {
		out = append(out, n)
	}
	s.m = nil
	return out
}

// CommitDue commits the empty files whose releases never came: call it
// once the kernel has let go of the mount (the server's Wait returned).
// It returns how many were committed and how many failed (each failure
// is logged).
func (f *FS) CommitDue(ctx context.Context) (committed, failed int) {
	for _, n := range f.due.take() {
		b := n.buffer()
		if b == nil || !b.Dirty() || n.isOrphan() {
			continue
		}
		if errno := n.commit(ctx); errno != 0 {
			failed++
			continue
		}
		committed++
	}
	return committed, failed
}
