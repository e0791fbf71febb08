// Package clienttest holds test servers for clients of idempotent APIs: a
// reference server that implements draft-ietf-httpapi-idempotency-key-header by
// hand with plain net/http (independent of idemgen's own runtime), and a proxy
// that loses responses. idemgen's own tests use them; so can a project's tests of
// its client.
package clienttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Outcome is what the application behind a DraftServer answered.
type Outcome struct {
	Status int
	Header http.Header
	Body   []byte
}

// DraftServer is an http.Handler that implements the Idempotency-Key header
// draft by hand: a request needs one Idempotency-Key header (an sf-string such as
// "abc", or leniently a bare value), else 400; the first request with a key runs
// Work and stores its outcome; a retry with the same key and the same method,
// URI and body gets the stored outcome with Idempotent-Replayed: true; one with
// another payload gets 422; one that arrives while the first runs gets 409 with
// Retry-After: 1. Errors are application/problem+json. Records never expire.
// It is safe for concurrent use.
type DraftServer struct {
	// Work is the application: it runs once per new key.
	Work func(r *http.Request, body []byte) Outcome
	// DropAfterCommit, when set and returning true, makes the server close the
	// connection without answering, after the outcome was stored: the operation
	// happened, the client never heard.
	DropAfterCommit func(r *http.Request) bool

	mu   sync.Mutex
	recs map[string]*draftRecord
	runs atomic.Int64
	keys sync.Map // key -> number of requests seen with it (*atomic.Int64)
}

type draftRecord struct {
	done bool
	fp   [32]byte
	out  Outcome
}

// Runs returns how many times Work ran.
func (s *DraftServer) Runs() int64 { return s.runs.Load() }

// Requests returns how many requests carried key.
func (s *DraftServer) Requests(key string) int64 {
	if n, ok := s.keys.Load(key); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// ParseKey reads the Idempotency-Key header: exactly one, an sf-string or a
// bare value, not empty.
func ParseKey(h http.Header) (string, bool) {
	vs := h.Values("Idempotency-Key")
	if len(vs) != 1 {
		return "", false
	}
	v := strings.TrimSpace(vs[0])
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1])
	}
	return v, v != ""
}

// WriteProblem writes an application/problem+json error (with Retry-After: 1
// for a 409).
func WriteProblem(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if status == http.StatusConflict {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "https://example.com/problems/idempotency", "title": title, "status": status})
}

func (s *DraftServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := ParseKey(r.Header)
	if !ok {
		WriteProblem(w, http.StatusBadRequest, "Idempotency-Key is missing")
		return
	}
	n, _ := s.keys.LoadOrStore(key, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	fp := sha256.Sum256([]byte(r.Method + " " + r.URL.RequestURI() + "\n" + string(body)))
	s.mu.Lock()
	if s.recs == nil {
		s.recs = make(map[string]*draftRecord)
	}
	rec := s.recs[key]
	switch {
	case rec != nil && rec.fp != fp:
		s.mu.Unlock()
		WriteProblem(w, http.StatusUnprocessableEntity, "Idempotency-Key is already used for another request")
		return
	case rec != nil && !rec.done:
		s.mu.Unlock()
		WriteProblem(w, http.StatusConflict, "A request with this Idempotency-Key is in progress")
		return
	case rec != nil:
		out := rec.out
		s.mu.Unlock()
		w.Header().Set("Idempotent-Replayed", "true")
		write(w, out)
		return
	}
	rec = &draftRecord{fp: fp}
	s.recs[key] = rec
	s.mu.Unlock()

	out := s.Work(r, body)
	s.runs.Add(1)
	s.mu.Lock()
	rec.done, rec.out = true, out
	s.mu.Unlock()
	if s.DropAfterCommit != nil && s.DropAfterCommit(r) {
		HijackClose(w)
		return
	}
	write(w, out)
}

func write(w http.ResponseWriter, out Outcome) {
	for k, v := range out.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(out.Status)
	w.Write(out.Body)
}

// HijackClose closes the client's connection without writing a response. It
// panics when w cannot be hijacked (HTTP/2).
func HijackClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic("clienttest: " + err.Error())
	}
	conn.Close()
}

// DropProxy is a reverse proxy that forwards every request to Backend and then,
// with probability Rate, closes the client's connection instead of passing the
// response on: the operation ran, the caller never heard. Its random source is
// seeded, so a run is reproducible. It is safe for concurrent use.
type DropProxy struct {
	backend string
	fwd     *http.Client
	rate    float64
	mu      sync.Mutex
	rnd     *rand.Rand
	dropped atomic.Int64
}

// NewDropProxy returns a proxy to backend (a base URL such as
// "http://127.0.0.1:1234") that drops responses with probability rate, using fwd
// to reach the backend (http.DefaultClient when nil).
func NewDropProxy(backend string, fwd *http.Client, rate float64, seed uint64) *DropProxy {
	if fwd == nil {
		fwd = http.DefaultClient
	}
	return &DropProxy{backend: strings.TrimRight(backend, "/"), fwd: fwd, rate: rate, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Dropped returns how many responses the proxy dropped.
func (p *DropProxy) Dropped() int64 { return p.dropped.Load() }

func (p *DropProxy) drop() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Float64() < p.rate
}

func (p *DropProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.backend+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := p.fwd.Do(out)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	if p.drop() {
		p.dropped.Add(1)
		HijackClose(w)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(rb)
}
