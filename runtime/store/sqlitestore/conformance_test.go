package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestConformance runs the shared Store suite, each subtest on a file of its
// own, on a hand-moved clock (no expiry test waits).
// Claim reads before it writes or the other way round, from recent claims:
// the suite runs with each order fixed, and with the adaptive default.
func TestConformance(t *testing.T) {
	for name, order := range map[string]int{"Adaptive": 0, "WriteFirst": 1, "ReadFirst": -1} {
		t.Run(name, func(t *testing.T) {
			storetest.RunSubjects(t, func(t *testing.T) storetest.Subject {
				clk := storetest.NewFakeClock()
				s := open(t, filepath.Join(t.TempDir(), "idem.db"), sqlitestore.WithClock(clk.Now))
				sqlitestore.SetClaimOrder(s, order)
				return storetest.Subject{Store: s, Clock: clk}
			})
		})
	}
}
