package gateway_test

import (
	"bytes"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/runtime/gateway"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// upload encodes one file part, as curl -F does, with a new random boundary.
func upload(t *testing.T, content string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("title", "report")
	fw, err := w.CreateFormFile("file", "report.pdf")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, content)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// TestMultipartRetryThroughTheProxy: the proxy fingerprints a multipart body
// by its parts, so a retry that picks a new boundary replays the upstream's
// first answer instead of a 422; another file is a 422.
func TestMultipartRetryThroughTheProxy(t *testing.T) {
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if _, _, err := r.FormFile("file"); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "stored #"+string(rune('0'+n)))
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	st := memstore.New()
	defer st.Close()
	policy := idempotency.Policy{Operation: "uploadReport"}
	gw, err := gateway.New(gateway.Config{
		Routes:   []gateway.Route{{Method: "POST", Path: "/reports", Segments: [][]gateway.Part{{{Literal: "reports"}}}, Operation: "uploadReport", Policy: &policy}},
		Upstream: u, Store: st, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gw)
	defer ts.Close()
	send := func(body []byte, ct string) (int, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/reports", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Idempotency-Key", "report-1")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	b1, ct1 := upload(t, "%PDF-1.7 ...")
	b2, ct2 := upload(t, "%PDF-1.7 ...")
	if ct1 == ct2 {
		t.Fatal("same boundary twice")
	}
	s1, a1 := send(b1, ct1)
	s2, a2 := send(b2, ct2)
	if s1 != 201 || s2 != 201 || a1 != a2 || calls.Load() != 1 {
		t.Fatalf("first %d %q, retry %d %q, upstream called %d times", s1, a1, s2, a2, calls.Load())
	}
	b3, ct3 := upload(t, "%PDF-1.7 other")
	if s3, a3 := send(b3, ct3); s3 != http.StatusUnprocessableEntity {
		t.Fatalf("another file under the same key: %d %q, want 422", s3, a3)
	}
}
