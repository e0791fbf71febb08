package redisstore_test

import (
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestConformance runs the shared Store suite against the machine's Redis, each
// subtest under a key prefix of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, _ := newStore(t)
		return s
	})
}
