// Package storeurl opens an idempotency store from a URL, so that a service
// (or an example) switches backends with one flag or environment variable:
//
//	memory://                                   in-process (memstore)
//	redis://[user:pass@]host:port/db?prefix=p:  Redis (redisstore); rediss:// for TLS
//	postgres://user@host:5432/db?table=t        PostgreSQL (pgstore); also postgresql://
//	sqlite:///var/lib/app/idem.db               SQLite file (sqlitestore); sqlite:rel/path.db
//
// Query parameters that configure the store (prefix, dialer_retries, table,
// purge_interval) are removed before the rest of the URL goes to the driver, so
// every driver option (sslmode, pool_max_conns, dial_timeout, ...) keeps
// working. Redis dials once per command unless dialer_retries says otherwise,
// so that an outage is answered with 503 at once.
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
	"github.com/idemgen/idemgen/runtime/store/pgstore"
	"github.com/idemgen/idemgen/runtime/store/redisstore"
	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
)

// Schemes lists the URL schemes Open accepts.
var Schemes = []string{"memory", "redis", "rediss", "postgres", "postgresql", "sqlite"}

// Open opens the store rawURL names and checks that its backend answers (Redis
// is pinged, PostgreSQL and SQLite are migrated). The Closer releases everything
// Open created (background purgers, pools, clients, files); the caller closes it
// after the last use of the store.
func Open(ctx context.Context, rawURL string) (idempotency.Store, io.Closer, error) {
	if rawURL == "" {
		return nil, nil, errors.New("storeurl: empty store URL; want one of " + strings.Join(Schemes, "://, ") + "://")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("storeurl: %w", err)
	}
	switch u.Scheme {
	case "memory":
		if u.Host != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, nil, fmt.Errorf("storeurl: %q: a memory store takes no host, path or options; want memory://", u.Redacted())
		}
		s := memstore.New()
		return s, s, nil
	case "redis", "rediss":
		return openRedis(ctx, u)
	case "postgres", "postgresql":
		return openPostgres(ctx, u)
	case "sqlite":
		return openSQLite(ctx, u)
	case "":
		return nil, nil, fmt.Errorf("storeurl: %q has no scheme; want one of %s", u.Redacted(), strings.Join(Schemes, ", "))
	}
	return nil, nil, fmt.Errorf("storeurl: unsupported scheme %q; want one of %s", u.Scheme, strings.Join(Schemes, ", "))
}

// take removes the store's own query parameters from u and returns them.
func take(u *url.URL, names ...string) (map[string]string, error) {
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

func duration(u *url.URL, name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("storeurl: %q: %s: want a duration like \"1m\", got %q", u.Redacted(), name, v)
	}
	return d, nil
}

func openRedis(ctx context.Context, u *url.URL) (idempotency.Store, io.Closer, error) {
	params, err := take(u, "prefix", "dialer_retries")
	if err != nil {
		return nil, nil, err
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("storeurl: %q: want redis://host:port/db", u.Redacted())
	}
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, nil, fmt.Errorf("storeurl: %q: %w", u.Redacted(), err)
	}
	// One dial attempt per command by default (go-redis would make 5, 100ms
	// apart): while Redis is down a request then gets its 503 at once instead
	// of after half a second.
	opts.DialerRetries = 1
	if v, ok := params["dialer_retries"]; ok {
		if opts.DialerRetries, err = strconv.Atoi(v); err != nil || opts.DialerRetries < 1 {
			return nil, nil, fmt.Errorf("storeurl: %q: dialer_retries: want a count of at least 1, got %q", u.Redacted(), v)
		}
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("storeurl: redis at %q: %w", u.Redacted(), err)
	}
	var so []redisstore.Option
	if p, ok := params["prefix"]; ok {
		so = append(so, redisstore.WithPrefix(p))
	}
	return redisstore.New(client, so...), client, nil
}

func openPostgres(ctx context.Context, u *url.URL) (idempotency.Store, io.Closer, error) {
	params, err := take(u, "table", "purge_interval")
	if err != nil {
		return nil, nil, err
	}
	var so []pgstore.Option
	if t, ok := params["table"]; ok {
		so = append(so, pgstore.WithTable(t))
	}
	if v, ok := params["purge_interval"]; ok {
		d, err := duration(u, "purge_interval", v)
		if err != nil {
			return nil, nil, err
		}
		so = append(so, pgstore.WithPurgeInterval(d))
	}
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		return nil, nil, fmt.Errorf("storeurl: postgres at %q: %w", u.Redacted(), err)
	}
	s, err := pgstore.New(ctx, pool, so...)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("storeurl: postgres at %q: %w", u.Redacted(), err)
	}
	return s, closerFunc(func() error {
		err := s.Close()
		pool.Close()
		return err
	}), nil
}

func openSQLite(ctx context.Context, u *url.URL) (idempotency.Store, io.Closer, error) {
	params, err := take(u, "purge_interval")
	if err != nil {
		return nil, nil, err
	}
	if u.RawQuery != "" {
		return nil, nil, fmt.Errorf("storeurl: %q: unknown sqlite option %q; want purge_interval", u.Redacted(), u.RawQuery)
	}
	path := u.Opaque // sqlite:relative/path.db
	if path == "" {
		if u.Host != "" {
			return nil, nil, fmt.Errorf("storeurl: %q: a sqlite URL has no host; want sqlite:///absolute/path.db or sqlite:relative/path.db", u.Redacted())
		}
		path = u.Path // sqlite:///absolute/path.db
	}
	if path == "" || strings.HasSuffix(path, "/") {
		return nil, nil, fmt.Errorf("storeurl: %q: want a database file, like sqlite:///var/lib/app/idem.db", u.Redacted())
	}
	var so []sqlitestore.Option
	if v, ok := params["purge_interval"]; ok {
		d, err := duration(u, "purge_interval", v)
		if err != nil {
			return nil, nil, err
		}
		so = append(so, sqlitestore.WithPurgeInterval(d))
	}
	s, err := sqlitestore.Open(ctx, path, so...)
	if err != nil {
		return nil, nil, fmt.Errorf("storeurl: %w", err)
	}
	return s, s, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
