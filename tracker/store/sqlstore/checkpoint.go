package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// SQLite's WAL is copied back into the database file by checkpoints. Left
// to itself SQLite runs one inside the commit that takes the WAL past 1000
// pages, on the writer's connection: every write of the tracker then waits
// for thousands of page writes and an fsync. The store turns that off for
// the writer (walAutoCheckpoint, a safety net far above what the
// checkpointer lets accumulate) and runs passive checkpoints from a
// connection of their own, which never block the writer or the readers.

// walAutoCheckpoint is the writer's own checkpoint threshold in pages, for
// when the checkpointer falls far behind.
const walAutoCheckpoint = 20000

// checkpointEvery is how often the checkpointer copies the WAL back.
const checkpointEvery = 250 * time.Millisecond

type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	quit chan struct{}
	done chan struct{}
}

func startCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, quit: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var busy, logPages, done int
		err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
		cancel()
		switch {
		case err != nil && !failing:
			c.log.Warn("sqlstore: WAL checkpoint failed; the writer checkpoints by itself", "err", err)
			failing = true
		case err == nil && failing:
			c.log.Info("sqlstore: WAL checkpoints work again")
			failing = false
		}
	}
}

func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
	c.db.Close()
}
