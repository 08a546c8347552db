// Package store defines the tracker's metadata store: the model of the
// original MogileFS schema (version 17) and the Store interface the tracker
// and its workers use. The SQL implementation for SQLite and MySQL/MariaDB
// lives in package sqlstore; storetest is the conformance suite every
// implementation must pass.
//
// Times are Unix seconds taken from the database clock, as in the original.
// Methods that schedule queue work take a delay in seconds: delay <= 0 means
// "now" (nexttry = 0 for the replication queue, the original's "urgent").
package store

import (
	"context"
	"database/sql"
	"errors"
)

// SchemaVersion is the original schema version this store implements.
const SchemaVersion = 17

// EndOfTime is the original's "never" for nexttry columns.
const EndOfTime = 2147483647

// LeaseSeconds is how long a row handed out by Grab stays invisible to
// every tracker. The original leases for 1000 s, so the rows a killed
// tracker held stalled for almost 17 minutes; a minute is enough for the
// job master to hand them to a worker, and a lease that runs out while a
// long copy is still going is harmless: every worker takes the fid's
// named lock and re-checks the fid before acting, so a second taker skips
// or finds nothing left to do.
const LeaseSeconds = 60

var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a unique key (name, id, fid, ip) is already used.
	ErrExists = errors.New("store: already exists")
	// ErrFIDExists: create_close found the key already bound to this fid.
	ErrFIDExists = errors.New("store: key already has this fid")
)

// HashType is a class hash type, stored as class.hashtype / checksum.hashtype.
type HashType int

const (
	HashNone HashType = 0 // NULL in class.hashtype
	HashMD5  HashType = 1
	HashSHA1 HashType = 2
)

// Domain is a row of table domain.
type Domain struct {
	ID   int    // dmid
	Name string // namespace
}

// Class is a row of table class. The "default" class has ID 0 and may have
// no row at all.
type Class struct {
	DomainID    int
	ID          int // classid
	Name        string
	MinDevCount int
	ReplPolicy  string // "" = NULL (default policy)
	HashType    HashType
}

// Host is a row of table host.
type Host struct {
	ID          int
	Name        string
	Status      string // alive, dead, down, readonly
	IP          string
	HTTPPort    int
	HTTPGetPort int // 0 = NULL (use HTTPPort)
	AltIP       string
	AltMask     string
}

// Device is a row of table device.
type Device struct {
	ID      int
	HostID  int
	Status  string // alive, dead, down, readonly, drain
	Weight  int
	MBTotal sql.NullInt64
	MBUsed  sql.NullInt64
	MBAsOf  sql.NullInt64
}

// File is a row of table file.
type File struct {
	FID      int64
	DomainID int
	Key      string
	Length   int64
	ClassID  int
	DevCount int
}

// Tempfile is a row of table tempfile: an upload between create_open and
// create_close.
type Tempfile struct {
	FID        int64 // 0 = allocate
	CreateTime int64
	ClassID    int
	DomainID   int
	Key        string
	DevIDs     []int
}

// Checksum is a row of table checksum (Sum holds the raw digest bytes).
type Checksum struct {
	FID      int64
	HashType HashType
	Sum      []byte
}

// Queue names the original queue tables.
type Queue int

const (
	QueueReplicate Queue = iota // file_to_replicate
	QueueDelete                 // file_to_delete2
	QueueFsck                   // file_to_queue, type 1
	QueueRebalance              // file_to_queue, type 2
)

// Lease is the row of a lease after TakeLease: who holds it and until
// when, in UNIX seconds of the database's clock (Now is that clock when
// the row was read).
type Lease struct {
	Holder  string
	Expires int64
	Now     int64
}

// QueueItem is a row of one of the queues. FromDevID is set only for
// replication (file_to_replicate.fromdevid, 0 = NULL); DevID, Arg only for
// file_to_queue (0 / "" = NULL); Flags for replicate and file_to_queue.
type QueueItem struct {
	FID       int64
	NextTry   int64
	FailCount int
	Flags     int
	FromDevID int
	DevID     int
	Arg       string
}

// CloseFile is what create_close commits once the upload is verified.
type CloseFile struct {
	FID      int64
	DevID    int // the device the client wrote to
	DomainID int
	Key      string
	ClassID  int
	Length   int64
	Checksum *Checksum // stored when non-nil
	// Replicated says the one copy already meets the class policy, so no
	// replication job is queued for the fid (the original always queues
	// one, which the replicator then finds has nothing to do).
	Replicated bool
	// Attr, when not nil, is written as the fid's mogfs_attr row in the
	// same transaction (mogfs_create_close).
	Attr *MogfsAttr
	// Name, when set, is the long key Key (a surrogate) stands for: its
	// mogfs_name row is written in the same transaction.
	Name string
	// ResolveNames: when Key is a name of mogfs_name (a hard link), the
	// new content goes to the file its name row names (mogfs_create_close
	// without name=).
	ResolveNames bool
	// S3, when not nil, is written as the fid's s3_meta row in the same
	// transaction (s3_create_close), so that an object is never seen
	// committed without its metadata.
	S3 *S3Meta
}

// FastCommit is one upload of a fast-path commit batch (fastpath_commit,
// docs/fastpath.md §10): what create_close would commit for it.
type FastCommit struct {
	FID   int64
	DevID int // the device the node wrote to; must be in the tempfile row
	// PeerDevIDs are the further devices holding a copy (the node's peer
	// copies, docs/fastpath.md §4.5); each must be in the tempfile row.
	PeerDevIDs []int
	DomainID   int
	Key        string
	ClassID    int
	Length     int64
	Checksum   *Checksum // stored when non-nil
	// Replicated: the copies already meet the class policy (as
	// CloseFile.Replicated), so no replication job is queued.
	Replicated bool
	// Attr, when not nil, is written as the fid's mogfs_attr row in the
	// batch's transaction (mogfs_fastpath_commit, as CloseFile.Attr);
	// a key that is a name of mogfs_name is then CommitLinked.
	Attr *MogfsAttr
}

// CommitStatus is the outcome of one FastCommit.
type CommitStatus int

const (
	// CommitOK: committed now, or committed before under the same
	// domain and key (a batch sent again).
	CommitOK CommitStatus = iota
	// CommitLeaseExpired: the tempfile row is gone and no file row has
	// the fid under that key: the lease was reaped, nothing committed.
	CommitLeaseExpired
	// CommitInvalidDestDev: DevID is not in the tempfile row's devids;
	// nothing written.
	CommitInvalidDestDev
	// CommitLinked: the item carries Attr and its key is a name of a
	// hard-linked file (a mogfs_name row), whose content
	// mogfs_create_close would write to the file the name row names;
	// nothing written.
	CommitLinked
)

// CommitResult is what CommitFiles did with one item.
type CommitResult struct {
	Status CommitStatus
	// Replaced is the fid the key named before (queued for deletion),
	// 0 for none.
	Replaced int64
}

// KeyRef names a key of a domain.
type KeyRef struct {
	DomainID int
	Key      string
}

// KeyFile is a key's file and the devids of its copies (ascending), as
// FileByKeyDevIDs reads them; Found is false for an unknown key.
type KeyFile struct {
	Found  bool
	File   File
	DevIDs []int
}

// MaxKeyBatch bounds the keys of one FilesByKeys call and the items of
// one CommitFiles transaction.
const MaxKeyBatch = 256

// FsckEvent is a row of fsck_log.
type FsckEvent struct {
	LogID  int64
	UTime  int64
	FID    int64 // 0 = NULL
	EvCode string
	DevID  int // 0 = NULL
}

// FileDebug is every row the store holds about one fid, for file_debug.
// A nil pointer means no such row.
type FileDebug struct {
	File      *File
	Tempfile  *Tempfile
	Replicate *QueueItem
	Delete    *QueueItem
	Rebalance *QueueItem
	Fsck      *QueueItem
	DevIDs    []int
	Checksum  *Checksum
}

// Store is the tracker's metadata store. All methods are safe for
// concurrent use, by several trackers sharing one database included.
type Store interface {
	// Now returns the database clock in Unix seconds.
	Now(ctx context.Context) (int64, error)
	Close() error

	// Namespace.
	Domains(ctx context.Context) ([]Domain, error)
	CreateDomain(ctx context.Context, name string) (Domain, error) // ErrExists
	DeleteDomain(ctx context.Context, dmid int) error              // also drops its class 0 row
	Classes(ctx context.Context) ([]Class, error)
	CreateClass(ctx context.Context, c Class) (Class, error) // ID: 0 for "default", else max+1; ErrExists
	UpdateClass(ctx context.Context, c Class) error          // by (DomainID, ID); ErrNotFound
	DeleteClass(ctx context.Context, dmid, classid int) error
	DomainHasFiles(ctx context.Context, dmid int) (bool, error)
	ClassHasFiles(ctx context.Context, dmid, classid int) (bool, error)

	// Hosts and devices.
	Hosts(ctx context.Context) ([]Host, error)
	CreateHost(ctx context.Context, h Host) (Host, error) // ID = max+1; ErrExists on any unique clash
	UpdateHost(ctx context.Context, h Host) error         // ErrExists on a unique clash
	DeleteHost(ctx context.Context, hostid int) error
	Devices(ctx context.Context) ([]Device, error)
	CreateDevice(ctx context.Context, d Device) error // ErrExists
	SetDeviceStatus(ctx context.Context, devid int, status string) error
	SetDeviceWeight(ctx context.Context, devid int, weight int) error
	SetDeviceUsage(ctx context.Context, devid int, mbTotal, mbUsed, asOf int64) error

	// Server settings.
	Settings(ctx context.Context) (map[string]string, error)
	SetSetting(ctx context.Context, key, value string) error
	DeleteSetting(ctx context.Context, key string) error

	// Files.
	// RegisterTempfile inserts a tempfile row and returns its fid. With
	// t.FID == 0 a new fid is allocated that is unique across trackers and
	// never an existing file's fid; an explicit fid already used in file or
	// tempfile gives ErrExists.
	RegisterTempfile(ctx context.Context, t Tempfile) (int64, error)
	Tempfile(ctx context.Context, fid int64) (Tempfile, error)
	// CommitFile does create_close's database work in one transaction: it
	// deletes the tempfile row (ErrNotFound if already gone), replaces any
	// other file with the same (domain, key) (the old fid is queued for
	// deletion and returned), writes file (devcount 1) and file_on, the
	// checksum if given, and queues the fid for replication now.
	CommitFile(ctx context.Context, f CloseFile) (replacedFID int64, err error)
	// DiscardTempfile turns an upload that will not be kept into a deletion:
	// tempfile row removed, file_on rows for devids added, fid queued for
	// delete. Used for create_close without a key and by the tempfile reaper.
	DiscardTempfile(ctx context.Context, fid int64, devids []int) error
	// OldTempfiles lists up to limit tempfiles created before the given time.
	OldTempfiles(ctx context.Context, before int64, limit int) ([]Tempfile, error)
	FileByKey(ctx context.Context, dmid int, key string) (File, error)
	FileByFID(ctx context.Context, fid int64) (File, error)
	// FileDevIDs returns the devids of the file_on rows of fid.
	FileDevIDs(ctx context.Context, fid int64) ([]int, error)
	// FileByKeyDevIDs is FileByKey and FileDevIDs of its fid (ascending)
	// read together, in one statement: what get_paths needs.
	FileByKeyDevIDs(ctx context.Context, dmid int, key string) (File, []int, error)
	// FileCopies is FileByFID, FileDevIDs and Checksum (nil when there is
	// none) read together, in one statement: what a replication needs.
	// ErrNotFound when fid has no file row.
	FileCopies(ctx context.Context, fid int64) (File, []int, *Checksum, error)
	// DeleteFile removes the file row and queues fid for deletion, in one
	// transaction. ErrNotFound if there is no such file.
	DeleteFile(ctx context.Context, fid int64) error
	// DeleteKey is DeleteFile of key's file, only while key still names
	// fid (ErrNotFound otherwise): a delete racing a rename or a
	// replacement of the key does not delete the file under its new name.
	DeleteKey(ctx context.Context, dmid int, key string, fid int64) error
	// RenameFile: ErrNotFound if from is absent, ErrExists if to is present.
	RenameFile(ctx context.Context, dmid int, from, to string) error
	SetFileClass(ctx context.Context, fid int64, classid int) error
	// ListKeys: keys of dmid starting with prefix, greater than after,
	// ascending, at most limit.
	ListKeys(ctx context.Context, dmid int, prefix, after string, limit int, caseSensitive bool) ([]string, error)
	// ListFiles: files with fid > after, ascending by fid, at most limit.
	ListFiles(ctx context.Context, after int64, limit int) ([]File, error)
	MaxFID(ctx context.Context) (int64, error)
	// AddFileOn and RemoveFileOn are idempotent and keep file.devcount equal
	// to the number of file_on rows unless skipDevcount.
	AddFileOn(ctx context.Context, fid int64, devid int, skipDevcount bool) error
	RemoveFileOn(ctx context.Context, fid int64, devid int, skipDevcount bool) error
	// UpdateDevcount sets file.devcount from the file_on rows.
	UpdateDevcount(ctx context.Context, fid int64) error
	// FIDsOnDevice: fids on devid with fid > after, ascending, at most limit.
	FIDsOnDevice(ctx context.Context, devid int, after int64, limit int) ([]int64, error)
	Checksum(ctx context.Context, fid int64) (Checksum, error) // ErrNotFound
	SetChecksum(ctx context.Context, c Checksum) error         // insert or replace
	DeleteChecksum(ctx context.Context, fid int64) error
	FileDebug(ctx context.Context, fid int64) (FileDebug, error)

	// Fast path (docs/fastpath.md §10).
	// LeaseTempfiles inserts count tempfile rows for devid in one
	// transaction (dmid 0, dkey NULL, classid 0, devids devid followed
	// by peers, createtime the database's now) and returns their fids,
	// ascending, each unique across trackers and never an existing
	// file's fid, and the createtime.
	LeaseTempfiles(ctx context.Context, devid, count int, peers ...int) (fids []int64, createTime int64, err error)
	// CommitFiles commits up to MaxKeyBatch uploads (distinct fids), each
	// as CommitFile would, in one transaction, and returns each one's
	// result. It is idempotent by fid (CommitOK for an item committed
	// before under the same key). When the batch cannot commit as a whole
	// (two items of one key, a key another tracker inserted meanwhile),
	// the items are committed one at a time, in order.
	CommitFiles(ctx context.Context, items []FastCommit) ([]CommitResult, error)
	// FilesByKeys is FileByKeyDevIDs of up to MaxKeyBatch keys in one
	// statement; the answer is in the order of keys.
	FilesByKeys(ctx context.Context, keys []KeyRef) ([]KeyFile, error)

	// Queues.
	// Enqueue inserts item unless fid (and type) is already queued; the
	// row's nexttry is now+delay, or 0 for QueueReplicate with delay <= 0.
	Enqueue(ctx context.Context, q Queue, item QueueItem, delay int64) error
	// Grab leases up to limit rows whose nexttry is due, oldest first, by
	// pushing their nexttry LeaseSeconds ahead; rows leased by another
	// tracker are never returned twice while the lease lasts.
	Grab(ctx context.Context, q Queue, limit int) ([]QueueItem, error)
	// Retry sets a row's nexttry to now+delay and its failcount.
	Retry(ctx context.Context, q Queue, fid int64, delay int64, failCount int) error
	Dequeue(ctx context.Context, q Queue, fid int64) error
	QueueLength(ctx context.Context, q Queue) (int64, error)
	// ReplicateNow sets every future replication nexttry to now; returns count.
	ReplicateNow(ctx context.Context) (int64, error)

	// Fsck log.
	AddFsckEvent(ctx context.Context, e FsckEvent) error
	FsckEvents(ctx context.Context, afterLogID int64, limit int) ([]FsckEvent, error)
	ClearFsckLog(ctx context.Context) error
	MaxFsckLogID(ctx context.Context) (int64, error)
	// FsckEventCounts counts events by code with afterLogID < logid <= upTo.
	FsckEventCounts(ctx context.Context, afterLogID, upTo int64) (map[string]int64, error)

	// Named locks, shared by every tracker on the database (GET_LOCK on
	// MySQL, the lock table on SQLite). Lock waits up to timeout seconds and
	// reports whether it got the lock.
	Lock(ctx context.Context, name string, timeout int) (bool, error)
	Unlock(ctx context.Context, name string) error
	// LockContext returns a context derived from ctx that also ends when
	// this store may no longer hold the named lock: on Galera, where a
	// lock is also a lease, at the holder's deadline when the lease was
	// not renewed in time (before anyone else can take it), or when it was
	// found lost; for every backend, at once when the lock is not held.
	// Work done under a lock runs under it and stops when it ends
	// (context.Cause says why). The caller calls cancel when done.
	LockContext(ctx context.Context, name string) (context.Context, context.CancelFunc)

	// Leases: a role only one holder of the whole database has at a time
	// (the job master), as a row with an expiry on the database's clock.
	// TakeLease takes name for holder for ttl seconds when it is free,
	// expired or already holder's (then it is renewed), in one
	// transaction, and returns the row as it is afterwards: holder got it
	// when Lease.Holder == holder. ReleaseLease deletes the row if holder
	// still has it. Holders are named "host:pid:…"; on SQLite a lease of
	// this host whose pid no longer runs counts as free.
	TakeLease(ctx context.Context, name, holder string, ttl int) (Lease, error)
	ReleaseLease(ctx context.Context, name, holder string) error

	// Background workers.
	// DeleteTempfile removes fid's tempfile row and nothing else (the
	// tempfile reaper, for a fid a file row owns); ErrNotFound if none.
	DeleteTempfile(ctx context.Context, fid int64) error
	// FIDsOnDeviceDesc: fids on devid with fid < before (before <= 0:
	// no bound), descending, at most limit (rebalance fid_age=new).
	FIDsOnDeviceDesc(ctx context.Context, devid int, before int64, limit int) ([]int64, error)
	// EnqueueMany is Enqueue of every item (same delay) in one
	// transaction; fids already queued are left as they are.
	EnqueueMany(ctx context.Context, q Queue, items []QueueItem, delay int64) error
	// DrainLegacyDeletes moves up to limit rows of each legacy delete
	// queue an older tracker may have left into file_to_delete2:
	// file_to_delete rows due now, file_to_delete_later rows due at
	// their delafter. A fid already in file_to_delete2 keeps its row. It
	// returns how many legacy rows it removed.
	DrainLegacyDeletes(ctx context.Context, limit int) (int64, error)

	// Fsck in batches.
	// FsckFiles reads what fsck checks of each fid of a batch, in one
	// query per few hundred fids; a fid without a file row is not in the
	// map.
	FsckFiles(ctx context.Context, fids []int64) (map[int64]FsckFile, error)
	// DequeueMany is Dequeue of every fid (rows not queued are no error).
	DequeueMany(ctx context.Context, q Queue, fids []int64) error
}
