package purger

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatchesUntilFewerThanABatchRemain(t *testing.T) {
	for _, tc := range []struct {
		expired, batch int
		calls          []int // the rows each step deleted
	}{
		{expired: 0, batch: 10, calls: []int{0}},
		{expired: 7, batch: 10, calls: []int{7}},
		{expired: 25, batch: 10, calls: []int{10, 10, 5}},
		{expired: 20, batch: 10, calls: []int{10, 10, 0}}, // a full batch may not be the last
		{expired: 3, batch: 1, calls: []int{1, 1, 1, 0}},
	} {
		left := tc.expired
		var calls []int
		total, err := Batches(context.Background(), tc.batch, func(ctx context.Context, limit int) (int, error) {
			if limit != tc.batch {
				t.Errorf("step limit %d, want the batch %d", limit, tc.batch)
			}
			n := min(left, limit)
			left -= n
			calls = append(calls, n)
			return n, nil
		})
		if err != nil || total != tc.expired || left != 0 || !reflect.DeepEqual(calls, tc.calls) {
			t.Errorf("%d expired, batch %d: total %d, %d left, steps %v, err %v; want %d, 0 left, steps %v",
				tc.expired, tc.batch, total, left, calls, err, tc.expired, tc.calls)
		}
	}
}

func TestBatchesStopsAtAnError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	total, err := Batches(context.Background(), 10, func(ctx context.Context, limit int) (int, error) {
		calls++
		if calls == 2 {
			return 0, boom
		}
		return limit, nil
	})
	if !errors.Is(err, boom) || total != 10 || calls != 2 {
		t.Errorf("total %d after %d steps, err %v; want 10 after 2 steps and the step's error", total, calls, err)
	}
}

func TestLoopPurgesUntilClose(t *testing.T) {
	var runs atomic.Int64
	ran := make(chan struct{}, 100)
	l := Start(time.Millisecond, func(ctx context.Context) (int, error) {
		runs.Add(1)
		select {
		case ran <- struct{}{}:
		default:
		}
		return 0, nil
	}, func(err error) { t.Errorf("warned: %v", err) })
	for range 3 {
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("the loop did not purge")
		}
	}
	l.Close()
	after := runs.Load()
	time.Sleep(20 * time.Millisecond)
	if n := runs.Load(); n != after {
		t.Errorf("purged %d more times after Close", n-after)
	}
	l.Close() // harmless
}

func TestCloseCancelsARunningPurge(t *testing.T) {
	started := make(chan struct{})
	var warned atomic.Bool
	l := Start(time.Millisecond, func(ctx context.Context) (int, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done() // a purge that runs until canceled
		return 0, ctx.Err()
	}, func(error) { warned.Store(true) })
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not purge")
	}
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop a running purge")
	}
	if warned.Load() {
		t.Error("the cancellation by Close was reported as a failure")
	}
}

func TestLoopWarnsOnFailures(t *testing.T) {
	boom := errors.New("boom")
	var mu sync.Mutex
	var got []error
	warned := make(chan struct{}, 1)
	l := Start(time.Millisecond, func(ctx context.Context) (int, error) { return 0, boom }, func(err error) {
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
		select {
		case warned <- struct{}{}:
		default:
		}
	})
	defer l.Close()
	select {
	case <-warned:
	case <-time.After(10 * time.Second):
		t.Fatal("a failed purge was not reported")
	}
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(got[0], boom) {
		t.Errorf("warned %v, want %v", got[0], boom)
	}
}

func TestDisabledLoop(t *testing.T) {
	l := Start(0, func(ctx context.Context) (int, error) {
		t.Error("a disabled loop purged")
		return 0, nil
	}, func(error) {})
	done := make(chan struct{})
	go func() { l.Close(); l.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close of a disabled loop blocked")
	}
}
