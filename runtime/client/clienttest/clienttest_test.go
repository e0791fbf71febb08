package clienttest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/client/clienttest"
)

func TestDraftServer(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s := &clienttest.DraftServer{Work: func(r *http.Request, body []byte) clienttest.Outcome {
		if string(body) == "slow" {
			started <- struct{}{}
			<-release
		}
		return clienttest.Outcome{Status: 201, Header: http.Header{"X-Body": {string(body)}}, Body: body}
	}}
	ts := httptest.NewServer(s)
	defer ts.Close()
	send := func(key, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+"/x", strings.NewReader(body))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		key, body string
		status    int
		replayed  bool
	}{
		{"", "a", 400, false},
		{`"k1"`, "a", 201, false},
		{"k1", "a", 201, true}, // the bare form is the same key
		{`"k1"`, "b", 422, false},
		{`"k\"2"`, "a", 201, false},
	} {
		resp := send(tc.key, tc.body)
		if resp.StatusCode != tc.status || (resp.Header.Get("Idempotent-Replayed") == "true") != tc.replayed {
			t.Errorf("key %s body %s: %d replayed=%q", tc.key, tc.body, resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
		}
		if tc.status >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("key %s: Content-Type %q", tc.key, resp.Header.Get("Content-Type"))
		}
		if tc.status == 201 && resp.Header.Get("X-Body") != tc.body {
			t.Errorf("key %s: headers not replayed", tc.key)
		}
	}
	done := make(chan *http.Response)
	go func() { done <- send(`"slow"`, "slow") }()
	<-started
	if resp := send(`"slow"`, "slow"); resp.StatusCode != 409 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("in flight: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(release)
	if resp := <-done; resp.StatusCode != 201 {
		t.Errorf("slow: %d", resp.StatusCode)
	}
	if s.Runs() != 3 || s.Requests("k1") != 3 {
		t.Errorf("%d runs, %d requests with k1", s.Runs(), s.Requests("k1"))
	}
}

func TestDropProxy(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer be.Close()
	for _, rate := range []float64{0, 1} {
		px := clienttest.NewDropProxy(be.URL, nil, rate, 1)
		ps := httptest.NewServer(px)
		resp, err := http.Get(ps.URL + "/y")
		if rate == 0 {
			if err != nil || resp.StatusCode != 200 || px.Dropped() != 0 {
				t.Errorf("rate 0: %v, %v", resp, err)
			}
			resp.Body.Close()
		} else if err == nil || px.Dropped() != 1 {
			t.Errorf("rate 1: err %v, dropped %d", err, px.Dropped())
		}
		ps.Close()
	}
}
