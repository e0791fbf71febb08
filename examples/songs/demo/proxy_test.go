package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestDropProxy checks the flaky network the demo relies on: the first
// request reaches the server but its answer is lost; the next passes.
func TestDropProxy(t *testing.T) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", string(b))
		io.WriteString(w, "ok:"+string(b))
	}))
	defer up.Close()
	p, err := startDropProxy(strings.TrimPrefix(up.URL, "http://"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: false}}

	if resp, err := hc.Post(p.URL()+"/x", "text/plain", strings.NewReader("one")); err == nil {
		resp.Body.Close()
		t.Fatalf("first request got %d through the proxy, want a dropped connection", resp.StatusCode)
	}
	if hits.Load() != 1 || p.Dropped() != 1 {
		t.Fatalf("after the first request: server hits %d, dropped %d; want 1 and 1", hits.Load(), p.Dropped())
	}
	for i, body := range []string{"two", "three"} {
		resp, err := hc.Post(p.URL()+"/x", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatalf("request %d: %v", i+2, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok:"+body || resp.Header.Get("X-Echo") != body {
			t.Fatalf("request %d: body %q header %q, want the server's answer", i+2, b, resp.Header.Get("X-Echo"))
		}
	}
	if hits.Load() != 3 || p.Dropped() != 1 {
		t.Fatalf("server hits %d, dropped %d; want 3 and 1", hits.Load(), p.Dropped())
	}
}
