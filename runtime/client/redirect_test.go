package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/client"
)

// redirectServer answers POST /form with a 303 to /done (the post/redirect/get
// pattern) and counts the requests /done receives.
func redirectServer(t *testing.T) (url string, followed *atomic.Int32) {
	t.Helper()
	followed = new(atomic.Int32)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/done")
		w.WriteHeader(http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		w.Write([]byte("done"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, followed
}

// TestDefaultDoerReturnsRedirect: without a Doer the Retrier returns a 303 as the
// answer, Location included, and never sends the redirected request.
func TestDefaultDoerReturnsRedirect(t *testing.T) {
	url, followed := redirectServer(t)
	r := newRetrier(t, nil)
	key := client.NewKey()
	resp, err := r.Do(context.Background(), postKeyed(t, url+"/form", key, "user=a"), client.Call{Operation: "submit", Idempotent: true, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result.Status != http.StatusSeeOther || resp.HTTP.StatusCode != http.StatusSeeOther || resp.Result.Attempts != 1 {
		t.Fatalf("status %d (result %d), %d attempts; want the 303 in one attempt", resp.HTTP.StatusCode, resp.Result.Status, resp.Result.Attempts)
	}
	if loc := resp.HTTP.Header.Get("Location"); loc != "/done" {
		t.Errorf("Location %q, want /done", loc)
	}
	if err := resp.Err(); err != nil {
		t.Errorf("Err() = %v, want nil for a 303", err)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times, want 0", n)
	}
}

// TestNewHTTPClient: the default client's CheckRedirect stops at the first response.
func TestNewHTTPClient(t *testing.T) {
	hc := client.NewHTTPClient()
	if hc.CheckRedirect == nil || !errors.Is(hc.CheckRedirect(nil, nil), http.ErrUseLastResponse) {
		t.Fatal("NewHTTPClient's CheckRedirect does not return http.ErrUseLastResponse")
	}
	if hc == client.NewHTTPClient() {
		t.Error("NewHTTPClient returns a shared client; want a new one per call")
	}
}

// TestCallerDoerUsedAsIs: a caller's *http.Client is not altered; one that follows
// redirects gets the redirected answer.
func TestCallerDoerUsedAsIs(t *testing.T) {
	url, followed := redirectServer(t)
	hc := &http.Client{}
	r := newRetrier(t, hc)
	key := client.NewKey()
	resp, err := r.Do(context.Background(), postKeyed(t, url+"/form", key, "user=a"), client.Call{Operation: "submit", Idempotent: true, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result.Status != http.StatusOK || string(resp.Body) != "done" || followed.Load() != 1 {
		t.Fatalf("status %d body %q followed %d; want the caller's client to follow the 303", resp.Result.Status, resp.Body, followed.Load())
	}
	if hc.CheckRedirect != nil {
		t.Error("the caller's http.Client was modified")
	}
}
