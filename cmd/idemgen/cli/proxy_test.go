package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the proxy's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProxyServes runs `idemgen proxy` for real: it listens, deduplicates an
// idempotent operation in front of a plain upstream, logs JSON and exits 0
// when its context is canceled.
func TestProxyServes(t *testing.T) {
	var runs atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "made")
	}))
	defer up.Close()
	spec := filepath.Join(t.TempDir(), "api.yaml")
	err := os.WriteFile(spec, []byte(`openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /orders:
    post:
      operationId: createOrder
      x-idempotent: true
      responses:
        "201": {description: created}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- Run(ctx, []string{"proxy", "--spec", spec, "--upstream", up.URL, "--listen", "127.0.0.1:0", "--log-format", "json"}, nil, io.Discard, &stderr)
	}()
	addrRE := regexp.MustCompile(`"addr":"([^"]+)"`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case c := <-code:
			t.Fatalf("proxy exited with %d: %s", c, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if addr == "" {
		t.Fatalf("the proxy never logged its address: %s", stderr.String())
	}
	post := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/orders", strings.NewReader("{}"))
		req.Header.Set("Idempotency-Key", "k1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	a, b := post(), post()
	if a.StatusCode != http.StatusCreated || b.Header.Get("Idempotent-Replayed") != "true" || runs.Load() != 1 {
		t.Fatalf("first %d, second %d %v, upstream ran %d", a.StatusCode, b.StatusCode, b.Header, runs.Load())
	}
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d after cancel: %s", c, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the proxy did not shut down")
	}
	if !strings.Contains(stderr.String(), `"outcome":"replayed"`) {
		t.Errorf("no structured log of the replay: %s", stderr.String())
	}
}
