// Package purger holds what the SQL stores (pgstore, sqlitestore) share about
// purging expired records: deleting them in bounded batches, and a background
// loop that does so at an interval until the store is closed.
package purger

import (
	"context"
	"time"
)

// Batches calls step until it deletes fewer records than batch, and returns
// how many it deleted in all. step deletes at most limit expired records and
// returns how many it deleted; bounded batches keep each statement (and the
// locks it holds) short. An error of step stops the loop and is returned with
// the count so far.
func Batches(ctx context.Context, batch int, step func(ctx context.Context, limit int) (int, error)) (int, error) {
	total := 0
	for {
		n, err := step(ctx, batch)
		total += n
		if err != nil {
			return total, err
		}
		if n < batch {
			return total, nil
		}
	}
}

// Loop runs a purge in the background at a fixed interval until Close.
type Loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs purge every interval, in a goroutine, until Close; interval zero
// or less starts nothing (Close then returns at once). The context purge gets
// is canceled by Close, so a purge that is running stops early. A purge error
// is passed to warn, unless it happened because Close canceled the purge.
func Start(interval time.Duration, purge func(context.Context) (int, error), warn func(error)) *Loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{cancel: cancel, done: make(chan struct{})}
	if interval <= 0 {
		close(l.done)
		return l
	}
	go l.run(ctx, interval, purge, warn)
	return l
}

func (l *Loop) run(ctx context.Context, interval time.Duration, purge func(context.Context) (int, error), warn func(error)) {
	defer close(l.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := purge(ctx); err != nil && ctx.Err() == nil {
				warn(err)
			}
		}
	}
}

// Close stops the loop, canceling a purge that is running, and waits until it
// has returned. Calling Close more than once, or concurrently, is harmless.
func (l *Loop) Close() {
	l.cancel()
	<-l.done
}
