package mogfs

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

// classRecheck is how often, at most, an open for writing asks the
// tracker again whether a class found missing exists again.
const classRecheck = 3 * time.Second

type classKey struct{ domain, class string }

// classGuard remembers the classes of new files that the tracker does not
// know (a commit got unreg_class: an admin deleted the class while the
// filesystem was mounted). Opens for writing with such a class fail at
// once with EIO, instead of every close failing after the data was
// written: shells ignore close errors. The zero value is ready.
type classGuard struct {
	mu      sync.Mutex
	missing map[classKey]time.Time // when the class was last found missing
}

// classChecker is implemented by backends that can tell whether a class
// exists (ClientBackend). Without it, a class found missing is tried again
// by the next open after classRecheck.
type classChecker interface {
	ClassExists(ctx context.Context, domain, class string) (bool, error)
}

// ClassExists reports whether class exists in domain (get_domains).
func (b *ClientBackend) ClassExists(ctx context.Context, domain, class string) (bool, error) {
	ds, err := b.c.Domains(ctx)
	if err != nil {
		return false, classify("get_domains", err)
	}
	return DomainHasClass(ds, domain, class), nil
}

// DomainHasClass reports whether the get_domains listing ds has class in
// domain ("" is the default class, which every domain has).
func DomainHasClass(ds []client.DomainInfo, domain, class string) bool {
	i := slices.IndexFunc(ds, func(d client.DomainInfo) bool { return d.Name == domain })
	if i < 0 {
		return false
	}
	if class == "" || class == "default" {
		return true
	}
	return slices.ContainsFunc(ds[i].Classes, func(c client.ClassInfo) bool { return c.Name == class })
}

func className(class string) string {
	if class == "" {
		return "default"
	}
	return class
}

// MarkClassMissing records that class does not exist in domain: opens
// for writing of files of that class fail with EIO until a check (at most
// every classRecheck) finds it. The mount command marks, at mount time,
// the domains that lack the --class of a mount of every domain.
func (f *FS) MarkClassMissing(domain, class string) { f.classes.mark(domain, class) }

// mark records class as missing now and reports whether it was already.
func (g *classGuard) mark(domain, class string) (already bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.missing == nil {
		g.missing = map[classKey]time.Time{}
	}
	k := classKey{domain, class}
	_, already = g.missing[k]
	g.missing[k] = time.Now()
	return already
}

// noteCommitError marks the class missing when a commit failed because
// the tracker does not know it, and says so in the log once.
func (f *FS) noteCommitError(domain, class string, err error) {
	if client.Code(err) != "unreg_class" {
		return
	}
	if !f.classes.mark(domain, class) {
		f.log.Error("the class of new files does not exist (deleted while mounted?): opens for writing fail with EIO until it exists again",
			"class", className(class), "domain", domain)
	}
}

// checkClass is called by every open for writing (and create): EIO if
// class is known to be missing from domain and a check, if one is due,
// does not find it again.
func (f *FS) checkClass(ctx context.Context, domain, class string) syscall.Errno {
	if class == "" || class == "default" {
		return 0
	}
	k := classKey{domain, class}
	f.classes.mu.Lock()
	at, missing := f.classes.missing[k]
	due := missing && time.Since(at) >= classRecheck
	if due {
		// One open checks; the others meanwhile fail as before.
		f.classes.missing[k] = time.Now()
	}
	f.classes.mu.Unlock()
	if !missing {
		return 0
	}
	if !due {
		return syscall.EIO
	}
	cc, ok := f.space.Backend().(classChecker)
	if ok {
		exists, err := cc.ClassExists(bg(ctx), domain, class)
		if err != nil {
			f.log.Warn("cannot check whether the class exists again", "class", class, "domain", domain, "err", err)
			return syscall.EIO
		}
		if !exists {
			return syscall.EIO
		}
	}
	f.classes.mu.Lock()
	delete(f.classes.missing, k)
	f.classes.mu.Unlock()
	if ok {
		f.log.Info("the class of new files exists again: writes resume", "class", class, "domain", domain)
	}
	return 0
}

// checkWriteClass checks the class a commit of n would name.
func (n *fileNode) checkWriteClass(ctx context.Context) syscall.Errno {
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return 0 // the open itself reports it
	}
	n.mu.Lock()
	class := n.info.Class
	n.mu.Unlock()
	if class == "" || class == "default" {
		class = n.fsys.cfg.Class
	}
	return n.fsys.checkClass(ctx, l.domain, class)
}
