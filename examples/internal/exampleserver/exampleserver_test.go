package exampleserver

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRegisterDefaults(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := Register(fs, "songs", "127.0.0.1:8080")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	want := "sqlite://" + filepath.ToSlash(filepath.Join(os.TempDir(), "idemgen-examples", "songs.db"))
	if f.Addr != "127.0.0.1:8080" || f.Store != want {
		t.Errorf("defaults: addr %q store %q, want 127.0.0.1:8080 and %q", f.Addr, f.Store, want)
	}
	if err := fs.Parse([]string{"-store", "memory://", "-addr", ":0"}); err != nil || f.Store != "memory://" || f.Addr != ":0" {
		t.Errorf("flags not applied: %+v %v", f, err)
	}
}

// TestOpenStoreCreatesSQLiteDirectory opens an SQLite store in a directory
// that does not exist yet.
func TestOpenStoreCreatesSQLiteDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, c, err := OpenStore(context.Background(), "sqlite://"+filepath.ToSlash(filepath.Join(dir, "x.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s == nil {
		t.Fatal("nil store")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Errorf("no database file: %v", err)
	}
	if _, _, err := OpenStore(context.Background(), "nosuch://"); err == nil {
		t.Error("an unknown scheme was accepted")
	}
}

// TestServeAnnouncesAndShutsDown checks the "listening on" line the demo and
// the tests read, and the graceful stop when the context ends.
func TestServeAnnouncesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hi")
		}), pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hi" {
		t.Errorf("body %q", b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after the context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s")
	}
	if err := Serve(context.Background(), "256.0.0.1:0", http.NotFoundHandler(), io.Discard); err == nil {
		t.Error("Serve listened on an invalid address")
	}
}
