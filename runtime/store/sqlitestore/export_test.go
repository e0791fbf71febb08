package sqlitestore

import "time"

// SetClaimOrder fixes the order of Claim's read and write (1: write first,
// -1: read first, 0: from recent claims), so the tests cover both.
func SetClaimOrder(s *Store, order int) { s.order = order }

// WithSyncInterval replaces syncInterval, how soon after a write the writer
// checkpoints.
func WithSyncInterval(d time.Duration) Option { return func(s *Store) { s.sync = d } }

// FramesStaged is how many WAL frames walVFS staged, and StagedWrites how
// many writes it made of them.
func FramesStaged() (frames, writes uint64) { return framesStaged.Load(), stagedWrites.Load() }

// HeadersRewritten is how many WAL frame headers SQLite rewrote after reading
// their frame, which walVFS writes at once.
func HeadersRewritten() uint64 { return headersRewritten.Load() }

// MappedReads is how many WAL reads walVFS served from its mapping.
func MappedReads() uint64 { return mappedReads.Load() }

// WALVFS registers walVFS and returns its name.
func WALVFS() (string, error) { return registerVFS() }
