package pgstore_test

import (
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestConformance runs the shared Store suite against the machine's PostgreSQL,
// each subtest in a table of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, _, _ := newStore(t)
		return s
	})
}
