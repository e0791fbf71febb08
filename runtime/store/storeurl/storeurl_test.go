package storeurl_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
	"github.com/idemgen/idemgen/runtime/store/pgstore"
	"github.com/idemgen/idemgen/runtime/store/redisstore"
	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
	_ "github.com/idemgen/idemgen/runtime/store/storeurl/all" // every backend, picked by URL
)

func TestBadURLs(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "storeurl: empty store URL"},
		{"mongodb://localhost", `storeurl: unsupported scheme "mongodb"; want one of memory, postgres, postgresql, redis,`},
		{"localhost:6379", `storeurl: unsupported scheme "localhost"`},
		{"/var/lib/idem.db", `storeurl: "/var/lib/idem.db" has no scheme`},
		{"memory://x", `storeurl: "memory://x": a memory store takes no host`},
		{"redis:///0", `storeurl: "redis:///0": want redis://host:port/db`},
		{"redis://127.0.0.1:6379/0?prefix=", `want one non-empty prefix`},
		{"redis://127.0.0.1:6379/x", `storeurl: "redis://127.0.0.1:6379/x": redis: invalid database number`},
		{"redis://127.0.0.1:6379/0?bogus=1", `redis: unexpected option: bogus`},
		{"redis://127.0.0.1:6379/0?dialer_retries=0", `dialer_retries: want a count of at least 1, got "0"`},
		{"redis://127.0.0.1:6379/0?wait_replicas=0", `wait_replicas: want a count of at least 1, got "0"`},
		{"redis://127.0.0.1:6379/0?wait_timeout=1s", `wait_timeout without wait_replicas`},
		{"redis://127.0.0.1:6379/0?wait_replicas=1&wait_timeout=0s", `wait_timeout: want a positive duration (Redis would wait forever), got "0s"`},
		{"redis+cluster://?addr=127.0.0.1:7001", `want redis+cluster://host:port?addr=host2:port2`},
		{"redis+cluster://127.0.0.1:1/3", `a cluster has only database 0; drop the path /3`},
		{"redis+cluster://127.0.0.1:1?addr=nope", `redis: unable to parse addr param: nope`},
		{"redis+cluster://127.0.0.1:1?db=2", `redis: unexpected option: db`},
		{"rediss+cluster://u:secret@127.0.0.1:1?dial_timeout=1s", `storeurl: redis at "rediss+cluster://u:xxxxx@127.0.0.1:1?dial_timeout=1s"`},
		{"redis+sentinel://127.0.0.1:26379/0", `want the monitored master's name: ?master_name=NAME`},
		{"redis+sentinel://127.0.0.1:26379/x?master_name=m", `redis: invalid database number: "x"`},
		{"redis+sentinel:///0?master_name=m", `want redis+sentinel://host:26379/db?master_name=NAME`},
		{"redis+sentinel://127.0.0.1:1/0?master_name=m&bogus=1", `redis: unexpected option: bogus`},
		{"redis://u:secret@127.0.0.1:1/0", `storeurl: redis at "redis://u:xxxxx@127.0.0.1:1/0"`},
		{"postgres://127.0.0.1/test?purge_interval=often", `purge_interval: want a duration like "1m", got "often"`},
		{"postgres://127.0.0.1/test?table=a;b", `invalid semicolon separator in query`},
		{"postgres://127.0.0.1/test?table=a-b", `pgstore: table "a-b": want an identifier`},
		{"sqlite://host/x.db", `a sqlite URL has no host`},
		{"sqlite:///", `want a database file`},
		{"sqlite:///tmp/x.db?journal=off", `unknown sqlite option "journal=off"`},
		{"%zz", `storeurl: parse "%zz"`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		s, c, err := storeurl.Open(ctx, tc.url)
		cancel()
		if err == nil {
			c.Close()
			t.Errorf("Open(%q) = %T, want an error", tc.url, s)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q): error %q, want it to contain %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q): error %q leaks the password", tc.url, err)
		}
	}
}

// use runs one claim/complete/get cycle on a store opened from a URL.
func use(t *testing.T, url string) idempotency.Store {
	t.Helper()
	ctx := context.Background()
	s, c, err := storeurl.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	var b [8]byte
	rand.Read(b[:])
	id := "storeurl-" + hex.EncodeToString(b[:])
	if cl, err := s.Claim(ctx, id, "fp", "tok", time.Minute); err != nil || !cl.Acquired {
		t.Fatalf("Claim = %+v, %v", cl, err)
	}
	if err := s.Complete(ctx, id, "tok", []byte("r"), time.Second); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Get(ctx, id); err != nil || string(rec.Result) != "r" {
		t.Fatalf("Get = %+v, %v", rec, err)
	}
	return s
}

func TestMemory(t *testing.T) {
	if _, ok := use(t, "memory://").(*memstore.Store); !ok {
		t.Fatal("memory:// did not open a memstore")
	}
}

func TestSQLite(t *testing.T) {
	dir := t.TempDir()
	if _, ok := use(t, "sqlite://"+filepath.Join(dir, "a.db")+"?purge_interval=1s").(*sqlitestore.Store); !ok {
		t.Fatal("sqlite:/// did not open a sqlitestore")
	}
	t.Chdir(dir)
	use(t, "sqlite:rel.db")
	if _, err := os.Stat(filepath.Join(dir, "rel.db")); err != nil {
		t.Fatalf("sqlite:rel.db: %v", err)
	}
}

func TestRedis(t *testing.T) {
	addr := storetest.RedisAddr()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	storetest.NeedService(t, "redis at "+addr, c.Ping(context.Background()).Err())
	var b [6]byte
	rand.Read(b[:])
	prefix := "storeurltest:" + hex.EncodeToString(b[:]) + ":"
	if _, ok := use(t, "redis://"+addr+"/0?dial_timeout=2s&prefix="+prefix).(*redisstore.Store); !ok {
		t.Fatal("redis:// did not open a redisstore")
	}
	if n, err := c.Keys(context.Background(), prefix+"*").Result(); err != nil || len(n) != 1 {
		t.Fatalf("keys under the URL's prefix: %v, %v; want the one record", n, err)
	}
}

func TestPostgres(t *testing.T) {
	url := storetest.PostgresURL()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		t.Cleanup(pool.Close) // after the table is dropped: cleanups run last-in first-out
		err = pool.Ping(ctx)
	}
	storetest.NeedService(t, "postgres at "+url, err)
	var b [6]byte
	rand.Read(b[:])
	table := "storeurltest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { pool.Exec(ctx, "DROP TABLE IF EXISTS "+table+", "+table+"_schema") })
	if _, ok := use(t, withQuery(url, "purge_interval=0s&table="+table)).(*pgstore.Store); !ok {
		t.Fatal("postgresql:// did not open a pgstore")
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in the URL's table: %d, %v; want 1", n, err)
	}
}

// withQuery appends query parameters to url.
func withQuery(url, q string) string {
	if strings.Contains(url, "?") {
		return url + "&" + q
	}
	return url + "?" + q
}
