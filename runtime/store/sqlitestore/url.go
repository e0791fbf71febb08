package sqlitestore

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
)

// Importing sqlitestore lets storeurl.Open serve sqlite:///absolute/path.db
// and sqlite:relative/path.db URLs, with the option purge_interval.
func init() {
	storeurl.Register("github.com/idemgen/idemgen/runtime/store/sqlitestore", openURL, "sqlite")
}

func openURL(ctx context.Context, u *url.URL) (idempotency.Store, io.Closer, error) {
	params, err := storeurl.Take(u, "purge_interval")
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
	var so []Option
	if v, ok := params["purge_interval"]; ok {
		d, err := storeurl.Duration(u, "purge_interval", v)
		if err != nil {
			return nil, nil, err
		}
		so = append(so, WithPurgeInterval(d))
	}
	s, err := Open(ctx, path, so...)
	if err != nil {
		return nil, nil, fmt.Errorf("storeurl: %w", err)
	}
	return s, s, nil
}
