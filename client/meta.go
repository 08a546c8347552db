package client

import (
	"context"
	"iter"
	"sort"
	"strconv"
	"strings"
)

// FileInfo is the tracker's file_info answer.
type FileInfo struct {
	FID      int64
	Domain   string
	Class    string
	Key      string
	Length   int64
	DevCount int
	Checksum string // "MD5:<hex>", "MISSING", or "" when the class has no hash type
	DevIDs   []int
	// Raw is the reply as received, for tools that print every field.
	Raw map[string]string
}

// FileInfo returns key's metadata, its device ids included.
func (c *Client) FileInfo(ctx context.Context, key string) (*FileInfo, error) {
	r, err := c.call(ctx, "file_info", "domain", c.domain, "key", key, "devices", "1")
	if err != nil {
		return nil, err
	}
	fi := &FileInfo{
		FID:      atoi64(r["fid"]),
		Domain:   r["domain"],
		Class:    r["class"],
		Key:      r["key"],
		Length:   atoi64(r["length"]),
		DevCount: atoi(r["devcount"]),
		Checksum: r["checksum"],
		DevIDs:   parseIntList(r["devids"]),
		Raw:      r,
	}
	return fi, nil
}

func parseIntList(s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// FileDebug returns every row the tracker holds about key (file_debug):
// fid_*, tempfile_*, replqueue_*, delqueue_*, rebqueue_*, fsckqueue_*,
// devpath_<devid>, devids and checksum.
func (c *Client) FileDebug(ctx context.Context, key string) (map[string]string, error) {
	return c.call(ctx, "file_debug", "domain", c.domain, "key", key)
}

// FileDebugFID is FileDebug by fid; no domain is needed.
func (c *Client) FileDebugFID(ctx context.Context, fid int64) (map[string]string, error) {
	kv := []string{"fid", strconv.FormatInt(fid, 10)}
	if c.domain != "" {
		kv = append(kv, "domain", c.domain)
	}
	return c.call(ctx, "file_debug", kv...)
}

// Delete removes key. A key that does not exist gives an error matching
// ErrUnknownKey (the original client counts that as success; callers
// decide).
func (c *Client) Delete(ctx context.Context, key string) error {
	_, err := c.call(ctx, "delete", "domain", c.domain, "key", key)
	c.paths.drop(pathKey{c.domain, key})
	return err
}

// Rename renames from to to; ErrKeyExists if to exists, ErrUnknownKey if
// from does not.
func (c *Client) Rename(ctx context.Context, from, to string) error {
	_, err := c.call(ctx, "rename", "domain", c.domain, "from_key", from, "to_key", to)
	c.paths.drop(pathKey{c.domain, from})
	c.paths.drop(pathKey{c.domain, to})
	return err
}

// UpdateClass moves key to class (the tracker's "updateclass"). An unknown
// key gives ErrInvalidKey, an unknown class ErrClassNotFound.
func (c *Client) UpdateClass(ctx context.Context, key, class string) error {
	_, err := c.call(ctx, "updateclass", "domain", c.domain, "key", key, "class", class)
	return err
}

// ListKeys returns up to limit keys (the tracker caps it at 1000) that
// start with prefix and sort after after, and the cursor for the next
// page. An empty page is the tracker's none_match error (IsNoneMatch).
func (c *Client) ListKeys(ctx context.Context, prefix, after string, limit int) (keys []string, next string, err error) {
	kv := []string{"domain", c.domain, "prefix", prefix, "after", after}
	if limit > 0 {
		kv = append(kv, "limit", strconv.Itoa(limit))
	}
	r, err := c.call(ctx, "list_keys", kv...)
	if err != nil {
		return nil, "", err
	}
	n := atoi(r["key_count"])
	keys = make([]string, 0, n)
	for i := 1; i <= n; i++ {
		keys = append(keys, r["key_"+strconv.Itoa(i)])
	}
	// The next page starts after the last key in the database's order
	// (its collation decides what "after" means), as the original does.
	if n > 0 {
		next = keys[n-1]
	}
	return keys, next, nil
}

// listPage is the page size of Keys, the tracker's maximum.
const listPage = 1000

// Keys iterates over every key starting with prefix, in pages of 1000.
// Iteration stops at the first error, which is yielded with an empty key.
// An empty result (none_match) is not an error.
func (c *Client) Keys(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		after := ""
		for {
			keys, next, err := c.ListKeys(ctx, prefix, after, listPage)
			if IsNoneMatch(err) {
				return
			}
			if err != nil {
				yield("", err)
				return
			}
			for _, k := range keys {
				if !yield(k, nil) {
					return
				}
			}
			if len(keys) < listPage {
				return
			}
			after = next
		}
	}
}

// FidInfo is one row of list_fids.
type FidInfo struct {
	FID      int64
	Domain   string
	Class    string
	Key      string
	Length   int64
	DevCount int
}

// ListFids returns up to count files with fid > from, ascending (the
// tracker caps count at 500). It needs no domain.
func (c *Client) ListFids(ctx context.Context, from int64, count int) ([]FidInfo, error) {
	r, err := c.call(ctx, "list_fids", "from", strconv.FormatInt(from, 10), "to", strconv.Itoa(count))
	if err != nil {
		return nil, err
	}
	n := atoi(r["fid_count"])
	out := make([]FidInfo, 0, n)
	for i := 1; i <= n; i++ {
		p := "fid_" + strconv.Itoa(i) + "_"
		out = append(out, FidInfo{
			FID:      atoi64(r[p+"fid"]),
			Domain:   r[p+"domain"],
			Class:    r[p+"class"],
			Key:      r[p+"key"],
			Length:   atoi64(r[p+"length"]),
			DevCount: atoi(r[p+"devcount"]),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FID < out[j].FID })
	return out, nil
}
