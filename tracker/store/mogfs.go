package store

import (
	"context"
	"errors"
)

// This file is the store side of the mogfs tracker commands
// (docs/mogfs.md §8): the mogfs_attr table and the directory-shaped
// operations on file.dkey. A store that has them implements MogfsStore;
// the tracker answers the mogfs_* commands only when its store does.
//
// Keys compare as bytes everywhere here, whatever the database's
// collation: a lookup of "a/x" never answers for a row "a/X".

// MaxKeyLen is the width of file.dkey in bytes.
const MaxKeyLen = 255

// MaxLongKeyLen is the longest key of the mogfs commands: keys over
// MaxKeyLen are long keys, kept under a surrogate key with a row of
// mogfs_name (docs/mogfs-names.md).
const MaxLongKeyLen = 8192

// SurrogatePrefix starts the surrogate keys of long keys.
const SurrogatePrefix = ".mogfs/long/"

var (
	// ErrDirNotEmpty: the target prefix of a directory rename holds keys.
	ErrDirNotEmpty = errors.New("store: target directory is not empty")
	// ErrKeyTooLong: a renamed key would be longer than MaxKeyLen bytes.
	ErrKeyTooLong = errors.New("store: key would be longer than 255 bytes")
)

// MogfsAttr is a row of mogfs_attr: a file's inode attributes. A field
// with its Has flag false is NULL in the row (not recorded).
type MogfsAttr struct {
	Mtime     int64 // Unix seconds
	MtimeNsec int   // 0..999999999
	// Mode is st_mode: the permission bits (07777) and, for a symbolic
	// link or a special file, its type (S_IFMT bits); a type of 0 is a
	// regular file (a directory for a marker key).
	Mode int
	// UID and GID own the file; not recorded: the mount's owner.
	UID, GID       uint32
	HasUID, HasGID bool
	// Atime and Ctime; not recorded: equal to mtime.
	Atime, Ctime         int64
	AtimeNsec, CtimeNsec int
	HasAtime, HasCtime   bool
	// Rdev is the device number of a character or block device.
	Rdev int64
}

// ModeType is the S_IFMT part of a mode.
const ModeType = 0o170000

// MergeMode is the mode a row gets when mode is set over old: a mode
// without type bits keeps old's type (chmod never changes what a file is).
func MergeMode(old, mode int) int {
	if mode&ModeType != 0 {
		return mode
	}
	return old&ModeType | mode
}

// MogfsFile is a file row with its mogfs_attr row (Attr nil when none).
type MogfsFile struct {
	File
	Attr *MogfsAttr
	// Nlink is the number of names of a file kept under a surrogate
	// key (hard links, docs/mogfs-names.md); 0 means 1.
	Nlink int
}

// MogfsLookup is what a key is: a file, a directory prefix, or both.
type MogfsLookup struct {
	File *MogfsFile // the key's own file row, nil when none
	// Dir: some key starts with key + "/".
	Dir bool
	// DirAttr: the attributes of the marker key + "/", when it exists
	// and has a mogfs_attr row.
	DirAttr *MogfsAttr
}

// MogfsDirEntry is one entry of a directory level. A file entry has File
// set; a directory entry has Dir set and, when its marker has a
// mogfs_attr row, Attr.
type MogfsDirEntry struct {
	Name string
	Dir  bool
	File MogfsFile // files only
	Attr *MogfsAttr
}

// MogfsDirPage is one page of a directory listing. Next is the cursor of
// the following page ("" when the listing is complete).
type MogfsDirPage struct {
	Entries []MogfsDirEntry
	Next    string
}

// MogfsAttrUpdate says which fields mogfs_set_attr sets. A field not set
// keeps its stored value; when the fid has no row yet it gets Default's.
type MogfsAttrUpdate struct {
	SetMtime bool // Attr.Mtime and Attr.MtimeNsec
	SetMode  bool // Attr.Mode (merged by MergeMode)
	SetUID   bool
	SetGID   bool
	SetAtime bool // Attr.Atime and Attr.AtimeNsec
	SetCtime bool // Attr.Ctime and Attr.CtimeNsec
	SetRdev  bool
	Attr     MogfsAttr
	Default  MogfsAttr
}

// Empty reports whether u sets no field.
func (u MogfsAttrUpdate) Empty() bool {
	return !u.SetMtime && !u.SetMode && !u.SetUID && !u.SetGID && !u.SetAtime && !u.SetCtime && !u.SetRdev
}

// Row is the row a fid without one gets: Default with the fields set.
func (u MogfsAttrUpdate) Row() MogfsAttr {
	return u.Apply(u.Default)
}

// Apply returns row with the fields of u set.
func (u MogfsAttrUpdate) Apply(row MogfsAttr) MogfsAttr {
	a := u.Attr
	if u.SetMtime {
		row.Mtime, row.MtimeNsec = a.Mtime, a.MtimeNsec
	}
	if u.SetMode {
		row.Mode = MergeMode(row.Mode, a.Mode)
	}
	if u.SetUID {
		row.UID, row.HasUID = a.UID, true
	}
	if u.SetGID {
		row.GID, row.HasGID = a.GID, true
	}
	if u.SetAtime {
		row.Atime, row.AtimeNsec, row.HasAtime = a.Atime, a.AtimeNsec, true
	}
	if u.SetCtime {
		row.Ctime, row.CtimeNsec, row.HasCtime = a.Ctime, a.CtimeNsec, true
	}
	if u.SetRdev {
		row.Rdev = a.Rdev
	}
	return row
}

// MogfsRenamed reports what a rename changed, for cache invalidation.
type MogfsRenamed struct {
	FID         int64 // the fid that moved (mogfs_rename)
	ReplacedFID int64 // the target's fid, deleted and queued for deletion; 0 for none
	Count       int64 // keys renamed (mogfs_rename_prefix)
}

// MogfsStore is implemented by stores that support the mogfs commands.
// Every method is safe for concurrent use, by several trackers sharing one
// database included. Prefixes are "" or end in "/".
type MogfsStore interface {
	// SetupMogfs creates the mogfs_attr table when it is missing
	// (CREATE TABLE IF NOT EXISTS; no original table is touched).
	SetupMogfs(ctx context.Context) error
	// MogfsLookup finds the key's file row and whether it is a directory
	// prefix. It never fails with ErrNotFound: an absent key is a zero
	// MogfsLookup.
	MogfsLookup(ctx context.Context, dmid int, key string) (MogfsLookup, error)
	// MogfsListDir lists one level under prefix, in byte order, from the
	// first entry after the cursor after ("" for the start), at most
	// limit entries (docs/mogfs.md §8.4).
	MogfsListDir(ctx context.Context, dmid int, prefix, after string, limit int) (MogfsDirPage, error)
	// MogfsSetAttr upserts the attribute row of the key's current fid
	// and returns that fid; ErrNotFound when the key does not exist.
	MogfsSetAttr(ctx context.Context, dmid int, key string, u MogfsAttrUpdate) (int64, error)
	// MogfsRename renames from to to in one transaction, replacing an
	// existing to (its row deleted, its fid queued for deletion).
	// ErrNotFound when from does not exist; ErrExists when the database
	// holds a key it deems equal to to (a case-insensitive collation)
	// that is neither to nor from; ErrKeyTooLong. The fields u sets
	// (ctime: rename(2) changes it) go to the moved fid's attribute row
	// in the same transaction.
	MogfsRename(ctx context.Context, dmid int, from, to string, u MogfsAttrUpdate) (MogfsRenamed, error)
	// MogfsRenamePrefix moves every key starting with from to start with
	// to instead, in one transaction: ErrDirNotEmpty if a key other than
	// to itself starts with to (the key to, the target's marker, is
	// replaced as MogfsRename replaces); ErrKeyTooLong if a new key would
	// be too long; ErrExists if the database deems a new key equal to an
	// existing one. Nothing changes on error.
	MogfsRenamePrefix(ctx context.Context, dmid int, from, to string) (MogfsRenamed, error)
	// MogfsLink gives the file from the new name to (a hard link), in one
	// transaction: the file moves to a surrogate key if it has none, and
	// both names become rows of mogfs_name. ErrNotFound when from does
	// not exist, ErrExists when to does. It returns the file's row after
	// (Key the surrogate, Nlink its names).
	MogfsLink(ctx context.Context, dmid int, from, to string, u MogfsAttrUpdate) (MogfsFile, error)
	// MogfsDelete deletes the name key: a key of file as delete does, a
	// name of mogfs_name by its row, and the file of a surrogate with its
	// last name. ErrNotFound when key names nothing. It returns the fid
	// whose file row went (0 when other names keep it).
	MogfsDelete(ctx context.Context, dmid int, key string) (int64, error)
	// MogfsDropName deletes the mogfs_name row of the surrogate key dkey
	// (an original delete or rename of it: its long key names nothing).
	MogfsDropName(ctx context.Context, dmid int, dkey string) error
	// DeleteMogfsAttr drops the attribute row of fid (a purged fid).
	DeleteMogfsAttr(ctx context.Context, fid int64) error
}

// DeleteMogfsAttrOf drops the mogfs_attr row of a purged fid when st is
// a MogfsStore (the delete worker calls it); other stores keep no rows.
func DeleteMogfsAttrOf(ctx context.Context, st any, fid int64) error {
	if m, ok := st.(MogfsStore); ok {
		return m.DeleteMogfsAttr(ctx, fid)
	}
	return nil
}
