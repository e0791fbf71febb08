package memstore

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

func TestSizeClasses(t *testing.T) {
	prev := -1
	for n := 1; n <= maxSlot; n++ {
		class, size := sizeClass(n)
		if size < n || class < 0 || class >= numClasses {
			t.Fatalf("sizeClass(%d) = %d, %d", n, class, size)
		}
		if class < prev {
			t.Fatalf("sizeClass(%d) = class %d, below %d for a smaller size", n, class, prev)
		}
		prev = class
		if c2, s2 := sizeClass(size); c2 != class || s2 != size {
			t.Fatalf("sizeClass(%d) = %d, %d; of its own size %d: %d, %d", n, class, size, size, c2, s2)
		}
		if size%16 != 0 || (n > smallLimit && float64(size-n) > 0.0313*float64(n)) {
			t.Fatalf("sizeClass(%d) = %d: misaligned or more than 3%% rounding", n, size)
		}
	}
}

// chunkBytes is the memory the store has mapped.
func (s *Store) chunkBytes() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, c := range sh.slab.chunks {
			n += len(c)
		}
		sh.mu.Unlock()
	}
	return n
}

// Expired, released and purged records' slots are reused: a steady load of
// short-lived records maps no more memory after its first rounds.
func TestSlotsAreReused(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(WithSweepInterval(-1), WithClock(func() time.Time { return now }))
	defer s.Close()
	res := bytes.Repeat([]byte("r"), 1100)
	round := func(r int) {
		for i := range 2000 {
			// The same ids every round: each shard gets the same records,
			// so its free slots must be enough (with other ids a shard
			// may get more records than in any earlier round).
			id := fmt.Sprintf("id-%d", i)
			if _, err := s.Claim(ctx, id, "fp", "tok", time.Minute); err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				if err := s.Release(ctx, id, "tok"); err != nil {
					t.Fatal(err)
				}
			} else if err := s.Complete(ctx, id, "tok", res, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(2 * time.Minute)
		if _, err := s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
	}
	round(0)
	round(1)
	mapped := s.chunkBytes()
	for r := 2; r < 10; r++ {
		round(r)
	}
	if got := s.chunkBytes(); got != mapped {
		t.Fatalf("mapped %d bytes after 8 more rounds, %d before: slots are not reused", got, mapped)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d after the last purge", s.Len())
	}
}

// Records larger than a slab slot get a mapping of their own, unmapped when
// they go.
func TestLargeRecord(t *testing.T) {
	ctx := context.Background()
	s := New(WithSweepInterval(-1))
	defer s.Close()
	res := bytes.Repeat([]byte("0123456789"), maxSlot/5)
	s.Claim(ctx, "big", "fp", "tok", time.Minute)
	if err := s.Complete(ctx, "big", "tok", res, time.Hour); err != nil {
		t.Fatal(err)
	}
	before := s.chunkBytes()
	if before < len(res) {
		t.Fatalf("mapped %d bytes for a %d-byte result", before, len(res))
	}
	rec, err := s.Get(ctx, "big")
	if err != nil || !bytes.Equal(rec.Result, res) {
		t.Fatalf("Get: %v, %d bytes", err, len(rec.Result))
	}
	fp, got, ok := s.PeekCompleted([]byte("big"))
	if !ok || fp != "fp" || !bytes.Equal(got, res) {
		t.Fatalf("PeekCompleted: %v %q, %d bytes", ok, fp, len(got))
	}
	// Replace it (expired, then claimed again): the big mapping goes.
	sh, h, _ := s.lock("big")
	slot, _ := sh.find("big", h)
	sh.remove(h, slot)
	sh.mu.Unlock()
	if after := s.chunkBytes(); after > before-len(res) {
		t.Fatalf("mapped %d bytes after deleting the large record, %d before", after, before)
	}
}

// Ids whose hashes collide are told apart by their stored bytes.
func TestHashCollisions(t *testing.T) {
	s := New(WithSweepInterval(-1))
	defer s.Close()
	sh := &s.shards[0]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	const h = 42
	ids := []string{"a", "b", "c"}
	for i, id := range ids {
		if err := sh.put(id, h, false, 0, "fp"+id, "tok", nil, idempotency.StateInFlight, int64(i), 100); err != nil {
			t.Fatal(err)
		}
	}
	if len(sh.index) != 1 || len(sh.spill) != 2 {
		t.Fatalf("index %d, spill %d; want 1 and 2", len(sh.index), len(sh.spill))
	}
	check := func(present ...string) {
		t.Helper()
		for _, id := range ids {
			slot, ok := sh.find(id, h)
			want := false
			for _, p := range present {
				want = want || p == id
			}
			if ok != want || (ok && string(sh.rec(slot).fingerprint()) != "fp"+id) {
				t.Fatalf("find(%q) = %v, want %v", id, ok, want)
			}
		}
		if _, ok := sh.find("d", h); ok {
			t.Fatal("found an id never stored")
		}
	}
	check("a", "b", "c")
	// Replace a spilled record (a completion), then delete the indexed one.
	slot, _ := sh.find("b", h)
	if err := sh.put("b", h, true, slot, "fpb", "tok", []byte("res"), idempotency.StateCompleted, 0, 100); err != nil {
		t.Fatal(err)
	}
	check("a", "b", "c")
	slot, _ = sh.find("a", h)
	sh.remove(h, slot)
	check("b", "c")
	slot, _ = sh.find("c", h)
	sh.remove(h, slot)
	check("b")
	if slot, _ := sh.find("b", h); string(sh.rec(slot).result()) != "res" {
		t.Fatalf("b's result = %q", sh.rec(slot).result())
	}
	if sh.len() != 1 {
		t.Fatalf("len = %d", sh.len())
	}
	// Purge reaches spilled records (all these expired at 100 ns).
	sh.mu.Unlock()
	n, _ := s.purgeShard(sh)
	sh.mu.Lock()
	if n != 1 || sh.len() != 0 {
		t.Fatalf("purged %d, %d left", n, sh.len())
	}
}
