// Package storetest is the conformance suite every idempotency.Store runs
// unchanged: RunSubjects checks each guarantee of the runtime's semantics that
// one process can observe, directly on the Store and through the real HTTP
// middleware and Do, and, for an idempotency.AtomicStore, that the handler's
// writes commit with the completed record and only then.
//
// The suite never sleeps to let a lease or ttl expire: it moves the store's
// Clock. A store that takes a time source runs on a FakeClock and the expiry
// tests finish at once; stores such as Redis and PostgreSQL read their
// server's clock, so they run on the WallClock, which waits (leases of a few
// hundred milliseconds). Every test uses random ids and operation names, so a
// store shared between runs (or with other tests) never sees collisions.
// Subtests run in parallel; the whole suite takes a few seconds.
//
// A store test is a few lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunSubjects(t, func(t *testing.T) storetest.Subject {
//			clk := storetest.NewFakeClock()
//			s := memstore.New(memstore.WithClock(clk.Now))
//			t.Cleanup(func() { s.Close() })
//			return storetest.Subject{Store: s, Clock: clk}
//		})
//	}
//
// An AtomicStore also passes Subject.Write and Subject.Committed (see
// pgstore's conformance test). NeedService is the one rule for tests that need
// a Redis or PostgreSQL server: skip locally, fail under CI=true.
package storetest
