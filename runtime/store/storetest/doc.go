// Package storetest is the conformance suite every idempotency.Store runs
// unchanged: Run checks each guarantee of the runtime's semantics that one
// process can observe, directly on the Store and through the real HTTP
// middleware and Do.
//
// The suite uses real, short durations (leases of a few hundred milliseconds)
// because stores such as Redis and PostgreSQL use their server's clock, and
// random ids and operation names in every test, so a store shared between
// runs (or with other tests) never sees collisions. Subtests run in parallel;
// the whole suite takes a few seconds.
//
// A store test is a few lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) idempotency.Store {
//			s := memstore.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest
