package keyspace

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors a Backend returns (wrapped), so that callers can classify failures
// without knowing tracker error codes.
var (
	// ErrNotFound: the key, domain or class does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the target key or domain already exists.
	ErrExists = errors.New("already exists")
	// ErrNotEmpty: a domain or directory still holds keys.
	ErrNotEmpty = errors.New("not empty")
	// ErrUnsupported: the tracker does not know a mogfs command
	// (unknown_command); Space then falls back to original commands.
	ErrUnsupported = errors.New("tracker does not support this command")
	// ErrInvalid: the tracker refused the arguments (bad_params, a key
	// that would grow past 255 bytes, ...).
	ErrInvalid = errors.New("invalid argument")
	// ErrTooLong: a key would be longer than the tracker allows.
	ErrTooLong = errors.New("key too long")
	// ErrNoSpace: no storage device can take the file (no_devices).
	ErrNoSpace = errors.New("no device to store the file")
)

// FileInfo is what the tracker knows of one key.
type FileInfo struct {
	Key string
	// DKey is the surrogate key that holds a long key or a hard-linked
	// file (docs/mogfs-names.md): get_paths and uploads use it. "" for
	// another key.
	DKey string
	// Nlink is the number of names of a hard-linked file (0: one).
	Nlink    int
	Fid      int64
	Size     int64
	Class    string
	DevCount int
	Checksum string // file_info's checksum ("MD5:<hex>", "MISSING"), "" if the class keeps none
	// Attr holds the mtime and mode kept in the mogfs attribute table.
	Attr Attr
	// Path is the URL of a copy of Fid that the lookup named with it
	// (docs/mogfs.md §8.3, pathcount), "" when it named none.
	Path string
}

// Attr is a key's row in the mogfs attribute table.
type Attr struct {
	Set   bool // false: the key has no row; the other fields are meaningless
	Mtime time.Time
	// Mode is st_mode: permission bits (07777) and, for a symbolic link
	// or a special file, its type (S_IFMT bits; 0 is a regular file).
	Mode uint32
	// UID and GID own the file when recorded (HasUID, HasGID); else the
	// mount's owner does.
	UID, GID       uint32
	HasUID, HasGID bool
	// Atime and Ctime, when recorded (not zero); else they equal Mtime.
	Atime, Ctime time.Time
	// Rdev is the device number of a character or block device.
	Rdev uint32
}

// Type is the S_IFMT part of Mode.
func (a Attr) Type() uint32 { return a.Mode & ModeType }

// ModeType is the mask of the file type bits of a mode (S_IFMT).
const ModeType = 0o170000

// AttrUpdate changes a key's attributes; nil fields are left as they are.
// A Mode without type bits keeps the key's type.
type AttrUpdate struct {
	Mtime, Atime, Ctime *time.Time
	Mode                *uint32
	UID, GID            *uint32
	Rdev                *uint32
}

// Empty reports whether u changes nothing.
func (u AttrUpdate) Empty() bool {
	return u.Mtime == nil && u.Atime == nil && u.Ctime == nil && u.Mode == nil && u.UID == nil && u.GID == nil && u.Rdev == nil
}

// Apply returns a with the fields of u set.
func (u AttrUpdate) Apply(a Attr) Attr {
	if u.Mtime != nil {
		a.Mtime = *u.Mtime
	}
	if u.Atime != nil {
		a.Atime = *u.Atime
	}
	if u.Ctime != nil {
		a.Ctime = *u.Ctime
	}
	if u.Mode != nil {
		m := *u.Mode
		if m&ModeType == 0 {
			m |= a.Mode & ModeType
		}
		a.Mode = m
	}
	if u.UID != nil {
		a.UID, a.HasUID = *u.UID, true
	}
	if u.GID != nil {
		a.GID, a.HasGID = *u.GID, true
	}
	if u.Rdev != nil {
		a.Rdev = *u.Rdev
	}
	return a
}

// LookupResult says what a key is: a file (File != nil), a directory
// (some key starts with key+"/"), both or neither.
type LookupResult struct {
	File *FileInfo
	Dir  bool
	// DirAttr are the attributes of the directory's marker key, when it
	// has one with a row in the attribute table.
	DirAttr Attr
}

// DirEntry is one name of one directory level. A segment that is both a
// file and a directory appears twice, once with Dir set.
type DirEntry struct {
	Name string // the key segment, not yet encoded as a file name
	Dir  bool
	// Info is the file's metadata when HasInfo is set (always with
	// mogfs_list_dir, never with the list_keys fallback). For a directory
	// only Info.Attr is used: its marker's attributes, when known.
	Info    FileInfo
	HasInfo bool
	// Shadowed is set by Lister on a file whose segment is also a
	// directory: it is shown under its file-only name.
	Shadowed bool
}

// DirPage is one page of mogfs_list_dir: entries in key order, and the
// cursor for the next page ("" when the listing is complete).
type DirPage struct {
	Entries []DirEntry
	Next    string
}

// Features are what the tracker's mogfs commands can do beyond the
// first ones.
type Features struct {
	MaxKey int  // the longest key (MaxShortKey: no long keys)
	Links  bool // mogfs_link and mogfs_delete
}

// Stored is what a committed upload became.
type Stored struct {
	// DKey is the surrogate that holds a long key ("" for another).
	DKey string
	Size int64
	Fid  int64  // the key's new fid
	Path string // URL of the copy that was written ("" if unknown)
	// AttrSet: the Target's Attr was committed with the content.
	AttrSet bool
	// Content is a copy of what was committed, set by Buffer.Commit for
	// content staged in memory up to KeepLimit bytes (nil otherwise).
	Content []byte
}

// Usage is the storage space of the cluster, summed over its devices.
type Usage struct {
	TotalBytes int64
	FreeBytes  int64
}

// Remote is an opened key whose paths are known: reads cost one HTTP
// request each and no tracker round trip.
type Remote interface {
	// ReadAt fills p from offset off with failover across the paths; it
	// returns io.EOF when the file ends before p is full.
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
	// Paths are the URLs of the copies.
	Paths() []string
}

// Backend is the part of a MogileFS client mogfs needs: the original
// tracker commands, and the mogfs commands (see docs/mogfs.md), which
// return an error wrapping ErrUnsupported on a tracker that lacks them.
// Every method is safe for concurrent use.
type Backend interface {
	// Domains lists the domain names (get_domains).
	Domains(ctx context.Context) ([]string, error)
	CreateDomain(ctx context.Context, domain string) error
	DeleteDomain(ctx context.Context, domain string) error
	// FileInfo is file_info; Attr is never set.
	FileInfo(ctx context.Context, domain, key string) (FileInfo, error)
	// ListKeys is list_keys; none_match is an empty result.
	ListKeys(ctx context.Context, domain, prefix, after string, limit int) ([]string, error)
	// Open asks for key's paths (get_paths). size is the file's length
	// if known, else -1.
	Open(ctx context.Context, domain, key string, size int64) (Remote, error)
	// Known is key at paths already known (no round trip).
	Known(domain, key string, paths []string, size int64) Remote
	// Store uploads r (size bytes, -1 unknown) under t.Key and commits
	// it with create_close only if every byte arrived; with t.Attr set, it
	// commits with mogfs_create_close, which stores the attributes in the
	// same transaction (ErrUnsupported after the upload if the tracker
	// lacks it).
	Store(ctx context.Context, t Target, r io.Reader, size int64) (Stored, error)
	Delete(ctx context.Context, domain, key string) error
	// Rename is the original rename: ErrExists if to exists.
	Rename(ctx context.Context, domain, from, to string) error
	UpdateClass(ctx context.Context, domain, key, class string) error
	// Usage sums the devices' sizes (get_devices).
	Usage(ctx context.Context) (Usage, error)

	// Lookup is mogfs_lookup: the key's file metadata with attributes,
	// and whether it is a directory prefix. ErrNotFound when neither.
	// withPath asks for the URL of one copy of the file too
	// (FileInfo.Path; a tracker may not give it).
	Lookup(ctx context.Context, domain, key string, withPath bool) (LookupResult, error)
	// ListDir is mogfs_list_dir: one directory level from after.
	ListDir(ctx context.Context, domain, prefix, after string, limit int) (DirPage, error)
	// SetAttr is mogfs_set_attr.
	SetAttr(ctx context.Context, domain, key string, u AttrUpdate) error
	// RenameReplace is mogfs_rename: rename that replaces an existing
	// target in the same transaction.
	// The attributes u sets go to the moved key in the same transaction.
	RenameReplace(ctx context.Context, domain, from, to string, u AttrUpdate) error
	// Features is mogfs_features (ErrUnsupported on a tracker without it).
	Features(ctx context.Context) (Features, error)
	// Link is mogfs_link: to becomes another name of the file from; the
	// file's metadata after it is returned.
	Link(ctx context.Context, domain, from, to string, u AttrUpdate) (FileInfo, error)
	// DeleteName is mogfs_delete: one name goes (the file with its last).
	DeleteName(ctx context.Context, domain, key string) error
	// RenamePrefix is mogfs_rename_prefix: every key starting with from
	// gets to instead, in one transaction. ErrNotEmpty if a key other
	// than the marker to exists under to.
	RenamePrefix(ctx context.Context, domain, from, to string) (int, error)
}
