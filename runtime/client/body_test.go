package client_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/client"
)

func TestFillJSONKey(t *testing.T) {
	for _, tc := range []struct {
		body, pointer, key string
		wantBody, wantKey  string
	}{
		{`{"a":1.50,"idempotency_key":"mine"}`, "/idempotency_key", "", `{"a":1.50,"idempotency_key":"mine"}`, "mine"},
		{`{"a":1.50}`, "/idempotency_key", "given", `{"a":1.50,"idempotency_key":"given"}`, "given"},
		{`{"a":1,"k":"old"}`, "/k", "new", `{"a":1,"k":"new"}`, "new"},
		{`{"a":1,"k":"same"}`, "/k", "same", `{"a":1,"k":"same"}`, "same"},
		{`{"meta":{"x":true}}`, "/meta/k~1ey", "z", `{"meta":{"k/ey":"z","x":true}}`, "z"},
		{`{}`, "/m/k", "z", `{"m":{"k":"z"}}`, "z"},
	} {
		body, key, err := client.FillJSONKey([]byte(tc.body), tc.pointer, tc.key)
		if err != nil || string(body) != tc.wantBody || key != tc.wantKey {
			t.Errorf("FillJSONKey(%s, %s, %q) = %s, %q, %v; want %s, %q", tc.body, tc.pointer, tc.key, body, key, err, tc.wantBody, tc.wantKey)
		}
	}
	body, key, err := client.FillJSONKey([]byte(`{"n":12345678901234567890}`), "/k", "")
	if err != nil || !uuidV4.MatchString(key) || !strings.Contains(string(body), `"n":12345678901234567890`) {
		t.Errorf("fresh key: %s, %q, %v", body, key, err)
	}
	for _, bad := range [][2]string{{`[1]`, "/k"}, {`nope`, "/k"}, {`{"a":1}`, "k"}, {`{"a":1}`, "/a/b"}} {
		if _, _, err := client.FillJSONKey([]byte(bad[0]), bad[1], ""); err == nil {
			t.Errorf("FillJSONKey(%s, %s) accepted", bad[0], bad[1])
		}
	}
}

func TestFillFormKey(t *testing.T) {
	f := url.Values{"token": {"t1"}}
	if k := client.FillFormKey(f, "token", ""); k != "t1" {
		t.Errorf("kept key = %q", k)
	}
	if k := client.FillFormKey(f, "token", "t2"); k != "t2" || f.Get("token") != "t2" {
		t.Errorf("given key = %q, form %v", k, f)
	}
	if _, k, _ := client.FillJSONKeyWith([]byte(`{}`), "/k", "", client.NewULID); !ulidRe.MatchString(k) {
		t.Errorf("ULID key = %q", k)
	}
	if k := client.FillFormKeyWith(url.Values{}, "token", "", client.NewULID); !ulidRe.MatchString(k) {
		t.Errorf("ULID form key = %q", k)
	}
	f = url.Values{}
	if k := client.FillFormKey(f, "token", ""); !uuidV4.MatchString(k) || f.Get("token") != k {
		t.Errorf("fresh key = %q, form %v", k, f)
	}
}

func TestMultipartBody(t *testing.T) {
	body, ct, err := client.MultipartBody(&multipart.Form{Value: map[string][]string{"b": {"2"}, "a": {"1", "1b"}}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://x/", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if err := req.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	if got := req.MultipartForm.Value; len(got) != 2 || got["a"][1] != "1b" || got["b"][0] != "2" {
		t.Errorf("decoded %v", got)
	}
	// The files of a parsed form are copied.
	var src bytes.Buffer
	mw := multipart.NewWriter(&src)
	fw, _ := mw.CreateFormFile("song", "a.mp3")
	fw.Write([]byte("ID3 bytes"))
	mw.Close()
	in, _ := http.NewRequest("POST", "http://x/", &src)
	in.Header.Set("Content-Type", mw.FormDataContentType())
	if err := in.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	out, ct2, err := client.MultipartBody(in.MultipartForm)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := http.NewRequest("POST", "http://x/", bytes.NewReader(out))
	again.Header.Set("Content-Type", ct2)
	if err := again.ParseMultipartForm(1 << 20); err != nil || len(again.MultipartForm.File["song"]) != 1 || again.MultipartForm.File["song"][0].Filename != "a.mp3" {
		t.Errorf("re-encoded file: %v %v", err, again.MultipartForm)
	}
}

func TestMatchMediaType(t *testing.T) {
	declared := []string{"application/json", "application/problem+json", "image/*", "*/*"}
	for ct, want := range map[string]int{
		"application/json; charset=utf-8": 0, "application/problem+json": 1, "image/png": 2,
		"text/plain": 3, "": 3, "Application/JSON": 0,
	} {
		if got := client.MatchMediaType(ct, declared); got != want {
			t.Errorf("MatchMediaType(%q) = %d, want %d", ct, got, want)
		}
	}
	if got := client.MatchMediaType("text/plain", declared[:2]); got != -1 {
		t.Errorf("no match = %d", got)
	}
}
