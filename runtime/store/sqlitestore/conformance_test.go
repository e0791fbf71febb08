package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestConformance runs the shared Store suite, each subtest on a file of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		return open(t, filepath.Join(t.TempDir(), "idem.db"))
	})
}
