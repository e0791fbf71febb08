package storetest

import (
	"sync"
	"testing"
	"time"
)

// Clock is the time a store under test reads. The suite never sleeps to let a
// lease or ttl pass: it calls Advance, so a store with a movable clock
// (memstore.WithClock, sqlitestore.WithClock) runs the expiry tests at once.
type Clock interface {
	// Advance makes d pass for the store.
	Advance(tb testing.TB, d time.Duration)
}

// FakeClock is a hand-moved clock: pass its Now to the store's clock option.
// It is safe for concurrent use.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a clock standing at a fixed instant.
func NewFakeClock() *FakeClock {
	return &FakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(_ testing.TB, d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// WallClock is the real clock of a store that reads its server's time (Redis,
// PostgreSQL), which no test can move: Advance waits d in real time (the test
// fails rather than hang past its deadline).
type WallClock struct{}

// Advance waits until d has passed.
func (WallClock) Advance(tb testing.TB, d time.Duration) {
	tb.Helper()
	if dl, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := dl.Deadline(); ok && time.Until(end) < d {
			tb.Fatalf("storetest: cannot wait %v before the test deadline", d)
		}
	}
	<-time.After(d)
}
