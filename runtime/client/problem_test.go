package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/client"
)

func TestErrorSaysEachThingOnce(t *testing.T) {
	for _, tc := range []struct {
		p    *client.Problem
		want string
	}{
		// The idempotency runtime's title is the status text: said once.
		{&client.Problem{Title: "Unprocessable Entity", Status: 422, Detail: "key reused"}, "client: op: 422 Unprocessable Entity: key reused"},
		{&client.Problem{Title: "unprocessable entity", Status: 422}, "client: op: 422 Unprocessable Entity"},
		// A title of its own is kept.
		{&client.Problem{Title: "Key reused", Status: 422, Detail: "d"}, "client: op: 422 Unprocessable Entity: Key reused: d"},
		{&client.Problem{Title: "Key reused", Status: 422}, "client: op: 422 Unprocessable Entity: Key reused"},
		{&client.Problem{Type: "https://example.com/p", Status: 422}, "client: op: 422 Unprocessable Entity"},
		{nil, "client: op: 422 Unprocessable Entity"},
	} {
		e := &client.Error{Operation: "op", Status: 422, Problem: tc.p}
		if got := e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestResponseErrors: what a generated decoder returns for an answer it
// cannot type: UndeclaredProblem only for a 4xx/5xx problem+json, DecodeError
// naming the status for any status.
func TestResponseErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := map[string]int{"/problem404": 404, "/json404": 404, "/problem200": 200}[r.URL.Path]
		ct := "application/json"
		if strings.HasPrefix(r.URL.Path, "/problem") {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		io.WriteString(w, `{"title":"Not Found","status":404,"detail":"no route"}`)
	}))
	defer srv.Close()
	r, err := client.NewRetrier(nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *client.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		resp, err := r.Do(context.Background(), req, client.Call{Operation: "get"})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var ce *client.Error
	var p *client.Problem
	err = get("/problem404").UndeclaredProblem()
	if !errors.As(err, &ce) || ce.Status != 404 || !errors.As(err, &p) || p.Detail != "no route" ||
		err.Error() != "client: get: 404 Not Found: no route" {
		t.Errorf("problem 404: %v", err)
	}
	if err := get("/json404").UndeclaredProblem(); err != nil {
		t.Errorf("JSON 404: %v, want nil (not a problem)", err)
	}
	if err := get("/problem200").UndeclaredProblem(); err != nil {
		t.Errorf("problem 200: %v, want nil (not a 4xx/5xx)", err)
	}
	err = get("/json404").DecodeError(io.ErrUnexpectedEOF)
	if !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != "client: get: decoding the 404 response: unexpected EOF" {
		t.Errorf("DecodeError: %v", err)
	}
}
