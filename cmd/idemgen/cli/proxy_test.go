package cli

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
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
	p := startProxy(t)
	a, b := p.post(t, "k1"), p.post(t, "k1")
	if a.StatusCode != http.StatusCreated || b.Header.Get("Idempotent-Replayed") != "true" || p.runs.Load() != 1 {
		t.Fatalf("first %d, second %d %v, upstream ran %d", a.StatusCode, b.StatusCode, b.Header, p.runs.Load())
	}
	res, err := http.Get("http://" + p.addr + "/readyz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	if c := p.stop(); c != 0 {
		t.Fatalf("exit %d after cancel: %s", c, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `"outcome":"replayed"`) {
		t.Errorf("no structured log of the replay: %s", p.stderr.String())
	}
}
