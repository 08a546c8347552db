package mogfs

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/mogilefs-go/mogilefs/internal/contentcache"
	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// blockSize is st_blksize: tools such as cp size their I/O after it.
const blockSize = 1 << 20

// Config configures a filesystem.
type Config struct {
	// Space is the cluster's namespace; Spool stages writes.
	Space *keyspace.Space
	Spool *keyspace.Spool
	// Domain is the domain shown at the root; "" shows every domain as a
	// directory of the root.
	Domain string
	// Class is the class of new files ("" = the domain's default).
	Class string
	// TTL is how long the kernel caches attributes and entries.
	TTL time.Duration
	// OpenCache is how long the mount goes on using what it last learned
	// from the tracker of a file (its version and attributes, or its own
	// commit) for the lookups, opens and stats that follow, without asking
	// again. 0 keeps close-to-open: every open asks (docs/mogfs.md §3).
	OpenCache time.Duration
	// UID and GID own every file.
	UID, GID uint32
	// ReadOnly refuses every change with EROFS.
	ReadOnly bool
	// Logger gets one line per failure; nil discards.
	Logger *slog.Logger
	// Metrics, if set, counts the FUSE requests and commits (NewMetrics).
	Metrics *Metrics
	// MaxNodes caps the nodes kept for the kernel (nodecache.go):
	// 0 is DefaultMaxNodes, a negative number leaves it to the kernel.
	MaxNodes int
	// ContentCache is the bytes of small files' committed content kept
	// to answer reads of them without a GET (internal/contentcache): 0 is
	// DefaultContentCache, a negative number keeps none.
	ContentCache int64
}

// FS is a mounted view of a MogileFS cluster.
type FS struct {
	cfg   Config
	space *keyspace.Space
	log   *slog.Logger
	root  fs.InodeEmbedder

	statMu sync.Mutex
	statAt time.Time
	usage  keyspace.Usage

	classes classGuard // classes.go
	nodes   *nodeCache // nodecache.go
	// content keeps the small files this mount committed, by fid, so
	// that reading one back costs no GET (the kernel's page cache holds
	// no page of a write-only descriptor's writes, nor a partial last
	// page); the open's lookup still decides which fid is read.
	content *contentcache.Cache
	// due are the empty files whose commit waits for their release
	// (due.go).
	due dueSet
}

// DefaultContentCache is the bytes of small files' content a mount keeps
// after committing them (Config.ContentCache).
const DefaultContentCache = 64 << 20

// New returns the filesystem of cfg.
func New(cfg Config) (*FS, error) {
	if cfg.Space == nil || cfg.Spool == nil {
		return nil, errors.New("mogfs: Space and Spool are required")
	}
	f := &FS{cfg: cfg, space: cfg.Space, log: cfg.Logger}
	maxNodes := cfg.MaxNodes
	switch {
	case maxNodes == 0:
		maxNodes = DefaultMaxNodes
	case maxNodes < 0:
		maxNodes = 0
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.nodes = newNodeCache(maxNodes, f.log)
	contentLimit := cfg.ContentCache
	if contentLimit == 0 {
		contentLimit = DefaultContentCache
	}
	f.content = contentcache.New(contentLimit, contentLimit)
	cfg.Metrics.watchNodes(f.nodes)
	if cfg.Domain == "" {
		f.root = &rootNode{fsys: f}
	} else {
		f.root = &dirNode{fsys: f, attr: keyspace.Attr{Mtime: f.space.Epoch, Mode: keyspace.DefaultDirMode}, at: farFuture}
	}
	return f, nil
}

// farFuture marks attributes that never need refreshing.
var farFuture = time.Unix(1<<40, 0)

// Root returns the root node, for fs.Mount.
func (f *FS) Root() fs.InodeEmbedder { return f.root }

// Options returns the go-fuse options of the filesystem: cache timeouts
// and the mount options tuned for throughput. mo carries the caller's
// mount options (name, allow_other, debug, ...).
func (f *FS) Options(mo fuse.MountOptions) *fs.Options {
	ttl := f.cfg.TTL
	mo.MaxWrite = 1 << 20
	mo.MaxReadAhead = 1 << 20
	if mo.MaxBackground == 0 {
		mo.MaxBackground = 64
	}
	mo.ExtraCapabilities |= fuse.CAP_ATOMIC_O_TRUNC
	// The page cache is kept or dropped at open, by fid (fileNode.Open),
	// not on every change of mtime the kernel sees: the mount's own
	// writes change mtime while the cache holds exactly what it wrote.
	mo.ExplicitDataCacheControl = true
	// Security labels and ACLs reach Getxattr, which answers EOPNOTSUPP
	// (go-fuse's IgnoreSecurityLabels would answer ENODATA, which tools
	// such as ls ask again for every file).
	mo.IgnoreSecurityLabels = false
	if mo.Name == "" {
		mo.Name = "mogfs"
	}
	hasDP := false
	for _, o := range mo.Options {
		hasDP = hasDP || o == "default_permissions"
	}
	if !hasDP {
		mo.Options = append(mo.Options, "default_permissions")
	}
	if f.cfg.ReadOnly {
		mo.Options = append(mo.Options, "ro")
	}
	// No negative entries: a name another client creates must be found
	// by the next open here (close-to-open, docs/mogfs.md §3), and the
	// kernel opens a name it believes absent without asking.
	var noNegative time.Duration
	o := &fs.Options{
		MountOptions:    mo,
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &noNegative,
		UID:             f.cfg.UID,
		GID:             f.cfg.GID,
		NullPermissions: true,
	}
	if mo.Debug {
		o.Logger = log.New(os.Stderr, "mogfs: ", 0)
	}
	return o
}

// Mount mounts f on dir and returns once the kernel answers requests.
func (f *FS) Mount(dir string, mo fuse.MountOptions) (*fuse.Server, error) {
	srv, err := mount(dir, f.root, f.Options(mo), f.cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	return srv, nil
}

// loc is where a node lives: a domain and a key (a directory's key has no
// trailing "/"). top marks a domain's top directory, whose key is "" and
// prefix "" (the empty segment at the top, keys "/...", also has key ""
// but prefix "/").
type loc struct {
	domain, key string
	top         bool
}

// prefix is the key prefix of the keys inside the directory at l.
func (l loc) prefix() string {
	if l.top {
		return ""
	}
	return l.key + "/"
}

// locate finds where a node is from its place in the tree. A node that is
// no longer in the tree (unlinked while open) gives ENOENT.
func (f *FS) locate(in *fs.Inode) (loc, syscall.Errno) {
	var names []string
	for cur := in; !cur.IsRoot(); {
		name, parent := cur.Parent()
		if parent == nil {
			return loc{}, syscall.ENOENT
		}
		names = append(names, name)
		cur = parent
	}
	var l loc
	if f.cfg.Domain != "" {
		l.domain = f.cfg.Domain
	} else {
		if len(names) == 0 {
			return loc{}, syscall.EPERM // the list of domains itself
		}
		d, _, err := keyspace.DecodeName(names[len(names)-1])
		if err != nil {
			return loc{}, syscall.EINVAL
		}
		l.domain = d
		names = names[:len(names)-1]
	}
	l.top = len(names) == 0
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		seg, _, err := keyspace.DecodeName(names[i])
		if err != nil {
			return loc{}, syscall.EINVAL
		}
		b.WriteString(seg)
		if i > 0 {
			b.WriteByte('/')
		}
	}
	l.key = b.String()
	return l, 0
}

// child returns the location of name in the directory d, and whether the
// name is the file-only form.
func (f *FS) child(d *fs.Inode, name string) (loc, bool, syscall.Errno) {
	l, errno := f.locate(d)
	if errno != 0 {
		return loc{}, false, errno
	}
	seg, fileOnly, err := keyspace.DecodeName(name)
	if err != nil {
		return loc{}, false, syscall.EINVAL
	}
	if len(name) > keyspace.MaxName {
		return loc{}, false, syscall.ENAMETOOLONG
	}
	if l.top && seg == keyspace.HiddenDir {
		return loc{}, false, syscall.EPERM // the surrogates of long keys
	}
	k := l.prefix() + seg
	if keyspace.IsLong(k) && len(k) > f.space.MaxKey(context.Background()) {
		return loc{}, false, syscall.ENAMETOOLONG
	}
	return loc{domain: l.domain, key: k}, fileOnly, 0
}

// bg detaches a request's context from the kernel's interrupts (Go
// programs are interrupted all the time by their runtime's SIGURG): an
// operation that changes the cluster runs to its end or to the client's
// own timeouts, never half way.
func bg(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

func (f *FS) setOwner(a *fuse.Attr) {
	a.Owner = fuse.Owner{Uid: f.cfg.UID, Gid: f.cfg.GID}
	a.Blksize = blockSize
}

func setTimes(a *fuse.Attr, t time.Time) {
	a.SetTimes(&t, &t, &t)
}

// fillAttr writes the attributes a to out: the mode (with type typ when
// a records none), the owner (the mount's when a records none), the
// device number, and the times (atime and ctime are mtime when a records
// none).
func (f *FS) fillAttr(out *fuse.Attr, a keyspace.Attr, typ uint32) {
	mode := a.Mode
	if mode&keyspace.ModeType == 0 {
		mode |= typ
	}
	out.Mode = mode
	f.setOwner(out)
	if a.HasUID {
		out.Uid = a.UID
	}
	if a.HasGID {
		out.Gid = a.GID
	}
	out.Rdev = a.Rdev
	atime, ctime := a.Atime, a.Ctime
	if atime.IsZero() {
		atime = a.Mtime
	}
	if ctime.IsZero() {
		ctime = a.Mtime
	}
	out.SetTimes(&atime, &a.Mtime, &ctime)
}

// fileType is the type of a key that is not a directory: a regular file
// unless its attributes say otherwise.
func fileType(a keyspace.Attr) uint32 {
	if t := a.Type(); t != 0 && t != syscall.S_IFDIR {
		return t
	}
	return syscall.S_IFREG
}

// setAttrUpdate is what a SETATTR request changes besides the size: mode
// bits, owner, times; every change sets ctime.
func setAttrUpdate(in *fuse.SetAttrIn) keyspace.AttrUpdate {
	var u keyspace.AttrUpdate
	if m, ok := in.GetMode(); ok {
		m &= 0o7777
		u.Mode = &m
	}
	if uid, ok := in.GetUID(); ok {
		u.UID = &uid
	}
	if gid, ok := in.GetGID(); ok {
		u.GID = &gid
	}
	if t, ok := in.GetMTime(); ok {
		u.Mtime = &t
	}
	if t, ok := in.GetATime(); ok {
		u.Atime = &t
	}
	if !u.Empty() {
		now := time.Now()
		u.Ctime = &now
	}
	return u
}

// creator is the owner a new entry in the directory with attributes dir
// records for the caller of ctx: nothing for the mount's own user and
// group (they show as whoever mounts, as keys of original clients do),
// else the caller's uid and gid — or the directory's group when it has
// the set-group-ID bit, which a new directory then inherits too.
func (f *FS) creator(ctx context.Context, dir keyspace.Attr, isDir bool) (u keyspace.AttrUpdate, sgid uint32) {
	uid, gid := f.cfg.UID, f.cfg.GID
	if c, ok := fuse.FromContext(ctx); ok {
		uid, gid = c.Uid, c.Gid
	}
	if dir.Mode&syscall.S_ISGID != 0 {
		gid = f.cfg.GID
		if dir.HasGID {
			gid = dir.GID
		}
		if isDir {
			sgid = syscall.S_ISGID
		}
	}
	if uid != f.cfg.UID {
		u.UID = &uid
	}
	if gid != f.cfg.GID {
		u.GID = &gid
	}
	return u, sgid
}

// statfs fills out from the device totals, asked at most every few
// seconds.
func (f *FS) statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	f.statMu.Lock()
	defer f.statMu.Unlock()
	if time.Since(f.statAt) > 5*time.Second {
		u, err := f.space.Backend().Usage(bg(ctx))
		if err != nil {
			return toErrno(f.log, "statfs", err)
		}
		f.usage, f.statAt = u, time.Now()
	}
	const bs = 4096
	out.Bsize = bs
	out.Frsize = bs
	out.Blocks = uint64(f.usage.TotalBytes / bs)
	out.Bfree = uint64(f.usage.FreeBytes / bs)
	out.Bavail = out.Bfree
	out.Files = 1 << 40
	out.Ffree = 1 << 40
	out.NameLen = keyspace.MaxName
	return 0
}
