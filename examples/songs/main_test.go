package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemgen/idemgen/examples/songs/api"
	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// newTestServer serves a catalog (uploads taking uploadTime) over loopback
// with the memory store and returns the catalog and a generated client for it.
func newTestServer(t *testing.T, uploadTime time.Duration) (*Catalog, *api.Client, string) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	catalog := NewCatalog(uploadTime)
	h, err := newServer(catalog, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := api.NewClient(srv.URL, client.WithRetryPolicy(client.Policy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return catalog, c, srv.URL
}

var tide = api.NewSong{Title: "Tide", Artist: "Mara", DurationSeconds: 201}

func TestRetryReplaysTheFirstUpload(t *testing.T) {
	catalog, c, _ := newTestServer(t, 0)
	ctx := context.Background()

	resp, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: tide})
	if err != nil {
		t.Fatal(err)
	}
	first, ok := resp.(api.CreateSong201JSONResponse)
	if !ok || raw.Result.Replayed || raw.Result.Key == "" {
		t.Fatalf("first upload: %T replayed=%v key=%q, want a fresh 201 with a key", resp, raw.Result.Replayed, raw.Result.Key)
	}

	resp, again, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: tide}, client.WithIdempotencyKey(raw.Result.Key))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Result.Replayed || again.HTTP.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: replayed=%v header=%q, want a replay", again.Result.Replayed, again.HTTP.Header.Get("Idempotent-Replayed"))
	}
	if !bytes.Equal(again.Body, raw.Body) {
		t.Errorf("replayed body differs:\nfirst  %s\nreplay %s", raw.Body, again.Body)
	}
	if r := resp.(api.CreateSong201JSONResponse); r.Body.ID != first.Body.ID {
		t.Errorf("retry returned song %s, want %s", r.Body.ID, first.Body.ID)
	}
	// A new logical call gets a new key and a new song.
	if _, raw3, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: tide}); err != nil || raw3.Result.Key == raw.Result.Key {
		t.Fatalf("second logical upload: err=%v key reused=%v", err, raw3.Result.Key == raw.Result.Key)
	}
	if n := catalog.Created(); n != 2 {
		t.Errorf("handler created %d songs, want 2", n)
	}
}

func TestConcurrentDuplicatesCreateOneSong(t *testing.T) {
	const n = 32
	catalog, c, _ := newTestServer(t, 30*time.Millisecond)
	key := client.NewKey()
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _, err := c.CreateSong(context.Background(), api.CreateSongRequestObject{Body: tide}, client.WithIdempotencyKey(key))
			if err != nil {
				errs[i] = err
				return
			}
			ids[i] = resp.(api.CreateSong201JSONResponse).Body.ID
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("duplicate %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("duplicate %d got song %s, duplicate 0 got %s", i, ids[i], ids[0])
		}
	}
	if got := catalog.Created(); got != 1 {
		t.Fatalf("%d concurrent duplicates created %d songs, want 1", n, got)
	}
}

func TestReusedKeyWithAnotherSongIs422(t *testing.T) {
	catalog, c, _ := newTestServer(t, 0)
	ctx := context.Background()
	key := client.NewKey()
	if _, _, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: tide}, client.WithIdempotencyKey(key)); err != nil {
		t.Fatal(err)
	}
	other := tide
	other.Title = "Tide (remix)"
	// The spec declares the 422 (a problem): it comes back typed, with a nil error.
	resp, raw, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: other}, client.WithIdempotencyKey(key))
	if err != nil {
		t.Fatalf("reused key: err = %v, want the declared 422 with a nil error", err)
	}
	if p, ok := resp.(api.CreateSong422JSONResponse); !ok || p.Body.Status == nil || *p.Body.Status != 422 {
		t.Errorf("reused key: response %#v, want CreateSong422JSONResponse with its problem", resp)
	}
	if raw.Result.Attempts != 1 {
		t.Errorf("a 422 was sent %d times, want 1 (never retried)", raw.Result.Attempts)
	}
	if n := catalog.Created(); n != 1 {
		t.Errorf("handler created %d songs, want 1", n)
	}
}

func TestMissingKeyIs400AndInvalidSongIs400(t *testing.T) {
	catalog, c, url := newTestServer(t, 0)
	resp, err := http.Post(url+"/songs", "application/json", strings.NewReader(`{"title":"Tide","artist":"Mara","durationSeconds":201}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("no key: %d %s, want 400 application/problem+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	got, _, err := c.CreateSong(context.Background(), api.CreateSongRequestObject{Body: api.NewSong{Title: "", Artist: "Mara", DurationSeconds: 1}})
	if _, ok := got.(api.CreateSong400JSONResponse); err != nil || !ok {
		t.Errorf("empty title: %#v, %v; want the declared 400", got, err)
	}
	if n := catalog.Created(); n != 0 {
		t.Errorf("handler created %d songs, want 0", n)
	}
}

// TestRunServesAndStops runs the command itself on a free port with the
// memory store, uploads through it and stops it with the context.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-store", "memory://", "-upload-time", "0"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("first line %q, want \"listening on URL\"", line)
	}
	c, err := api.NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateSong(ctx, api.CreateSongRequestObject{Body: tide}); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after the context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of the context ending")
	}
	if err := run(context.Background(), []string{"-store", "nosuch://x"}, io.Discard, io.Discard); err == nil {
		t.Error("run accepted an unknown store scheme")
	}
}
