package idempotency

import (
	"testing"
	"time"
)

// The 409's Retry-After estimates when the holder is done from the recent
// handler duration, not the remaining lease.
func TestInFlightRetryAfter(t *testing.T) {
	m := &Middleware{c: &compiled{lease: time.Hour}}
	now := time.Now()
	if got := m.inFlightRetryAfter(now.Add(time.Hour)); got != "1" {
		t.Errorf("no handler timed yet: Retry-After %s, want 1", got)
	}
	m.noteDuration(1500 * time.Millisecond)
	if got := m.inFlightRetryAfter(now.Add(time.Hour)); got != "2" {
		t.Errorf("1.5 s handler, claim just taken: Retry-After %s, want 2", got)
	}
	// The claim has run 1 s of its lease: about 0.5 s to go.
	if got := m.inFlightRetryAfter(now.Add(time.Hour - time.Second)); got != "1" {
		t.Errorf("1.5 s handler, claim 1 s old: Retry-After %s, want 1", got)
	}
	m.noteDuration(5500 * time.Millisecond) // average moves a quarter of the way: 2.5 s
	if got := m.inFlightRetryAfter(now.Add(time.Hour)); got != "3" {
		t.Errorf("after a 5.5 s run: Retry-After %s, want 3", got)
	}
	// Never beyond the remaining lease: a 3 s lease taken 1 s ago.
	m = &Middleware{c: &compiled{lease: 3 * time.Second}}
	m.noteDuration(time.Minute)
	if got := m.inFlightRetryAfter(now.Add(2 * time.Second)); got != "2" {
		t.Errorf("2 s of lease left: Retry-After %s, want 2", got)
	}
	if got := m.inFlightRetryAfter(now.Add(-time.Second)); got != "1" {
		t.Errorf("lease over: Retry-After %s, want 1", got)
	}
}
