package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "listbench:", err)
		os.Exit(1)
	}
}

type options struct {
	db, dsn, tracker, domain, class string
	files                           string
	fill, n, rangeN, reps, loops    int
	cold                            int
	measure, fsckWait               bool
	dur                             time.Duration
}

func run(ctx context.Context) error {
	var o options
	flag.StringVar(&o.db, "db", "sqlite", "database kind for -fill: sqlite or mysql")
	flag.StringVar(&o.dsn, "dsn", "", "for -fill: the SQLite file, or a go-sql-driver DSN")
	flag.StringVar(&o.tracker, "tracker", "127.0.0.1:7101", "tracker for -measure")
	flag.StringVar(&o.domain, "domain", "bench", "domain")
	flag.StringVar(&o.class, "class", "one", "class of the filled files")
	flag.IntVar(&o.fill, "fill", 0, "insert this many files (0: none)")
	flag.StringVar(&o.files, "files", "", "for -fill: also write each file (fid%101 bytes) under this storage node docroot")
	flag.BoolVar(&o.fsckWait, "fsck-wait", false, "wait (polling -db/-dsn) until the fsck run has ended and its queue is empty; print the time and fsck_log's counts")
	flag.IntVar(&o.n, "n", 0, "files in the domain for -measure (default: -fill)")
	flag.IntVar(&o.rangeN, "range", 10000, "keys under prefix z/ (at most half the files)")
	flag.BoolVar(&o.measure, "measure", false, "measure list_keys and get_paths through the tracker")
	flag.IntVar(&o.reps, "reps", 20, "times each list_keys page is timed")
	flag.IntVar(&o.loops, "loops", 4, "listing loops beside get_paths")
	flag.DurationVar(&o.dur, "dur", 10*time.Second, "length of each get_paths phase")
	flag.IntVar(&o.cold, "cold", 2000, "keys looked up cold and then warm (noverify=1; 0: skip)")
	flag.Parse()
	if o.n == 0 {
		o.n = o.fill
	}
	o.rangeN = min(o.rangeN, o.n/2)
	if o.fill > 0 {
		db, err := openDB(o.db, o.dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		f, err := newFiller(ctx, db, o.db == "mysql", o.domain, o.class)
		if err != nil {
			return err
		}
		if o.files != "" {
			f.files = newFileWriter(o.files, f.devid, 4)
		}
		if err := f.fill(ctx, o.fill, o.rangeN); err != nil {
			return err
		}
	}
	if o.fsckWait {
		return waitFsck(ctx, o)
	}
	if !o.measure {
		return nil
	}
	if o.n < 2 {
		return errors.New("-measure needs -n (the files in the domain)")
	}
	c, err := client.New(client.Config{Trackers: []string{o.tracker}, Domain: o.domain, Timeout: time.Minute})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := measurePages(ctx, c, o); err != nil {
		return err
	}
	if err := measureColdWarm(ctx, o); err != nil {
		return err
	}
	return measurePaths(ctx, c, o)
}

// timeIt runs f reps times and returns the median, the maximum and the
// first call's time (the one that may find the database's pages cold).
func timeIt(reps int, f func() error) (med, max, first time.Duration, err error) {
	ds := make([]time.Duration, 0, reps)
	for range reps {
		t := time.Now()
		if err := f(); err != nil {
			return 0, 0, 0, err
		}
		ds = append(ds, time.Since(t))
	}
	first = ds[0]
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1], first, nil
}

func measurePages(ctx context.Context, c *client.Client, o options) error {
	before := (o.n - o.rangeN) / 2
	last := keyAt(before+o.rangeN-1, o.n, o.rangeN)
	mid := keyAt(before+o.rangeN/2, o.n, o.rangeN)
	pages := []struct{ name, after string }{{"first", ""}, {"middle", mid}, {"last", last}}
	for _, p := range pages {
		var got int
		med, max, first, err := timeIt(o.reps, func() error {
			keys, _, err := c.ListKeys(ctx, "z/", p.after, 1000)
			if client.IsNoneMatch(err) {
				err = nil
			}
			got = len(keys)
			return err
		})
		if err != nil {
			return fmt.Errorf("list_keys %s page: %w", p.name, err)
		}
		fmt.Printf("list_keys z/ %-6s page: %4d keys, median %8.3f ms, max %8.3f ms, first call %8.3f ms\n", p.name, got, ms(med), ms(max), ms(first))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// measureColdWarm times get_paths with noverify=1 (answered from the
// tracker's fid cache when it holds the key) of o.cold distinct random keys
// outside z/ that no phase before looked up: each key once (cold: the
// tracker reads the database) and at once again (warm: from its cache,
// well within the cache's TTL). The client's own path cache is off.
func measureColdWarm(ctx context.Context, o options) error {
	nf := o.n - o.rangeN
	k := min(o.cold, nf)
	if k <= 0 {
		return nil
	}
	c, err := client.New(client.Config{Trackers: []string{o.tracker}, Domain: o.domain, Timeout: time.Minute, PathCacheTTL: -1})
	if err != nil {
		return err
	}
	defer c.Close()
	cold := make([]time.Duration, 0, k)
	warm := make([]time.Duration, 0, k)
	seen := make(map[int]bool, k)
	for len(seen) < k {
		i := rand.N(nf)
		if seen[i] {
			continue
		}
		seen[i] = true
		key := otherKey(i, o.n, o.rangeN)
		for _, ds := range []*[]time.Duration{&cold, &warm} {
			t := time.Now()
			paths, err := c.Paths(ctx, key, client.PathsOptions{})
			if err != nil {
				return fmt.Errorf("get_paths %q: %w", key, err)
			}
			if len(paths) == 0 {
				return fmt.Errorf("get_paths %q: no path", key)
			}
			*ds = append(*ds, time.Since(t))
		}
	}
	for _, p := range []struct {
		name string
		ds   []time.Duration
	}{{"cold", cold}, {"warm", warm}} {
		slices.Sort(p.ds)
		q := func(f float64) float64 { return ms(p.ds[int(f*float64(len(p.ds)-1))]) }
		fmt.Printf("get_paths noverify=1 %s: %d keys, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", p.name, len(p.ds), q(0.5), q(0.99), q(1))
	}
	return nil
}

func measurePaths(ctx context.Context, c *client.Client, o options) error {
	if err := pathsPhase(ctx, c, o, 0); err != nil {
		return err
	}
	return pathsPhase(ctx, c, o, o.loops)
}

// pathsPhase times get_paths of random keys outside z/ for o.dur while loops
// listing loops run.
func pathsPhase(ctx context.Context, c *client.Client, o options, loops int) error {
	end := time.Now().Add(o.dur)
	var stop atomic.Bool
	var pages atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, loops)
	for range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := listLoop(ctx, c, &stop, &pages); err != nil {
				errs <- err
			}
		}()
	}
	var ds []time.Duration
	nf := o.n - o.rangeN
	var err error
	for time.Now().Before(end) && ctx.Err() == nil {
		key := otherKey(rand.N(nf), o.n, o.rangeN)
		t := time.Now()
		if _, err = c.Paths(ctx, key, client.PathsOptions{Verify: true}); err != nil {
			err = fmt.Errorf("get_paths %q: %w", key, err)
			break
		}
		ds = append(ds, time.Since(t))
	}
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return err
	}
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if len(ds) == 0 {
		return errors.New("no get_paths call finished")
	}
	slices.Sort(ds)
	q := func(p float64) float64 { return ms(ds[int(p*float64(len(ds)-1))]) }
	fmt.Printf("get_paths beside %d listing loops: %d calls, p50 %.3f ms, p99 %.3f ms, max %.3f ms; listing pages %d (%.0f/s)\n",
		loops, len(ds), q(0.5), q(0.99), q(1), pages.Load(), float64(pages.Load())/o.dur.Seconds())
	return nil
}

// listLoop pages through z/ and then f/ (limit 1000) until stop is set.
func listLoop(ctx context.Context, c *client.Client, stop *atomic.Bool, pages *atomic.Int64) error {
	for !stop.Load() {
		for _, prefix := range []string{"z/", "f/"} {
			after := ""
			for !stop.Load() {
				keys, next, err := c.ListKeys(ctx, prefix, after, 1000)
				if client.IsNoneMatch(err) {
					break
				}
				if err != nil {
					return err
				}
				pages.Add(1)
				if len(keys) < 1000 {
					break
				}
				after = next
			}
		}
	}
	return nil
}
