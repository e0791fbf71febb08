package pgstore

import "github.com/jackc/pgx/v5"

// MaxFlights is how many flights run at once.
const MaxFlights = maxFlights

// SetFlightHook sets a function that each flight (a lone statement or a
// batch) calls on its connection before it sends, with its statements' ids.
// Set it before the store is used.
func SetFlightHook(s *Store, f func(conn *pgx.Conn, ids []string)) { s.batcher.hook = f }

// Queued returns how many calls wait for a flight.
func Queued(s *Store) int {
	s.batcher.mu.Lock()
	defer s.batcher.mu.Unlock()
	return len(s.batcher.queue)
}
