package faulttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // database/sql driver "mysql"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// soak reports the long mode (MOGTEST_SOAK=1).
func soak() bool { return os.Getenv("MOGTEST_SOAK") == "1" }

// scale picks the CI or the soak value.
func scale(ci, long int) int {
	if soak() {
		return long
	}
	return ci
}

// figure logs a measurement for docs/reliability.md.
func figure(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURE %s: %s", t.Name(), fmt.Sprintf(format, args...))
}

// content is the body uploaded under key: its length (between lo and hi)
// and bytes follow from the key, so any reader can check a file without
// keeping a copy.
func content(key string, lo, hi int) []byte {
	sum := sha256.Sum256([]byte(key))
	r := rand.New(rand.NewChaCha8(sum))
	n := lo
	if hi > lo {
		n += r.IntN(hi - lo + 1)
	}
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sizes is a content size range.
type sizes struct{ lo, hi int }

func (s sizes) of(key string) []byte { return content(key, s.lo, s.hi) }

// newClient is a client of domain through trackers, closed at cleanup.
func newClient(t testing.TB, domain string, timeout time.Duration, trackers ...string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Domain: domain, Trackers: trackers, Timeout: timeout, DeadRetry: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// uploads is the outcome of a batch of uploads.
type uploads struct {
	mu     sync.Mutex
	acked  []string
	failed map[string]error
	n      atomic.Int64 // acked so far
}

func (u *uploads) ackedKeys() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.acked...)
}

func (u *uploads) failedKeys() map[string]error {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]error, len(u.failed))
	for k, v := range u.failed {
		out[k] = v
	}
	return out
}

// errorSummary counts failures by their message with the key and fid
// taken out, for the test log.
func (u *uploads) errorSummary() string {
	counts := map[string]int{}
	for k, err := range u.failedKeys() {
		msg := strings.ReplaceAll(err.Error(), strconv.Quote(k), "KEY")
		if i := strings.Index(msg, "(fid "); i >= 0 {
			if j := strings.Index(msg[i:], ")"); j > 0 {
				msg = msg[:i] + "(fid N" + msg[i+j:]
			}
		}
		if len(msg) > 160 {
			msg = msg[:160] + "…"
		}
		counts[msg]++
	}
	var lines []string
	for m, n := range counts {
		lines = append(lines, fmt.Sprintf("%5d × %s", n, m))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// upload stores every key (body from sz) with the given concurrency and
// records which were acknowledged. onAck runs after each acknowledged
// upload with the count so far (to trigger a fault mid-load).
func upload(ctx context.Context, c *client.Client, class string, keys []string, workers int, sz sizes, onAck func(n int64)) *uploads {
	u := &uploads{failed: map[string]error{}}
	next := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				b := sz.of(k)
				_, err := c.StoreBytes(ctx, k, class, b)
				u.mu.Lock()
				if err != nil {
					u.failed[k] = err
				} else {
					u.acked = append(u.acked, k)
				}
				u.mu.Unlock()
				if err != nil {
					// A client would retry; pausing keeps a short
					// outage from failing every remaining key at once.
					time.Sleep(50 * time.Millisecond)
					continue
				}
				n := u.n.Add(1)
				if onAck != nil {
					onAck(n)
				}
			}
		}()
	}
	for _, k := range keys {
		select {
		case next <- k:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return u
}

// uploadWhile is upload over keys prefix/00000, prefix/00001, ... for as
// long as more() says so (asked before each key; at most max keys).
func uploadWhile(ctx context.Context, c *client.Client, class, prefix string, workers, max int, sz sizes,
	onAck func(n int64), more func() bool) *uploads {
	keys := make(chan string)
	go func() {
		defer close(keys)
		for i := 0; i < max && more(); i++ {
			select {
			case keys <- fmt.Sprintf("%s/%05d", prefix, i):
			case <-ctx.Done():
				return
			}
		}
	}()
	u := &uploads{failed: map[string]error{}}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				_, err := c.StoreBytes(ctx, k, class, sz.of(k))
				u.mu.Lock()
				if err != nil {
					u.failed[k] = err
				} else {
					u.acked = append(u.acked, k)
				}
				u.mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				n := u.n.Add(1)
				if onAck != nil {
					onAck(n)
				}
			}
		}()
	}
	wg.Wait()
	return u
}

// keyList makes n keys with a prefix.
func keyList(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/%05d", prefix, i)
	}
	return out
}

// checkAcked reads back every key and counts those missing or different.
func checkAcked(t testing.TB, ctx context.Context, c *client.Client, keys []string, sz sizes) (lost int) {
	t.Helper()
	var mu sync.Mutex
	parallel(keys, 8, func(k string) {
		got, err := c.GetBytes(ctx, k)
		if err == nil && bytes.Equal(got, sz.of(k)) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		lost++
		if lost <= 20 {
			t.Errorf("acknowledged %q: read %d bytes (want %d), %v", k, len(got), len(sz.of(k)), err)
		}
	})
	return lost
}

// checkUnacked classifies keys whose upload failed: absent, or present
// and complete. Anything else (present with other bytes, unreadable) is
// half there and fails the test.
func checkUnacked(t testing.TB, ctx context.Context, c *client.Client, keys []string, sz sizes) (absent, complete, half int) {
	t.Helper()
	var mu sync.Mutex
	parallel(keys, 8, func(k string) {
		_, err := c.FileInfo(ctx, k)
		if client.IsUnknownKey(err) {
			mu.Lock()
			absent++
			mu.Unlock()
			return
		}
		got, gerr := c.GetBytes(ctx, k)
		mu.Lock()
		defer mu.Unlock()
		if err == nil && gerr == nil && bytes.Equal(got, sz.of(k)) {
			complete++
			return
		}
		half++
		t.Errorf("unacknowledged %q is half there: file_info %v, read %d bytes (want %d), %v", k, err, len(got), len(sz.of(k)), gerr)
	})
	return absent, complete, half
}

// parallel runs f on every item with n goroutines.
func parallel[T any](items []T, n int, f func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				f(it)
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

// waitFor polls cond until it reports true, failing the test with cond's
// last description after timeout.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		ok, desc := cond()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, desc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// openDB opens the tracker's database directly, for checks no protocol
// command answers (queue contents, file_on rows).
func openDB(t testing.TB, dsn, user, pass string) *sql.DB {
	t.Helper()
	tg, err := sqlstore.ParseDSN(dsn, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	var db *sql.DB
	switch {
	case tg.MySQL != nil:
		cfg := tg.MySQL.Clone()
		db, err = sql.Open("mysql", cfg.FormatDSN())
	default:
		db, err = sql.Open("sqlite", "file:"+tg.Path+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(2)
	t.Cleanup(func() { db.Close() })
	return db
}

// queryInt runs a one-number query.
func queryInt(t testing.TB, db *sql.DB, q string, args ...any) (int64, error) {
	t.Helper()
	var n sql.NullInt64
	err := db.QueryRow(q, args...).Scan(&n)
	return n.Int64, err
}

// tconn is a raw tracker connection that redials after a failure (the
// tracker may be restarted under it).
type tconn struct {
	addr string
	c    *mogtest.TrackerConn
}

func (tc *tconn) do(cmd string, args wire.Args) (wire.Args, error) {
	if tc.c == nil {
		c, err := mogtest.DialTracker(tc.addr)
		if err != nil {
			return nil, err
		}
		tc.c = c
	}
	a, err := tc.c.Do(cmd, args)
	var we *wire.Error
	if err != nil && !errors.As(err, &we) {
		tc.c.Close()
		tc.c = nil
	}
	return a, err
}

func (tc *tconn) close() {
	if tc.c != nil {
		tc.c.Close()
	}
}

// mustDo is do that fails the test.
func (tc *tconn) mustDo(t testing.TB, cmd string, args wire.Args) wire.Args {
	t.Helper()
	a, err := tc.do(cmd, args)
	if err != nil {
		t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return a
}

// devices returns get_devices as devid → field → value.
func devices(t testing.TB, tc *tconn) map[int]map[string]string {
	t.Helper()
	a := tc.mustDo(t, "get_devices", nil)
	n, _ := strconv.Atoi(a["devices"])
	out := map[int]map[string]string{}
	for i := 1; i <= n; i++ {
		p := "dev" + strconv.Itoa(i) + "_"
		m := map[string]string{}
		for k, v := range a {
			if f, ok := strings.CutPrefix(k, p); ok {
				m[f] = v
			}
		}
		id, _ := strconv.Atoi(m["devid"])
		out[id] = m
	}
	return out
}

// restart starts a killed process again with the same command line.
func restart(t testing.TB, p *mogtest.Proc) *mogtest.Proc {
	t.Helper()
	args := p.Cmd.Args
	return mogtest.Start(t, p.Cmd.Path, args[1:]...)
}

// ctxFor is a context for a test's I/O.
func ctxFor(t testing.TB) context.Context { return mogtest.Context(t) }

// pathsAll asks for every path without the tracker's HEAD check.
func pathsAll() client.PathsOptions { return client.PathsOptions{Count: 10} }

// fidsOf returns the fid of every key (file_info), failing the test for
// keys it cannot find.
func fidsOf(t testing.TB, ctx context.Context, c *client.Client, keys []string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	var mu sync.Mutex
	parallel(keys, 8, func(k string) {
		fi, err := c.FileInfo(ctx, k)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("file_info %q: %v", k, err)
			return
		}
		out[k] = fi.FID
	})
	return out
}

// fidGrabber runs create_open (and nothing else) in a loop through a
// connection that redials, recording every fid handed out, until stop is
// closed. These fids belong to uploads never closed.
type fidGrabber struct {
	mu   sync.Mutex
	fids []int64
	errs int
	done chan struct{}
}

func grabFids(addr, domain string, stop <-chan struct{}) *fidGrabber {
	g := &fidGrabber{done: make(chan struct{})}
	go func() {
		defer close(g.done)
		tc := &tconn{addr: addr}
		defer tc.close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			a, err := tc.do("create_open", wire.Args{"domain": domain, "key": "grab", "fid": "0"})
			g.mu.Lock()
			if err != nil {
				g.errs++
			} else if f, perr := strconv.ParseInt(a["fid"], 10, 64); perr == nil {
				g.fids = append(g.fids, f)
			}
			g.mu.Unlock()
			if err != nil {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	return g
}

// duplicates counts fids given more than once across all lists.
func duplicates(lists ...[]int64) (dups int, total int) {
	seen := map[int64]bool{}
	for _, l := range lists {
		for _, f := range l {
			total++
			if seen[f] {
				dups++
			}
			seen[f] = true
		}
	}
	return dups, total
}

// uploadUntil uploads keys prefix/00000, prefix/00001, ... one at a time
// until stop is closed, and then sends the outcome.
func uploadUntil(ctx context.Context, c *client.Client, class, prefix string, sz sizes, stop <-chan struct{}) <-chan *uploads {
	out := make(chan *uploads, 1)
	go func() {
		u := &uploads{failed: map[string]error{}}
		for i := 0; ; i++ {
			select {
			case <-stop:
				out <- u
				return
			default:
			}
			k := fmt.Sprintf("%s/%05d", prefix, i)
			if _, err := c.StoreBytes(ctx, k, class, sz.of(k)); err != nil {
				u.mu.Lock()
				u.failed[k] = err
				u.mu.Unlock()
				time.Sleep(50 * time.Millisecond)
				continue
			}
			u.mu.Lock()
			u.acked = append(u.acked, k)
			u.mu.Unlock()
		}
	}()
	return out
}

// parallelUnlessSoak runs the test in parallel with the others in CI
// mode; soak-mode tests run one at a time, so that their figures are not
// skewed by each other's load.
func parallelUnlessSoak(t *testing.T) {
	if !soak() {
		t.Parallel()
	}
}
