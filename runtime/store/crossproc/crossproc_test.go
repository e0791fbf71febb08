package crossproc_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/store/storetest"
)

const (
	keys    = 1000
	dups    = 8
	workers = 48
)

func suffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// redisEnv is the machine's Redis with a key prefix and an effect hash of this
// test's own, deleted when the test ends.
type redisEnv struct {
	client               *redis.Client
	url, prefix, effects string
}

func newRedisEnv(t *testing.T) redisEnv {
	t.Helper()
	addr := storetest.RedisAddr()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	storetest.NeedService(t, "redis at "+addr, c.Ping(ctx).Err())
	prefix := "crossproc:" + suffix() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	url := "redis://" + addr + "/0"
	return redisEnv{client: c, url: url, prefix: prefix, effects: prefix + "effects"}
}

func (e redisEnv) counts(t *testing.T) map[string]int {
	t.Helper()
	m, err := e.client.HGetAll(context.Background(), e.effects).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for k, v := range m {
		var n int
		fmt.Sscan(v, &n)
		out[k] = n
	}
	return out
}

// pgEnv is the machine's PostgreSQL with a store table and an effect table of
// this test's own, dropped when the test ends.
type pgEnv struct {
	pool                          *pgxpool.Pool
	url, storeURL, table, effects string
}

func newPGEnv(t *testing.T) pgEnv {
	t.Helper()
	url := storetest.PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		t.Cleanup(pool.Close)
		err = pool.Ping(ctx)
	}
	storetest.NeedService(t, "postgres at "+url, err)
	s := suffix()
	table, effects := "crossproc_"+s, "crossproc_effects_"+s
	if _, err := pool.Exec(ctx, "CREATE TABLE "+effects+" (key text NOT NULL, pid int NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+table+", "+table+"_schema, "+effects)
	})
	return pgEnv{pool: pool, url: url, effects: effects, table: table, storeURL: withQuery(url, "pool_max_conns=8")}
}

// withQuery appends query parameters to url.
func withQuery(url, q string) string {
	if strings.Contains(url, "?") {
		return url + "&" + q
	}
	return url + "?" + q
}

func (e pgEnv) counts(t *testing.T) map[string]int {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), "SELECT key, count(*) FROM "+e.effects+" GROUP BY key")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRedisExactlyOnce: 3 processes sharing Redis, 1000 keys x 8 concurrent
// duplicates spread at random over them: 1000 executions, one per key.
func TestRedisExactlyOnce(t *testing.T) {
	env := newRedisEnv(t)
	args := []string{"-store", env.url, "-prefix", env.prefix, "-delay", "2ms", "-effect", "redis", "-effect-url", env.url, "-effect-key", env.effects}
	tg := newTargets(start(t, args...), start(t, args...), start(t, args...))
	ks := makeKeys(keys)
	res := drive(t, tg, ks, dups, workers, 60*time.Second)
	checkOnce(t, ks, res, env.counts(t))
}

// TestPostgresExactlyOnce: the same on PostgreSQL, effects as rows of a table.
func TestPostgresExactlyOnce(t *testing.T) {
	env := newPGEnv(t)
	args := []string{"-store", env.storeURL, "-table", env.table, "-delay", "2ms", "-effect", "pg", "-effect-url", withQuery(env.url, "pool_max_conns=4"), "-effect-table", env.effects}
	tg := newTargets(start(t, args...), start(t, args...), start(t, args...))
	ks := makeKeys(keys)
	res := drive(t, tg, ks, dups, workers, 60*time.Second)
	checkOnce(t, ks, res, env.counts(t))
}

// crash runs the load on two healthy processes and a victim whose handler
// hangs, kills the victim with SIGKILL while it holds claims, and lets the
// retries finish: after the lease every key the victim held runs elsewhere.
func crash(t *testing.T, nkeys int, healthy, victimArgs []string, counts func(*testing.T) map[string]int) {
	t.Helper()
	victim := start(t, victimArgs...)
	tg := newTargets(start(t, healthy...), start(t, healthy...), victim)
	ks := makeKeys(nkeys)
	done := make(chan loadResult)
	go func() { done <- drive(t, tg, ks, dups, workers, 60*time.Second) }()
	held := tg.outstanding[victim.url]
	if err := waitFor(10*time.Second, func() bool { return held.Load() >= 16 }); err != nil {
		t.Errorf("the victim never held 16 requests at once (%d)", held.Load())
	}
	tg.remove(victim.url)
	n := held.Load()
	victim.kill9(t)
	t.Logf("killed the victim (pid %d) with %d requests in its handler", victim.cmd.Process.Pid, n)
	res := <-done
	checkOnce(t, ks, res, counts(t))
}

// TestRedisCrash: kill -9 a process mid-handler (400 keys x 8 duplicates); no
// key stays stuck and every key still runs exactly once (the victim never
// reached its side effect).
func TestRedisCrash(t *testing.T) {
	env := newRedisEnv(t)
	common := []string{"-store", env.url, "-prefix", env.prefix, "-lease", "1s", "-effect", "redis", "-effect-url", env.url, "-effect-key", env.effects}
	crash(t, 400, append(common, "-delay", "2ms"), append(common, "-delay", "60s"), env.counts)
}

// TestPostgresAtomicCrash: the same in PostgreSQL atomic mode, the effect row
// written in the record's transaction: the victim's uncommitted rows vanish
// with it, and the effect count is exactly 1000.
func TestPostgresAtomicCrash(t *testing.T) {
	env := newPGEnv(t)
	common := []string{"-store", env.storeURL, "-table", env.table, "-lease", "1s", "-atomic", "-effect", "pgtx", "-effect-table", env.effects}
	crash(t, keys, append(common, "-delay", "2ms"), append(common, "-delay", "60s"), env.counts)
}

// TestRedisOutage kills a private redis-server under load: requests get 503
// problem+json (fail-closed) and nothing runs twice; once it is back the same
// server processes recover without a restart. Each key is one logical call
// retried by its client, as a generated client does.
func TestRedisOutage(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	storetest.NeedService(t, "redis-server binary", err)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	var srv *exec.Cmd
	startRedis := func() {
		t.Helper()
		srv = exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		if err := waitFor(5*time.Second, func() bool { return c.Ping(context.Background()).Err() == nil }); err != nil {
			t.Fatalf("private redis-server on %s did not come up", addr)
		}
	}
	startRedis()
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })

	effects := filepath.Join(dir, "effects")
	storeURL := "redis://" + addr + "/0?dial_timeout=200ms"
	var ps []*proc
	for i := range 2 {
		ps = append(ps, start(t, "-store", storeURL, "-prefix", "outage:", "-lease", "1s", "-delay", "2ms", "-effect", "file", "-effect-file", fmt.Sprint(effects, i)))
	}
	tg := newTargets(ps...)
	ks := makeKeys(1000)
	done := make(chan loadResult)
	go func() { done <- drive(t, tg, ks, 1, 16, 60*time.Second) }()

	if err := waitFor(20*time.Second, func() bool { return tg.done.Load() >= 300 }); err != nil {
		t.Fatalf("load did not get going: %d requests done", tg.done.Load())
	}
	srv.Process.Kill()
	srv.Wait()
	before := tg.done.Load()
	time.Sleep(500 * time.Millisecond)
	during := tg.done.Load() - before
	startRedis()
	res := <-done
	t.Logf("%d requests completed while Redis was down (the requests already past their claim)", during)

	counts := map[string]int{}
	for i := range ps {
		b, err := os.ReadFile(fmt.Sprint(effects, i))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, k := range strings.Fields(string(b)) {
			counts[k]++
		}
	}
	checkOnce(t, ks, res, counts)
	if res.unavailable == 0 {
		t.Errorf("no 503 during the outage")
	}
	if res.badProblem != 0 {
		t.Errorf("%d of %d 503s were not problem+json", res.badProblem, res.unavailable)
	}
}
