package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestBatchFailureIsolated sends writes that fail (an argument the driver
// refuses) among concurrent claims, so that they share batches: a failed
// statement rolls its batch back and every write then runs on its own, so
// each claim still succeeds and only the bad writes fail.
func TestBatchFailureIsolated(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "idem.db"), WithPurgeInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	SetClaimOrder(s, 1)
	for round := range 40 {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 8 {
			wg.Go(func() {
				id := fmt.Sprint("r", round, "-", i)
				cl, err := s.Claim(ctx, id, "fp", "t", time.Minute)
				if err == nil && !cl.Acquired {
					err = fmt.Errorf("claim of new id %q not acquired: %+v", id, cl)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Go(func() {
			// int is no driver.Value: the driver fails the statement.
			if _, err := s.write(ctx, stRelease, 1, "t"); err == nil {
				errs <- fmt.Errorf("round %d: a write with an invalid argument succeeded", round)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}
