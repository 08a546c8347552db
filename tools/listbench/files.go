package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

// fileWriter creates files straight in a storage node's device folder
// (docroot/devN/<fid path>), by plain writes, several at a time.
type fileWriter struct {
	docroot string
	devid   int
	workers int
	pending []fileSpec
	dirs    map[string]bool
}

type fileSpec struct {
	fid    int64
	length int64
}

func newFileWriter(docroot string, devid, workers int) *fileWriter {
	return &fileWriter{docroot: docroot, devid: devid, workers: max(workers, 1), dirs: map[string]bool{}}
}

func (w *fileWriter) add(fid, length int64) {
	w.pending = append(w.pending, fileSpec{fid, length})
}

// flush writes the pending files: their directories first, then the
// files by w.workers goroutines.
func (w *fileWriter) flush() error {
	for _, s := range w.pending {
		dir := filepath.Dir(filepath.Join(w.docroot, nodeproto.FIDPath(w.devid, s.fid)))
		if w.dirs[dir] {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", dir, err)
		}
		w.dirs[dir] = true
	}
	body := bytes.Repeat([]byte{'x'}, 101)
	jobs := make(chan fileSpec)
	errs := make(chan error, w.workers)
	var wg sync.WaitGroup
	for range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range jobs {
				p := filepath.Join(w.docroot, nodeproto.FIDPath(w.devid, s.fid))
				if err := os.WriteFile(p, body[:s.length], 0o644); err != nil {
					errs <- fmt.Errorf("write fid %d: %w", s.fid, err)
					for range jobs {
					}
					return
				}
			}
		}()
	}
	for _, s := range w.pending {
		jobs <- s
	}
	close(jobs)
	wg.Wait()
	w.pending = w.pending[:0]
	close(errs)
	return <-errs
}
