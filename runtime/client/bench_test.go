package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/idemgen/idemgen/runtime/client"
)

// staticDoer answers every request in memory: the benchmark measures the
// Retrier's own cost, not the network's.
type staticDoer struct{}

func (staticDoer) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Idempotent-Replayed": {"true"}},
		Body: io.NopCloser(bytes.NewReader([]byte(`{"id":"1"}`)))}, nil
}

func BenchmarkRetrierDo(b *testing.B) {
	r, err := client.NewRetrier(staticDoer{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"title":"x"}`)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/songs", bytes.NewReader(body))
		key := client.NewKey()
		req.Header.Set("Idempotency-Key", client.KeyHeaderValue(key))
		resp, err := r.Do(context.Background(), req, client.Call{Operation: "createSong", Idempotent: true, Key: key})
		if err != nil || !resp.Result.Replayed {
			b.Fatal(err)
		}
	}
}
