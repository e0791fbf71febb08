// Package storeurl opens an idempotency store from a URL, so that a service
// (or an example) switches backends with one flag or environment variable:
//
//	memory://                                        in-process (memstore), always available
//	redis://[user:pass@]host:port/db?prefix=p:       Redis (redisstore); rediss:// for TLS
//	redis+cluster://host:port?addr=host2:port2       Redis Cluster (redisstore); rediss+cluster://
//	redis+sentinel://host:26379/db?master_name=m     Redis behind Sentinel (redisstore); rediss+sentinel://
//	postgres://user@host:5432/db?table=t             PostgreSQL (pgstore); also postgresql://
//	sqlite:///var/lib/app/idem.db                    SQLite file (sqlitestore); sqlite:rel/path.db
//
// Like database/sql, storeurl links no driver by itself: a store package
// registers its schemes when it is imported, so a service links only the
// backend it uses:
//
//	import _ "github.com/idemgen/idemgen/runtime/store/redisstore" // redis://, redis+cluster://, ...
//
// and package storeurl/all imports every driver, for programs (the examples,
// idemgen proxy) that let the user pick any backend.
//
// Query parameters that configure the store (prefix, dialer_retries, table,
// purge_interval) are removed before the rest of the URL goes to the driver, so
// every driver option (sslmode, pool_max_conns, dial_timeout, ...) keeps
// working.
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// An Opener opens the store a parsed URL names and checks that its backend
// answers. The Closer releases everything the Opener created.
type Opener func(ctx context.Context, u *url.URL) (idempotency.Store, io.Closer, error)

// driver is a registered Opener and the package that registered it, for the
// error that names what to import.
type driver struct {
	open Opener
	pkg  string
}

var (
	mu      sync.RWMutex
	drivers = map[string]driver{}
)

// known names the package that serves each scheme storeurl documents, so that
// Open can say which import is missing.
var known = map[string]string{
	"redis":           "github.com/idemgen/idemgen/runtime/store/redisstore",
	"rediss":          "github.com/idemgen/idemgen/runtime/store/redisstore",
	"redis+cluster":   "github.com/idemgen/idemgen/runtime/store/redisstore",
	"rediss+cluster":  "github.com/idemgen/idemgen/runtime/store/redisstore",
	"redis+sentinel":  "github.com/idemgen/idemgen/runtime/store/redisstore",
	"rediss+sentinel": "github.com/idemgen/idemgen/runtime/store/redisstore",
	"postgres":        "github.com/idemgen/idemgen/runtime/store/pgstore",
	"postgresql":      "github.com/idemgen/idemgen/runtime/store/pgstore",
	"sqlite":          "github.com/idemgen/idemgen/runtime/store/sqlitestore",
}

// Register makes open serve URLs of the given schemes; pkg is the import path
// of the registering package (for error messages). Store packages call it from
// an init function. It panics when a scheme is registered twice, as
// database/sql.Register does: that is a programming error.
func Register(pkg string, open Opener, schemes ...string) {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range schemes {
		if s == "memory" {
			panic("storeurl: memory:// is built in")
		}
		if d, dup := drivers[s]; dup {
			panic("storeurl: scheme " + s + " registered twice (by " + d.pkg + " and " + pkg + ")")
		}
		drivers[s] = driver{open: open, pkg: pkg}
	}
}

// Schemes returns the URL schemes Open accepts now: memory and every
// registered one, sorted.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	s := []string{"memory"}
	for k := range drivers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Open opens the store rawURL names and checks that its backend answers (Redis
// is pinged, PostgreSQL and SQLite are migrated). The Closer releases everything
// Open created (background purgers, pools, clients, files); the caller closes it
// after the last use of the store.
func Open(ctx context.Context, rawURL string) (idempotency.Store, io.Closer, error) {
	if rawURL == "" {
		return nil, nil, errors.New("storeurl: empty store URL; want one of " + strings.Join(Schemes(), "://, ") + "://")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("storeurl: %w", err)
	}
	if u.Scheme == "memory" {
		if u.Host != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, nil, fmt.Errorf("storeurl: %q: a memory store takes no host, path or options; want memory://", u.Redacted())
		}
		s := memstore.New()
		return s, s, nil
	}
	if u.Scheme == "" {
		return nil, nil, fmt.Errorf("storeurl: %q has no scheme; want one of %s", u.Redacted(), strings.Join(Schemes(), ", "))
	}
	mu.RLock()
	d, ok := drivers[u.Scheme]
	mu.RUnlock()
	if !ok {
		if pkg, ok := known[u.Scheme]; ok {
			return nil, nil, fmt.Errorf("storeurl: %q: no driver for %s:// is linked; import _ %q (or storeurl/all)", u.Redacted(), u.Scheme, pkg)
		}
		return nil, nil, fmt.Errorf("storeurl: unsupported scheme %q; want one of %s", u.Scheme, strings.Join(Schemes(), ", "))
	}
	return d.open(ctx, u)
}

// Take removes the store's own query parameters (names) from u and returns
// their values; the rest of u then goes to the backend's driver. Each one may
// be given once, non-empty.
func Take(u *url.URL, names ...string) (map[string]string, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("storeurl: %q: %w", u.Redacted(), err)
	}
	got := map[string]string{}
	for _, n := range names {
		if vs, ok := q[n]; ok {
			if len(vs) != 1 || vs[0] == "" {
				return nil, fmt.Errorf("storeurl: %q: want one non-empty %s", u.Redacted(), n)
			}
			got[n] = vs[0]
			q.Del(n)
		}
	}
	u.RawQuery = q.Encode()
	return got, nil
}

// Duration parses the value v of parameter name of u.
func Duration(u *url.URL, name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("storeurl: %q: %s: want a duration like \"1m\", got %q", u.Redacted(), name, v)
	}
	return d, nil
}

// CloserFunc turns a function into an io.Closer.
type CloserFunc func() error

// Close calls f.
func (f CloserFunc) Close() error { return f() }
