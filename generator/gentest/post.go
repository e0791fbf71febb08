package gentest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Reply is the answer to Post: status, headers and body.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// Post sends body (as application/json when not empty) with header to url,
// as a webhook provider or a plain HTTP client does, and reads the answer;
// any transport error fails t.
func Post(t testing.TB, url string, header map[string]string, body string) Reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Reply{resp.StatusCode, resp.Header, string(b)}
}
