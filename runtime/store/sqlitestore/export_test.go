package sqlitestore

import "time"

// SetClaimOrder fixes the order of Claim's read and write (1: write first,
// -1: read first, 0: from recent claims), so the tests cover both.
func SetClaimOrder(s *Store, order int) { s.order = order }

// WithSyncInterval replaces syncInterval, how soon after a write the writer
// checkpoints.
func WithSyncInterval(d time.Duration) Option { return func(s *Store) { s.sync = d } }
