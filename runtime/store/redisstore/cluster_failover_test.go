package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/redisstore"
	"github.com/idemgen/idemgen/runtime/store/storetest"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
)

// openCluster opens a store on c by URL (redis+cluster://) under a prefix of
// its own, and deletes the prefix's keys from every master when t ends.
func openCluster(t testing.TB, c *cluster, extra ...string) (*redisstore.Store, *redis.ClusterClient) {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	prefix := "idemcluster:" + hex.EncodeToString(b[:]) + ":"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, closer, err := storeurl.Open(ctx, c.url(prefix, extra...))
	if err != nil {
		t.Fatal(err)
	}
	cc, ok := closer.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("redis+cluster:// opened a %T, want a *redis.ClusterClient", closer)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			iter := m.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				m.Del(ctx, iter.Val())
			}
			return nil
		})
		cc.Close()
	})
	return s.(*redisstore.Store), cc
}

// TestClusterConformance runs the shared Store suite on a Redis Cluster
// (3 masters, 3 replicas) opened by URL; the records' hash tags spread them
// over every master.
func TestClusterConformance(t *testing.T) {
	c := testCluster(t)
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, _ := openCluster(t, c)
		return s
	})
}

type keyCtx struct{}

// TestClusterFailover kills a master (SIGKILL) while requests keep arriving
// with fresh keys, each retried on 503/409 by its client until it gets its
// answer, and checks what the store promises across a failover: while the
// dead master's slots have no master the middleware answers 503 (fail-closed,
// never a run without a record), no key runs twice, every key gets its 201
// once the replica is promoted, and every stored answer is replayed afterwards.
// The killed node is started again at the end and rejoins as a replica.
func TestClusterFailover(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	store, _ := openCluster(t, c)

	var (
		mu       sync.Mutex
		runs     = map[string]int{}  // handler executions per key
		unstored = map[string]bool{} // keys whose answer was sent but not stored
		statuses = map[int]int{}
		first503 time.Time
		last503  time.Time
		answers  atomic.Int64
	)
	obs := idempotency.ObserverFunc(func(ctx context.Context, e idempotency.Event) {
		if e.Outcome == idempotency.OutcomeStoreError && e.Status/100 == 2 {
			// The handler ran and its answer was sent, but Complete failed.
			mu.Lock()
			unstored[ctx.Value(keyCtx{}).(string)] = true
			mu.Unlock()
		}
	})
	mw, err := idempotency.New(store, idempotency.Policy{Operation: "failover", Lease: 2 * time.Second},
		idempotency.WithObserver(obs), idempotency.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	inner := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		runs[key]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"key":%q}`, key)
	}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyCtx{}, r.Header.Get("Idempotency-Key"))))
	})
	send := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/orders", nil)
		r.Header.Set("Idempotency-Key", key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	dead := c.nodes[0]    // a master at the start
	replica := c.nodes[3] // its replica
	if role, _, err := c.role(ctx, c.nodes[1], dead); err != nil || role != "master" {
		t.Fatalf("node %s: role %q, %v; want master (a previous test left the cluster changed)", dead.addr(), role, err)
	}
	var (
		stopNew  atomic.Bool
		next     atomic.Int64
		wg       sync.WaitGroup
		hardStop = time.Now().Add(40 * time.Second) // bound on the whole load
		sent     sync.Map                           // key -> struct{}: keys with a 201
		failed   atomic.Int64                       // keys that never got their 201
	)
	run := "k" + hex.EncodeToString([]byte{byte(time.Now().UnixNano())}) + "-"
	worker := func() {
		defer wg.Done()
		for !stopNew.Load() && time.Now().Before(hardStop) {
			key := fmt.Sprintf("%s%06d", run, next.Add(1))
			for {
				w := send(key)
				answers.Add(1)
				now := time.Now()
				mu.Lock()
				statuses[w.Code]++
				if w.Code == http.StatusServiceUnavailable {
					if first503.IsZero() {
						first503 = now
					}
					last503 = now
				}
				mu.Unlock()
				if w.Code == http.StatusCreated {
					sent.Store(key, struct{}{})
					break
				}
				if (w.Code != http.StatusServiceUnavailable && w.Code != http.StatusConflict) || now.After(hardStop) {
					failed.Add(1)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for range 4 {
		wg.Add(1)
		go worker()
	}

	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	c.kill(dead)
	// The replica is promoted once the others agree the master is down
	// (cluster-node-timeout 1s) and it wins the election.
	promoteCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = waitFor(promoteCtx, replica.addr()+" promoted", func(*redis.Client) (bool, error) {
		role, _, err := c.role(promoteCtx, c.nodes[1], replica)
		return role == "master", err
	}, c.nodes[1])
	cancel()
	promoted := time.Now()
	if err != nil {
		stopNew.Store(true)
		wg.Wait()
		t.Fatalf("%v%s", err, c.logs())
	}
	time.Sleep(time.Second) // load on the promoted replica
	stopNew.Store(true)
	wg.Wait()

	var keys []string
	sent.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })

	dups := 0
	for k, n := range runs {
		if n > 1 {
			dups++
			t.Errorf("key %s ran %d times", k, n)
		}
	}
	for code, n := range statuses {
		if code != http.StatusCreated && code != http.StatusServiceUnavailable && code != http.StatusConflict {
			t.Errorf("%d answers with status %d; want only 201, and 503 (or 409) while a slot has no master", n, code)
		}
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d keys never got their 201", n)
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no 503 during the failover: the test did not hit the dead master's slots")
	}

	// Every answer that was stored is replayed, on whichever node now holds it.
	replayed, reran := 0, 0
	for _, k := range keys {
		if unstored[k] {
			continue
		}
		w := send(k)
		if w.Code == http.StatusCreated && w.Header().Get("Idempotent-Replayed") == "true" {
			replayed++
			continue
		}
		reran++
		t.Errorf("key %s after the failover: %d %s (Idempotent-Replayed %q), want its replay",
			k, w.Code, w.Body, w.Header().Get("Idempotent-Replayed"))
	}
	t.Logf("failover: %d keys, %d answers: 201×%d 503×%d 409×%d; "+
		"duplicate executions %d; replica promoted %v after the kill; 503s from +%v to +%v after the kill; "+
		"answers sent but not stored (Complete failed) %d; stored answers replayed afterwards %d/%d",
		len(keys), answers.Load(), statuses[201], statuses[503], statuses[409],
		dups, promoted.Sub(killed).Round(time.Millisecond),
		first503.Sub(killed).Round(time.Millisecond), last503.Sub(killed).Round(time.Millisecond),
		len(unstored), replayed, replayed+reran)

	// Put the cluster back together: the old master rejoins as a replica.
	if err := c.start(dead); err != nil {
		t.Fatal(err)
	}
	healCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// Without persistence it comes back empty; once it has learnt that its
	// slots moved, it accepts to replicate their new owner. (Left alone it can
	// stay a master without slots.)
	err = waitFor(healCtx, dead.addr()+" replicating "+replica.addr(), func(rc *redis.Client) (bool, error) {
		return rc.ClusterReplicate(healCtx, replica.id).Err() == nil, nil
	}, dead)
	c.nodes[0], c.nodes[3] = replica, dead // keep "the first half are masters"
	if err == nil {
		err = c.waitHealthy(healCtx)
	}
	if err != nil {
		t.Fatalf("the cluster after restarting %s: %v%s", dead.addr(), err, c.logs())
	}
}
