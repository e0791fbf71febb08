package proxyplan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/store/storetest"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
	_ "github.com/idemgen/idemgen/runtime/store/storeurl/all" // every backend, picked by URL
)

func randomName() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TestSharedStoreRedis and TestSharedStorePostgres run two gateways (two
// processes' worth: each opens its own store connection) in front of one
// upstream, sharing one store: concurrent duplicates spread over both run the
// upstream once, and a retry on the other gateway is replayed.
func TestSharedStoreRedis(t *testing.T) {
	addr := storetest.RedisAddr()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	storetest.NeedService(t, "redis at "+addr, c.Ping(context.Background()).Err())
	prefix := "gatewaytest:" + randomName() + ":"
	t.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
	testSharedStore(t, "redis://"+addr+"/0?dial_timeout=2s&prefix="+prefix)
}

func TestSharedStorePostgres(t *testing.T) {
	dsn := storetest.PostgresURL()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		t.Cleanup(pool.Close)
		err = pool.Ping(ctx)
	}
	storetest.NeedService(t, "postgres at "+dsn, err)
	table := "gatewaytest_" + randomName()
	t.Cleanup(func() { pool.Exec(ctx, "DROP TABLE IF EXISTS "+table+", "+table+"_schema") })
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	testSharedStore(t, dsn+sep+"purge_interval=0s&table="+table)
}

func testSharedStore(t *testing.T, storeURL string) {
	up := newUpstream()
	up.delay.Store(int64(30 * time.Millisecond)) // the duplicates overlap
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	u, _ := url.Parse(upSrv.URL)
	api := loadSpec(t, "testdata/openapi.yaml")
	for _, op := range api.Operations {
		if op.ID == "redeemVoucher" {
			op.Idempotency.Enabled = false
		}
	}
	var gws [2]*httptest.Server
	for i := range gws {
		st, closer, err := storeurl.Open(context.Background(), storeURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closer.Close() })
		g, err := gateway.New(gateway.Config{Routes: routesOf(t, api), Upstream: u, Store: st, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		gws[i] = httptest.NewServer(g)
		t.Cleanup(gws[i].Close)
	}
	post := func(srv *httptest.Server, key string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/accounts/acme/payments", strings.NewReader(`{"amount":7}`))
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		res.Body.Close()
		return res
	}
	key := "shared-" + randomName()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if res := post(gws[i%2], key); res != nil && res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusConflict {
				t.Errorf("duplicate %d: status %d", i, res.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := up.count("/accounts/acme/payments", key); n != 1 {
		t.Fatalf("20 duplicates over two gateways: upstream ran %d times, want 1", n)
	}
	for i := range gws {
		if res := post(gws[i], key); res == nil || res.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry on gateway %d: not replayed", i)
		}
	}
}
