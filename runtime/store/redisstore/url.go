package redisstore

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
)

// Importing redisstore lets storeurl.Open serve Redis URLs, parsed by go-redis
// (redis.ParseURL, ParseClusterURL, ParseFailoverURL: every option those take,
// dial_timeout, pool_size, max_retries, ...), plus this store's prefix and a
// dialer_retries that defaults to 1:
//
//	redis://[user:pass@]host:port/db          one server; rediss:// for TLS
//	redis+cluster://host:port?addr=host2:port2&addr=...
//	                                          a cluster, from its seed nodes; rediss+cluster://
//	redis+sentinel://host:26379/db?master_name=NAME&addr=host2:26379
//	                                          the master that Sentinel names; rediss+sentinel://
//
// For Sentinel the URL's user and password are the sentinels'; the master's
// are the password (and username) parameters.
func init() {
	storeurl.Register("github.com/idemgen/idemgen/runtime/store/redisstore", openURL,
		"redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel")
}

func openURL(ctx context.Context, u *url.URL) (idempotency.Store, io.Closer, error) {
	params, err := storeurl.Take(u, "prefix", "dialer_retries", "wait_replicas", "wait_timeout")
	if err != nil {
		return nil, nil, err
	}
	scheme, topology, _ := strings.Cut(u.Scheme, "+")
	if u.Host == "" {
		want := map[string]string{"": "redis://host:port/db", "cluster": "redis+cluster://host:port?addr=host2:port2",
			"sentinel": "redis+sentinel://host:26379/db?master_name=NAME"}[topology]
		return nil, nil, fmt.Errorf("storeurl: %q: want %s", u.Redacted(), want)
	}
	// One dial attempt per command by default (go-redis would make 5, 100ms
	// apart): while Redis is down a request then gets its 503 at once instead
	// of after half a second.
	dialerRetries := 1
	if v, ok := params["dialer_retries"]; ok {
		if dialerRetries, err = strconv.Atoi(v); err != nil || dialerRetries < 1 {
			return nil, nil, fmt.Errorf("storeurl: %q: dialer_retries: want a count of at least 1, got %q", u.Redacted(), v)
		}
	}
	waitReplicas, waitTimeout := 0, 100*time.Millisecond
	if v, ok := params["wait_replicas"]; ok {
		if waitReplicas, err = strconv.Atoi(v); err != nil || waitReplicas < 1 {
			return nil, nil, fmt.Errorf("storeurl: %q: wait_replicas: want a count of at least 1, got %q", u.Redacted(), v)
		}
	}
	if v, ok := params["wait_timeout"]; ok {
		if waitReplicas == 0 {
			return nil, nil, fmt.Errorf("storeurl: %q: wait_timeout without wait_replicas", u.Redacted())
		}
		if waitTimeout, err = storeurl.Duration(u, "wait_timeout", v); err != nil {
			return nil, nil, err
		}
		if waitTimeout <= 0 {
			return nil, nil, fmt.Errorf("storeurl: %q: wait_timeout: want a positive duration (Redis would wait forever), got %q", u.Redacted(), v)
		}
	}
	// go-redis parses the URL with the plain scheme (redis or rediss).
	plain := *u
	plain.Scheme = scheme
	var client redis.UniversalClient
	switch topology {
	case "cluster":
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, nil, fmt.Errorf("storeurl: %q: a cluster has only database 0; drop the path /%s", u.Redacted(), p)
		}
		plain.Path = ""
		opts, err := redis.ParseClusterURL(plain.String())
		if err != nil {
			return nil, nil, fmt.Errorf("storeurl: %q: %w", u.Redacted(), err)
		}
		opts.DialerRetries = dialerRetries
		client = redis.NewClusterClient(opts)
	case "sentinel":
		opts, err := redis.ParseFailoverURL(plain.String())
		if err != nil {
			return nil, nil, fmt.Errorf("storeurl: %q: %w", u.Redacted(), err)
		}
		if opts.MasterName == "" {
			return nil, nil, fmt.Errorf("storeurl: %q: want the monitored master's name: ?master_name=NAME", u.Redacted())
		}
		opts.DialerRetries = dialerRetries
		client = redis.NewFailoverClient(opts)
	default:
		opts, err := redis.ParseURL(plain.String())
		if err != nil {
			return nil, nil, fmt.Errorf("storeurl: %q: %w", u.Redacted(), err)
		}
		opts.DialerRetries = dialerRetries
		client = redis.NewClient(opts)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("storeurl: redis at %q: %w", u.Redacted(), err)
	}
	var so []Option
	if p, ok := params["prefix"]; ok {
		so = append(so, WithPrefix(p))
	}
	if waitReplicas > 0 {
		so = append(so, WithReplicaWait(waitReplicas, waitTimeout))
	}
	return New(client, so...), client, nil
}
