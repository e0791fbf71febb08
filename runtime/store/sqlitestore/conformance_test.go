package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestConformance runs the shared Store suite, each subtest on a file of its
// own, on a hand-moved clock (no expiry test waits).
func TestConformance(t *testing.T) {
	storetest.RunSubjects(t, func(t *testing.T) storetest.Subject {
		clk := storetest.NewFakeClock()
		s := open(t, filepath.Join(t.TempDir(), "idem.db"), sqlitestore.WithClock(clk.Now))
		return storetest.Subject{Store: s, Clock: clk}
	})
}
