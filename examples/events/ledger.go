package main

import (
	"fmt"
	"maps"
	"sync"
)

// Ledger is the state the events change: one balance per account. It counts how
// many times each event was applied, so that a test can check that every event
// took effect exactly once however often it was delivered.
//
// A real service keeps its ledger in a database, ideally the one that holds the
// idempotency records (PostgreSQL's atomic mode commits both in one
// transaction); this one lives in memory to keep the example small.
type Ledger struct {
	mu       sync.Mutex
	balances map[string]int64
	applied  map[string]int // event id -> times applied
	total    int64          // sum of applied
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{balances: make(map[string]int64), applied: make(map[string]int)}
}

// Apply books event id on account: a "payment.succeeded" adds amount, a
// "payment.refunded" subtracts it. It returns how many events the ledger has
// applied in total, this one included. It does not deduplicate: that is the
// idempotency runtime's job, and this is the effect it protects.
func (l *Ledger) Apply(id, typ, account string, amount int64) (int64, error) {
	var delta int64
	switch typ {
	case "payment.succeeded":
		delta = amount
	case "payment.refunded":
		delta = -amount
	default:
		return 0, fmt.Errorf("ledger: unknown event type %q", typ)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.balances[account] += delta
	l.applied[id]++
	l.total++
	return l.total, nil
}

// Snapshot returns a copy of the balances and the number of events applied.
func (l *Ledger) Snapshot() (map[string]int64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.balances), l.total
}

// Times returns how many times event id was applied.
func (l *Ledger) Times(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied[id]
}
