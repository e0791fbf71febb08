package client_test

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// draftServer implements draft-ietf-httpapi-idempotency-key-header by hand, with
// plain net/http: the reference server the client is tested against, independent
// of idemgen's own runtime.
type draftServer struct {
	mu   sync.Mutex
	recs map[string]*draftRecord
	runs atomic.Int64
	// work is the application: it runs once per new key.
	work func(r *http.Request, body []byte) (int, []byte)
	// dropAfterCommit, when it returns true, closes the connection instead of
	// answering, after the outcome was stored.
	dropAfterCommit func(r *http.Request) bool
}

type draftRecord struct {
	done   bool
	fp     [32]byte
	status int
	body   []byte
}

func newDraftServer(work func(r *http.Request, body []byte) (int, []byte)) *draftServer {
	return &draftServer{recs: map[string]*draftRecord{}, work: work}
}

// draftKey parses the key header: an sf-string ("abc") or, leniently, a bare token.
func draftKey(h http.Header) (string, bool) {
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

func writeDraftProblem(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if status == http.StatusConflict {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "https://example.com/idempotency", "title": title, "status": status})
}

func (s *draftServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := draftKey(r.Header)
	if !ok {
		writeDraftProblem(w, http.StatusBadRequest, "Idempotency-Key is missing")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	fp := sha256.Sum256([]byte(r.Method + " " + r.URL.RequestURI() + "\n" + string(body)))
	s.mu.Lock()
	rec := s.recs[key]
	switch {
	case rec != nil && rec.fp != fp:
		s.mu.Unlock()
		writeDraftProblem(w, http.StatusUnprocessableEntity, "Idempotency-Key is already used for another request")
		return
	case rec != nil && !rec.done:
		s.mu.Unlock()
		writeDraftProblem(w, http.StatusConflict, "A request with this Idempotency-Key is in progress")
		return
	case rec != nil:
		status, out := rec.status, rec.body
		s.mu.Unlock()
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(out)
		return
	}
	rec = &draftRecord{fp: fp}
	s.recs[key] = rec
	s.mu.Unlock()

	status, out := s.work(r, body)
	s.runs.Add(1)
	s.mu.Lock()
	rec.done, rec.status, rec.body = true, status, out
	s.mu.Unlock()
	if s.dropAfterCommit != nil && s.dropAfterCommit(r) {
		hijackClose(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// hijackClose closes the client's connection without writing a response.
func hijackClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}
