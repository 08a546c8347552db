package mogfs

import (
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// The mount's metrics (NewMetrics, Config.Metrics):
//
//	mogilefs_mogfs_ops_total{op,result}          counter (result ok or the errno, e.g. ENOENT)
//	mogilefs_mogfs_op_duration_seconds{op}       histogram
//	mogilefs_mogfs_read_bytes_total              counter (bytes returned by read)
//	mogilefs_mogfs_written_bytes_total           counter (bytes taken by write)
//	mogilefs_mogfs_commits_total                 counter (uploads of changed files)
//	mogilefs_mogfs_commit_failures_total         counter (failed uploads: EIO to close/fsync)
//	mogilefs_mogfs_spool_bytes                   gauge (staged bytes reserved in the write spool)
//	mogilefs_mogfs_spool_limit_bytes             gauge
//	mogilefs_mogfs_nodes{type}                   gauge (file and dir nodes kept for the kernel)
//	mogilefs_mogfs_node_limit                    gauge (the cap on nodes, 0: none)
//	mogilefs_mogfs_node_evictions_total          counter (nodes the kernel was asked to forget)
//
// and, from mogfs (the command), those of its client
// (mountcmd/metrics.go): mogilefs_mogfs_uploads_total{path} (fastpath or
// three_step), mogilefs_mogfs_fastpath_fallbacks_total and
// mogilefs_mogfs_tracker_requests_total{command}.
//
// op is the FUSE request (lookup, getattr, read, write, create, flush,
// ...); they are counted where the kernel's requests enter go-fuse, so
// they include requests answered by go-fuse itself. forget is not
// counted.

// opID indexes the pre-resolved series of a FUSE op.
type opID int

// Metrics are a mount's metrics. Each op's "ok" series and histogram
// are resolved once: a request costs a clock read, a counter increment
// and a histogram observation.
type Metrics struct {
	ops                     *prometheus.CounterVec
	ok                      [numOps]prometheus.Counter
	lat                     [numOps]prometheus.Observer
	readBytes, writtenBytes prometheus.Counter
	commits, commitFailures prometheus.Counter
	nodes                   atomic.Pointer[nodeCache] // set by New
}

// NewMetrics registers a mount's metrics on reg; spool, if not nil, is
// the write spool whose use is reported.
func NewMetrics(reg prometheus.Registerer, spool *keyspace.Spool) (*Metrics, error) {
	const sub = "mogfs"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: sub, Name: name, Help: help})
	}
	m := &Metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: sub,
			Name: "ops_total", Help: "FUSE requests answered, by op and result (ok or the errno)."}, []string{"op", "result"}),
		readBytes:      counter("read_bytes_total", "Bytes returned to read requests."),
		writtenBytes:   counter("written_bytes_total", "Bytes accepted from write requests (staged in the spool)."),
		commits:        counter("commits_total", "Changed files uploaded to the cluster (at close or fsync)."),
		commitFailures: counter("commit_failures_total", "Uploads that failed (close or fsync got EIO; the key kept its previous content)."),
	}
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metrics.Namespace, Subsystem: sub,
		Name: "op_duration_seconds", Help: "Time to answer a FUSE request, by op.", Buckets: metrics.LatencyBuckets}, []string{"op"})
	for i, name := range opNames {
		m.ok[i] = m.ops.WithLabelValues(name, "ok")
		m.lat[i] = lat.WithLabelValues(name)
	}
	cs := []prometheus.Collector{m.ops, lat, m.readBytes, m.writtenBytes, m.commits, m.commitFailures}
	if spool != nil {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: sub, Name: "spool_bytes",
				Help: "Bytes reserved in the write spool by files being written."}, func() float64 { return float64(spool.Used()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: sub, Name: "spool_limit_bytes",
				Help: "Bound of the write spool (--cache-size)."}, func() float64 { return float64(spool.Limit()) }))
	}
	cs = append(cs, m.nodeCollectors()...)
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// nodeCollectors report the node cache of the filesystem made with m
// (nothing before New).
func (m *Metrics) nodeCollectors() []prometheus.Collector {
	with := func(f func(c *nodeCache) float64) func() float64 {
		return func() float64 {
			if c := m.nodes.Load(); c != nil {
				return f(c)
			}
			return 0
		}
	}
	help := "Nodes kept for the kernel (names it has looked up and not forgotten), by type."
	gauge := func(typ string, f func(c *nodeCache) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: "mogfs", Name: "nodes",
			Help: help, ConstLabels: prometheus.Labels{"type": typ}}, with(f))
	}
	return []prometheus.Collector{
		gauge("file", func(c *nodeCache) float64 { f, _ := c.counts(); return float64(f) }),
		gauge("dir", func(c *nodeCache) float64 { _, d := c.counts(); return float64(d) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: "mogfs", Name: "node_limit",
			Help: "Cap on nodes (--max-nodes; 0: none, the kernel alone decides)."}, with(func(c *nodeCache) float64 { return float64(c.max) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "mogfs", Name: "node_evictions_total",
			Help: "Nodes the kernel was asked to forget to keep under the cap."}, with(func(c *nodeCache) float64 { return float64(c.evictions.Load()) })),
	}
}

// watchNodes has m report c.
func (m *Metrics) watchNodes(c *nodeCache) {
	if m != nil {
		m.nodes.Store(c)
	}
}

// op counts one request.
// done counts an operation that started at start and returned st, and
// returns st. (Called as done(id, time.Now(), call(...)): the arguments
// are evaluated left to right, so the clock is read before the call.)
func (m *Metrics) done(id opID, start time.Time, st fuse.Status) fuse.Status {
	m.op(id, st, start)
	return st
}

func (m *Metrics) op(id opID, st fuse.Status, start time.Time) {
	m.lat[id].Observe(time.Since(start).Seconds())
	if st == fuse.OK {
		m.ok[id].Inc()
		return
	}
	m.ops.WithLabelValues(opNames[id], errnoName(st)).Inc()
}

// errnoName names a status as its errno constant ("ENOENT"), or by
// number for one without a name.
func errnoName(st fuse.Status) string {
	if n := unix.ErrnoName(syscall.Errno(st)); n != "" {
		return n
	}
	return "errno_" + strconv.Itoa(int(st))
}

// commit counts the outcome of one commit.
func (m *Metrics) commit(committed bool, err error) {
	if m == nil {
		return
	}
	switch {
	case err != nil:
		m.commitFailures.Inc()
	case committed:
		m.commits.Inc()
	}
}

// mount is fs.Mount with the raw filesystem metered when m is set.
func mount(dir string, root fs.InodeEmbedder, opts *fs.Options, m *Metrics) (*fuse.Server, error) {
	if m == nil {
		return fs.Mount(dir, root, opts)
	}
	raw := &meteredFS{RawFileSystem: fs.NewNodeFS(root, opts), m: m}
	srv, err := fuse.NewServer(raw, dir, &opts.MountOptions)
	if err != nil {
		return nil, err
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		return nil, err
	}
	return srv, nil
}

// meteredFS times the requests of the node filesystem.
type meteredFS struct {
	fuse.RawFileSystem
	m *Metrics
}

func (f *meteredFS) Readlink(cancel <-chan struct{}, header *fuse.InHeader) ([]byte, fuse.Status) {
	t := time.Now()
	out, st := f.RawFileSystem.Readlink(cancel, header)
	f.m.op(opReadlink, st, t)
	return out, st
}

func (f *meteredFS) GetXAttr(cancel <-chan struct{}, header *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	t := time.Now()
	n, st := f.RawFileSystem.GetXAttr(cancel, header, attr, dest)
	f.m.op(opGetXAttr, st, t)
	return n, st
}

func (f *meteredFS) ListXAttr(cancel <-chan struct{}, header *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	t := time.Now()
	n, st := f.RawFileSystem.ListXAttr(cancel, header, dest)
	f.m.op(opListXAttr, st, t)
	return n, st
}

func (f *meteredFS) Read(cancel <-chan struct{}, input *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	t := time.Now()
	r, st := f.RawFileSystem.Read(cancel, input, buf)
	f.m.op(opRead, st, t)
	if st == fuse.OK && r != nil {
		f.m.readBytes.Add(float64(r.Size()))
	}
	return r, st
}

func (f *meteredFS) Write(cancel <-chan struct{}, input *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	t := time.Now()
	n, st := f.RawFileSystem.Write(cancel, input, data)
	f.m.op(opWrite, st, t)
	f.m.writtenBytes.Add(float64(n))
	return n, st
}

func (f *meteredFS) Writev(cancel <-chan struct{}, input *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	t := time.Now()
	n, st := f.RawFileSystem.Writev(cancel, input, data)
	if st != fuse.ENOSYS { // else the server calls Write
		f.m.op(opWrite, st, t)
		f.m.writtenBytes.Add(float64(n))
	}
	return n, st
}

func (f *meteredFS) CopyFileRange(cancel <-chan struct{}, input *fuse.CopyFileRangeIn) (uint32, fuse.Status) {
	t := time.Now()
	n, st := f.RawFileSystem.CopyFileRange(cancel, input)
	f.m.op(opCopyFileRange, st, t)
	return n, st
}

func (f *meteredFS) Statx(cancel <-chan struct{}, input *fuse.StatxIn, out *fuse.StatxOut) fuse.Status {
	return f.m.done(opStatx, time.Now(), f.RawFileSystem.Statx(cancel, input, out))
}

func (f *meteredFS) Release(cancel <-chan struct{}, input *fuse.ReleaseIn) {
	t := time.Now()
	f.RawFileSystem.Release(cancel, input)
	f.m.op(opRelease, fuse.OK, t)
}

func (f *meteredFS) ReleaseDir(input *fuse.ReleaseIn) {
	t := time.Now()
	f.RawFileSystem.ReleaseDir(input)
	f.m.op(opReleaseDir, fuse.OK, t)
}

func (f *meteredFS) Lookup(cancel <-chan struct{}, header *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	return f.m.done(opLookup, time.Now(), f.RawFileSystem.Lookup(cancel, header, name, out))
}

func (f *meteredFS) GetAttr(cancel <-chan struct{}, input *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	return f.m.done(opGetAttr, time.Now(), f.RawFileSystem.GetAttr(cancel, input, out))
}

func (f *meteredFS) SetAttr(cancel <-chan struct{}, input *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	return f.m.done(opSetAttr, time.Now(), f.RawFileSystem.SetAttr(cancel, input, out))
}

func (f *meteredFS) Mknod(cancel <-chan struct{}, input *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	return f.m.done(opMknod, time.Now(), f.RawFileSystem.Mknod(cancel, input, name, out))
}

func (f *meteredFS) Mkdir(cancel <-chan struct{}, input *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	return f.m.done(opMkdir, time.Now(), f.RawFileSystem.Mkdir(cancel, input, name, out))
}

func (f *meteredFS) Unlink(cancel <-chan struct{}, header *fuse.InHeader, name string) fuse.Status {
	return f.m.done(opUnlink, time.Now(), f.RawFileSystem.Unlink(cancel, header, name))
}

func (f *meteredFS) Rmdir(cancel <-chan struct{}, header *fuse.InHeader, name string) fuse.Status {
	return f.m.done(opRmdir, time.Now(), f.RawFileSystem.Rmdir(cancel, header, name))
}

func (f *meteredFS) Rename(cancel <-chan struct{}, input *fuse.RenameIn, oldName string, newName string) fuse.Status {
	return f.m.done(opRename, time.Now(), f.RawFileSystem.Rename(cancel, input, oldName, newName))
}

func (f *meteredFS) Link(cancel <-chan struct{}, input *fuse.LinkIn, filename string, out *fuse.EntryOut) fuse.Status {
	return f.m.done(opLink, time.Now(), f.RawFileSystem.Link(cancel, input, filename, out))
}

func (f *meteredFS) Symlink(cancel <-chan struct{}, header *fuse.InHeader, pointedTo string, linkName string, out *fuse.EntryOut) fuse.Status {
	return f.m.done(opSymlink, time.Now(), f.RawFileSystem.Symlink(cancel, header, pointedTo, linkName, out))
}

func (f *meteredFS) Access(cancel <-chan struct{}, input *fuse.AccessIn) fuse.Status {
	return f.m.done(opAccess, time.Now(), f.RawFileSystem.Access(cancel, input))
}

func (f *meteredFS) SetXAttr(cancel <-chan struct{}, input *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	return f.m.done(opSetXAttr, time.Now(), f.RawFileSystem.SetXAttr(cancel, input, attr, data))
}

func (f *meteredFS) RemoveXAttr(cancel <-chan struct{}, header *fuse.InHeader, attr string) fuse.Status {
	return f.m.done(opRemoveXAttr, time.Now(), f.RawFileSystem.RemoveXAttr(cancel, header, attr))
}

func (f *meteredFS) Create(cancel <-chan struct{}, input *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	return f.m.done(opCreate, time.Now(), f.RawFileSystem.Create(cancel, input, name, out))
}

func (f *meteredFS) Open(cancel <-chan struct{}, input *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return f.m.done(opOpen, time.Now(), f.RawFileSystem.Open(cancel, input, out))
}

func (f *meteredFS) Flush(cancel <-chan struct{}, input *fuse.FlushIn) fuse.Status {
	return f.m.done(opFlush, time.Now(), f.RawFileSystem.Flush(cancel, input))
}

func (f *meteredFS) Fsync(cancel <-chan struct{}, input *fuse.FsyncIn) fuse.Status {
	return f.m.done(opFsync, time.Now(), f.RawFileSystem.Fsync(cancel, input))
}

func (f *meteredFS) Fallocate(cancel <-chan struct{}, input *fuse.FallocateIn) fuse.Status {
	return f.m.done(opFallocate, time.Now(), f.RawFileSystem.Fallocate(cancel, input))
}

func (f *meteredFS) OpenDir(cancel <-chan struct{}, input *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return f.m.done(opOpenDir, time.Now(), f.RawFileSystem.OpenDir(cancel, input, out))
}

func (f *meteredFS) ReadDir(cancel <-chan struct{}, input *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.m.done(opReadDir, time.Now(), f.RawFileSystem.ReadDir(cancel, input, out))
}

func (f *meteredFS) ReadDirPlus(cancel <-chan struct{}, input *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.m.done(opReadDirPlus, time.Now(), f.RawFileSystem.ReadDirPlus(cancel, input, out))
}

func (f *meteredFS) StatFs(cancel <-chan struct{}, input *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	return f.m.done(opStatFs, time.Now(), f.RawFileSystem.StatFs(cancel, input, out))
}

func (f *meteredFS) Lseek(cancel <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) fuse.Status {
	return f.m.done(opLseek, time.Now(), f.RawFileSystem.Lseek(cancel, in, out))
}

// op names, in the order of the op constants
const (
	opLookup opID = iota
	opGetAttr
	opSetAttr
	opMknod
	opMkdir
	opUnlink
	opRmdir
	opRename
	opLink
	opSymlink
	opAccess
	opSetXAttr
	opRemoveXAttr
	opCreate
	opOpen
	opFlush
	opFsync
	opFallocate
	opOpenDir
	opReadDir
	opReadDirPlus
	opStatFs
	opLseek
	opReadlink
	opGetXAttr
	opListXAttr
	opRead
	opWrite
	opRelease
	opReleaseDir
	opCopyFileRange
	opStatx
	numOps
)

var opNames = [numOps]string{"lookup", "getattr", "setattr", "mknod", "mkdir", "unlink", "rmdir", "rename", "link", "symlink", "access", "setxattr", "removexattr", "create", "open", "flush", "fsync", "fallocate", "opendir", "readdir", "readdirplus", "statfs", "lseek", "readlink", "getxattr", "listxattr", "read", "write", "release", "releasedir", "copyfilerange", "statx"}
