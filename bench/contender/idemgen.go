package contender

import (
	"context"
	"fmt"
	"io"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
	_ "github.com/idemgen/idemgen/runtime/store/storeurl/all" // every backend, picked by URL
)

// idemgenPolicy is the policy every idemgen contender runs: the extension's
// defaults (Idempotency-Key header, fingerprint of method, path, query and body,
// concurrent duplicates rejected with 409).
var idemgenPolicy = idempotency.Policy{Operation: "createPayment"}

func init() {
	// Fiber's middleware makes a duplicate wait for the first and replays it;
	// this variant does the same (concurrent: wait) for a like-for-like contention run.
	register(Info{Name: "idemgen-memory-wait", Baseline: "nethttp", Store: "memory", ContentionOnly: true},
		func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
			st := memstore.New()
			p := idemgenPolicy
			p.Concurrent = idempotency.ConcurrentWait
			mw, err := idempotency.New(st, p)
			if err != nil {
				_ = st.Close()
				return nil, fmt.Errorf("contender: idemgen-memory-wait: %w", err)
			}
			return newHTTPServer(mw.Wrap(Handler(rec)), st.Close), nil
		})
	for _, store := range []string{"memory", "redis", "postgres", "sqlite"} {
		register(Info{Name: "idemgen-" + store, Baseline: "nethttp", Store: store, Shared: store != "memory"},
			func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
				st, closer, err := openIdemgenStore(ctx, store, env)
				if err != nil {
					return nil, err
				}
				mw, err := idempotency.New(st, idemgenPolicy)
				if err != nil {
					_ = closer.Close()
					return nil, fmt.Errorf("contender: idemgen-%s: %w", store, err)
				}
				return newHTTPServer(mw.Wrap(Handler(rec)), closer.Close), nil
			})
	}
}

func openIdemgenStore(ctx context.Context, store string, env Env) (idempotency.Store, io.Closer, error) {
	var url string
	switch store {
	case "memory":
		st := memstore.New()
		return st, st, nil
	case "redis":
		url = env.RedisURL
	case "postgres":
		url = env.PostgresURL
	case "sqlite":
		if env.SQLitePath != "" {
			url = "sqlite://" + env.SQLitePath
		}
	}
	if url == "" {
		return nil, nil, fmt.Errorf("contender: idemgen-%s needs a store URL", store)
	}
	st, closer, err := storeurl.Open(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("contender: idemgen-%s: %w", store, err)
	}
	return st, closer, nil
}
