package pgstore

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
)

// Importing pgstore lets storeurl.Open serve postgres:// and postgresql://
// URLs: pgx's connection string plus this store's table and purge_interval.
func init() {
	storeurl.Register("github.com/idemgen/idemgen/runtime/store/pgstore", openURL, "postgres", "postgresql")
}

func openURL(ctx context.Context, u *url.URL) (idempotency.Store, io.Closer, error) {
	params, err := storeurl.Take(u, "table", "purge_interval")
	if err != nil {
		return nil, nil, err
	}
	var so []Option
	if t, ok := params["table"]; ok {
		so = append(so, WithTable(t))
	}
	if v, ok := params["purge_interval"]; ok {
		d, err := storeurl.Duration(u, "purge_interval", v)
		if err != nil {
			return nil, nil, err
		}
		so = append(so, WithPurgeInterval(d))
	}
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		return nil, nil, fmt.Errorf("storeurl: postgres at %q: %w", u.Redacted(), err)
	}
	s, err := New(ctx, pool, so...)
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("storeurl: postgres at %q: %w", u.Redacted(), err)
	}
	return s, storeurl.CloserFunc(func() error {
		err := s.Close()
		pool.Close()
		return err
	}), nil
}
