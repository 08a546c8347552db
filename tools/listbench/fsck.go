package main

import (
	"context"
	"fmt"
	"time"
)

// waitFsck polls the database until the fsck run has ended (no fsck_host:
// every fid was queued) and its queue is empty (every fid was checked), then
// prints the time it waited and fsck_log's rows by event code.
func waitFsck(ctx context.Context, o options) error {
	db, err := openDB(o.db, o.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var host, queued int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM server_settings WHERE field = 'fsck_host'").Scan(&host); err != nil {
			return fmt.Errorf("fsck_host: %w", err)
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM file_to_queue WHERE type = 1").Scan(&queued); err != nil {
			return fmt.Errorf("fsck queue: %w", err)
		}
		if host == 0 && queued == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	el := time.Since(start)
	var checked int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM file").Scan(&checked); err != nil {
		return fmt.Errorf("count files: %w", err)
	}
	fmt.Printf("fsck of %d files: %.2f s, %.0f files/s\n", checked, el.Seconds(), float64(checked)/el.Seconds())
	rows, err := db.QueryContext(ctx, "SELECT evcode, COUNT(*) FROM fsck_log GROUP BY evcode ORDER BY evcode")
	if err != nil {
		return fmt.Errorf("fsck_log: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var code string
		var c int64
		if err := rows.Scan(&code, &c); err != nil {
			return fmt.Errorf("fsck_log: %w", err)
		}
		fmt.Printf("fsck_log %s: %d\n", code, c)
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fsck_log: %w", err)
	}
	if n == 0 {
		fmt.Println("fsck_log: clean (no rows)")
	}
	return nil
}
