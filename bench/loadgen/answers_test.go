package loadgen_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/workload"
)

// answers is a net/http server whose answer depends on the path: its
// executions count handler runs, and every 2xx carries a receipt of a new
// execution, so repeats of a key diverge.
func answers(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var runs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(workload.KeyHeader) == "" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "no key", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil || len(body) == 0 {
			http.Error(w, "no body", http.StatusBadRequest)
			return
		}
		receipt := fmt.Sprintf(`{"execution":"e%d","payment":"p","total":1}`, runs.Add(1))
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", fmt.Sprint(len(receipt)))
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, receipt)
		case "/chunked": // flushed in two pieces: a chunked body, the execution split across chunks
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, receipt[:8])
			w.(http.Flusher).Flush()
			io.WriteString(w, receipt[8:])
		case "/spaced": // not as workload.Work encodes: decoded as JSON
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, `{ "total": 1, "execution" : "e%d" }`, runs.Load())
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, receipt)
		case "/early": // an informational answer before the final one
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, receipt)
		case "/see-other":
			http.Redirect(w, r, "/receipts/1", http.StatusSeeOther)
		case "/conflict":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"title":"in flight"}`)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &runs
}

func runFor(t *testing.T, g loadgen.Generator, mode loadgen.Mode, requests int, targets ...string) loadgen.Result {
	t.Helper()
	res, err := g.Run(context.Background(), loadgen.Config{
		Targets: targets, Mode: mode, Concurrency: 4, Duration: 20 * time.Second, Requests: requests, Body: []byte(`{"id":"x"}`), Run: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAnswers(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		base, runs := answers(t)
		g := generator(t, gen)
		for _, tc := range []struct {
			path    string
			status  int
			diverge bool // repeated keys get receipts of other executions
		}{
			{"/length", 201, true},
			{"/chunked", 200, true},
			{"/spaced", 200, true},
			{"/close", 201, true},
			{"/early", 201, true},
			{"/see-other", 303, false},
			{"/conflict", 409, false},
			{"/empty", 204, false},
			{"/missing", 404, false},
		} {
			runs.Store(0)
			res := runFor(t, g, loadgen.Contention, 200, base+tc.path)
			if res.Requests != 200 || res.Errors != 0 || res.Status[tc.status] != 200 {
				t.Errorf("%s: %d requests, %d errors, statuses %v; want 200 answered %d", tc.path, res.Requests, res.Errors, res.Status, tc.status)
			}
			if (res.Divergent > 0) != tc.diverge {
				t.Errorf("%s: %d divergent answers, want divergence %v", tc.path, res.Divergent, tc.diverge)
			}
			if n := runs.Load(); n != 200 {
				t.Errorf("%s: the handler ran %d times, want 200", tc.path, n)
			}
		}
		// Fresh keys never repeat, so nothing diverges, and the receipts are not read.
		res := runFor(t, g, loadgen.Fresh, 100, base+"/length", base+"/chunked")
		if res.Requests != 100 || res.Errors != 0 || res.Status[201] != 50 || res.Status[200] != 50 || res.Divergent != 0 || res.Keys != 100 {
			t.Errorf("fresh over two targets: %+v", res)
		}
	})
}

// rawServer answers each connection's requests with reply(i), i counting the
// requests of that connection from 0, and closes the connection once reply
// returns close; it never sends Connection: close.
func rawServer(t *testing.T, reply func(i int) (answer string, close bool)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					answer, done := reply(i)
					if _, err := io.WriteString(c, answer); err != nil || done {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String() + "/", &conns
}

// A server that closes a kept-alive connection without saying so: the
// request that finds it closed is sent again on a new connection, as
// net/http's Transport does, and counts no error.
func TestServerClosesIdleConnection(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		url, conns := rawServer(t, func(i int) (string, bool) {
			return "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", i == 2 // three answers per connection
		})
		res := runFor(t, generator(t, gen), loadgen.Fresh, 60, url)
		if res.Requests != 60 || res.Errors != 0 || res.Status[201] != 60 {
			t.Fatalf("%+v, want 60 answered 201", res)
		}
		if n := conns.Load(); n < 20 {
			t.Fatalf("%d connections for 60 requests at 3 per connection", n)
		}
	})
}

// An answer whose body ends with the connection (no Content-Length, not
// chunked), and one of HTTP/1.0 without keep-alive.
func TestBodyUntilClose(t *testing.T) {
	for _, answer := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + `{"execution":"same"}`,
		"HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\n" + `{"execution":"same"}`,
	} {
		eachGenerator(t, func(t *testing.T, gen string) {
			url, conns := rawServer(t, func(int) (string, bool) { return answer, true })
			res := runFor(t, generator(t, gen), loadgen.Replay, 50, url)
			if res.Requests != 50 || res.Errors != 0 || res.Status[200] != 50 || res.Divergent != 0 || conns.Load() != 50 {
				t.Fatalf("%q: %+v over %d connections, want 50 answered on 50 connections", answer, res, conns.Load())
			}
		})
	}
}

// A server that answers garbage: errors, not answers.
func TestMalformedAnswer(t *testing.T) {
	eachGenerator(t, func(t *testing.T, gen string) {
		url, _ := rawServer(t, func(int) (string, bool) { return "SMTP ready\r\n\r\n", true })
		_, err := generator(t, gen).Run(context.Background(), loadgen.Config{
			Targets: []string{url}, Mode: loadgen.Fresh, Concurrency: 2, Duration: time.Minute, Requests: 10, Body: []byte("{}"),
		})
		if err == nil || !strings.Contains(err.Error(), "no request was answered (10 errors)") {
			t.Fatalf("run against a server answering garbage: %v", err)
		}
	})
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				<-done
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); close(done) })
	return "http://" + ln.Addr().String() + "/"
}
