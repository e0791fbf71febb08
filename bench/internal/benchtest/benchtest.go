// Package benchtest holds the helpers the bench module's tests share: a check
// that a local service is up, and a contender served on loopback.
package benchtest

import (
	"context"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/idemgen/idemgen/bench/contender"
)

// NeedService skips the test when nothing answers on addr (a local Redis or
// PostgreSQL), and fails it instead when CI=true, where the services must run.
func NeedService(t testing.TB, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", addr, err)
		}
		t.Skipf("%s unreachable: %v", addr, err)
	}
	c.Close()
}

// Serve runs the contender name on a loopback port until the test ends and
// returns its endpoint URL, its recorder, and a client whose idle connections
// are closed before the server, so that the server's shutdown does not wait
// for them.
func Serve(t testing.TB, name string, env contender.Env) (string, *contender.Recorder, *http.Client) {
	t.Helper()
	rec := contender.NewRecorder("t-")
	srv, err := contender.Open(context.Background(), name, env, rec)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
	})
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections) // cleanups run last-in first-out
	return "http://" + ln.Addr().String() + "/payments", rec, client
}
