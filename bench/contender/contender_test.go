package contender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/idemgen/idemgen/bench/contender"
	"github.com/idemgen/idemgen/bench/internal/benchtest"
	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/workload"
)

func post(t *testing.T, client *http.Client, url, key string, body []byte) (int, workload.Receipt) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(workload.KeyHeader, key)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r workload.Receipt
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: %v in %q", url, err, out)
		}
	}
	return resp.StatusCode, r
}

// TestEveryContender checks each contender's contract: the same handler work,
// and for the idempotent ones, a replay of the first receipt and one execution
// per key under 32 concurrent duplicates.
func TestEveryContender(t *testing.T) {
	env := contender.Env{
		RedisURL:    "redis://127.0.0.1:6379/11",
		PostgresURL: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		SQLitePath:  filepath.Join(t.TempDir(), "bench.db"),
	}
	body, err := workload.Body(1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range contender.Names() {
		t.Run(name, func(t *testing.T) {
			info, _ := contender.Lookup(name)
			switch info.Store {
			case "redis":
				benchtest.NeedService(t, "127.0.0.1:6379")
			case "postgres":
				benchtest.NeedService(t, "127.0.0.1:5432")
			}
			url, rec, client := benchtest.Serve(t, name, env)
			run := rand.Uint32() // keys never meet the records of another contender or run
			key := func(i int) string { return loadgen.Key(run, uint64(i)) }
			code, first := post(t, client, url, key(0), body)
			if code != http.StatusCreated || first.Execution == "" || first.Total == 0 {
				t.Fatalf("first request: %d %+v", code, first)
			}
			code, again := post(t, client, url, key(0), body)
			if info.Store == "" {
				if code != http.StatusCreated || again.Execution == first.Execution {
					t.Fatalf("bare handler: repeat got %d %+v, want a new execution", code, again)
				}
				return
			}
			if code != http.StatusCreated || !reflect.DeepEqual(again, first) {
				t.Fatalf("replay: %d %+v, want %+v", code, again, first)
			}
			var wg sync.WaitGroup
			for range 32 {
				wg.Go(func() {
					if code, _ := post(t, client, url, key(1), body); code != http.StatusCreated && code != http.StatusConflict {
						t.Errorf("concurrent duplicate: status %d", code)
					}
				})
			}
			wg.Wait()
			if got := rec.Snapshot(); len(got) != 2 || got[key(0)] != 1 || got[key(1)] != 1 {
				t.Fatalf("executions per key = %v, want one each", got)
			}
		})
	}
}

func TestOpenUnknown(t *testing.T) {
	if _, err := contender.Open(context.Background(), "nope", contender.Env{}, contender.NewRecorder("x")); err == nil {
		t.Fatal("Open of an unknown contender succeeded")
	}
}

func TestRecorderConcurrent(t *testing.T) {
	rec := contender.NewRecorder("r-")
	var wg sync.WaitGroup
	ids := make([]map[string]bool, 16)
	for g := range 16 {
		ids[g] = map[string]bool{}
		wg.Go(func() {
			for i := range 500 {
				ids[g][rec.Executed(string(rune('a'+i%10)))] = true
			}
		})
	}
	wg.Wait()
	all := map[string]bool{}
	for _, m := range ids {
		for id := range m {
			all[id] = true
		}
	}
	if len(all) != 16*500 {
		t.Fatalf("%d distinct execution ids, want %d", len(all), 16*500)
	}
	snap := rec.Snapshot()
	if len(snap) != 10 || snap["a"] != 16*50 {
		t.Fatalf("snapshot = %v", snap)
	}
	rec.Reset()
	if len(rec.Snapshot()) != 0 {
		t.Fatal("Reset kept executions")
	}
}

// TestProxyContenders checks that the gateway contenders put runtime/gateway
// in front of the upstream: the idempotent ones replay with
// Idempotent-Replayed and refuse a reused key with another body (422) without
// running the upstream again; pass-through reaches the upstream every time.
func TestProxyContenders(t *testing.T) {
	body, err := workload.Body(1024)
	if err != nil {
		t.Fatal(err)
	}
	other, err := workload.Body(2048)
	if err != nil {
		t.Fatal(err)
	}
	do := func(t *testing.T, client *http.Client, url, key string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(workload.KeyHeader, key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	var proxied int
	for _, name := range contender.Names() {
		info, _ := contender.Lookup(name)
		if info.Section != contender.SectionProxy {
			continue
		}
		if info.Baseline != contender.ProxyBaseline {
			t.Errorf("%s: baseline %q, want %q", name, info.Baseline, contender.ProxyBaseline)
		}
		if name == contender.ProxyBaseline {
			continue
		}
		proxied++
		t.Run(name, func(t *testing.T) {
			url, rec, client := benchtest.Serve(t, name, contender.Env{})
			key := loadgen.Key(rand.Uint32(), 1)
			if r := do(t, client, url, key, body); r.StatusCode != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first: %d %v", r.StatusCode, r.Header)
			}
			again := do(t, client, url, key, body)
			mismatch := do(t, client, url, key, other)
			n := rec.Snapshot()[key]
			if info.Store == "" {
				if again.StatusCode != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "" || mismatch.StatusCode != http.StatusCreated || n != 3 {
					t.Fatalf("pass-through: repeat %d %v, other body %d, %d upstream executions, want 201, 201 and 3", again.StatusCode, again.Header, mismatch.StatusCode, n)
				}
				return
			}
			if again.StatusCode != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || mismatch.StatusCode != http.StatusUnprocessableEntity || n != 1 {
				t.Fatalf("idempotent: replay %d %v, other body %d, %d upstream executions, want a replay, 422 and 1", again.StatusCode, again.Header, mismatch.StatusCode, n)
			}
		})
	}
	if proxied < 2 {
		t.Fatalf("%d proxied contenders registered, want the idempotent and the pass-through gateway", proxied)
	}
}
