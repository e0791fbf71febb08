package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storetest"
)

// TestClusterReplicaWait: with wait_replicas, the conformance suite still
// passes; a claim and a completed record are on the master's replica by the
// time Claim and Complete return; and a claim that fewer replicas than asked
// acknowledged fails and is given back.
func TestClusterReplicaWait(t *testing.T) {
	c := testCluster(t)
	storetest.Run(t, func(t *testing.T) idempotency.Store {
		s, _ := openCluster(t, c, "wait_replicas=1", "wait_timeout=2s")
		return s
	})

	ctx := context.Background()
	s, cc := openCluster(t, c, "wait_replicas=1", "wait_timeout=2s")
	// onReplica reads key on the replica of its master, asking the nodes
	// themselves (a client's CLUSTER SLOTS view can lag after a failover).
	onReplica := func(key string) string {
		t.Helper()
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := strings.Cut(m.Options().Addr, ":")
		for _, n := range c.nodes {
			rc := n.client()
			defer rc.Close()
			repl, err := rc.Info(ctx, "replication").Result()
			if err != nil || !strings.Contains(repl, "role:slave") || !strings.Contains(repl, "master_port:"+port+"\r\n") {
				continue
			}
			conn := rc.Conn()
			defer conn.Close()
			if err := conn.ReadOnly(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			v, err := conn.Get(ctx, key).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			return v
		}
		t.Fatalf("no replica of %s", m.Options().Addr)
		return ""
	}
	for i := range 20 {
		id := "wait-" + string(rune('a'+i))
		if cl, err := s.Claim(ctx, id, "fp", "tok", time.Minute); err != nil || !cl.Acquired {
			t.Fatalf("Claim = %+v, %v", cl, err)
		}
		if v := onReplica(s.Key(id)); !strings.HasPrefix(v, "1") {
			t.Fatalf("claim %s on the replica right after Claim: %q, want the in-flight record", id, v)
		}
		if err := s.Complete(ctx, id, "tok", []byte("r"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if v := onReplica(s.Key(id)); !strings.HasPrefix(v, "2") {
			t.Fatalf("record %s on the replica right after Complete: %q, want the completed record", id, v)
		}
	}

	// Two replicas asked for, one exists: the claim fails and is released.
	s2, _ := openCluster(t, c, "wait_replicas=2", "wait_timeout=50ms")
	_, err := s2.Claim(ctx, "short", "fp", "tok", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 replicas acknowledged it within 50ms") {
		t.Fatalf("Claim with too few replicas: %v, want an error counting the replicas", err)
	}
	if _, err := s2.Get(ctx, "short"); !errors.Is(err, idempotency.ErrNotFound) {
		t.Fatalf("Get after the unreplicated claim: %v, want ErrNotFound (released)", err)
	}
}

// BenchmarkClusterCycle is one request's store work (Claim, Complete) on the
// local cluster, without and with wait_replicas=1: the price of WAIT.
func BenchmarkClusterCycle(b *testing.B) {
	c := testCluster(b)
	for _, tc := range []struct {
		name  string
		extra []string
	}{{"async", nil}, {"wait_replicas=1", []string{"wait_replicas=1", "wait_timeout=1s"}}} {
		b.Run(tc.name, func(b *testing.B) {
			s, _ := openCluster(b, c, tc.extra...)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				i++
				id := "bench-" + strconv.Itoa(i)
				if _, err := s.Claim(ctx, id, "fp", "tok", time.Minute); err != nil {
					b.Fatal(err)
				}
				if err := s.Complete(ctx, id, "tok", []byte("r"), time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
