package issuedkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/issuedkey"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// A payment operation that accepts only server-issued keys: a client asks POST
// /idempotency-keys for a key, then pays with it. A key the server did not sign
// gets 400 and the handler does not run; a key signed with the previous secret
// still verifies after a rotation.
func Example() {
	cur, old := bytes.Repeat([]byte("c"), 32), bytes.Repeat([]byte("o"), 32) // read them from configuration
	issuer, err := issuedkey.New(issuedkey.Config{Secret: cur, Previous: [][]byte{old}})
	if err != nil {
		log.Fatal(err)
	}
	store := memstore.New()
	defer store.Close()
	mw, err := idempotency.New(store, idempotency.Policy{
		Operation: "pay",
		Issued:    &idempotency.IssuedKeys{MaxAge: time.Hour}, // x-idempotent: {issued: {maxAge: 1h}}
	}, issuer.Option())
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /idempotency-keys", issuer.Handler(nil)) // nil: keys bound to no principal
	mux.Handle("POST /payments", mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	mux.Handle("GET /payments/idempotency", mw.StatusHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(method, path, key string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		return resp
	}
	decode := func(resp *http.Response, v any) {
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			log.Fatal(err)
		}
	}
	var issued struct{ Key string }
	resp := send("POST", "/idempotency-keys", "")
	fmt.Println("issue:", resp.StatusCode, resp.Header.Get("Cache-Control"))
	decode(resp, &issued)

	var st struct{ State string }
	decode(send("GET", "/payments/idempotency", issued.Key), &st)
	fmt.Println("before use:", st.State)

	resp = send("POST", "/payments", issued.Key)
	resp.Body.Close()
	fmt.Println("pay:", resp.StatusCode)
	resp = send("POST", "/payments", issued.Key)
	resp.Body.Close()
	fmt.Println("pay again:", resp.StatusCode, "replayed="+resp.Header.Get("Idempotent-Replayed"))

	resp = send("POST", "/payments", "a-key-the-client-made-up")
	resp.Body.Close()
	fmt.Println("made-up key:", resp.StatusCode)

	// A page rendered before the rotation carries a key of the old secret.
	before, _ := issuedkey.New(issuedkey.Config{Secret: old})
	k, _ := before.Issue(context.Background(), "")
	resp = send("POST", "/payments", k.Key)
	resp.Body.Close()
	fmt.Println("old-secret key:", resp.StatusCode)
	// Output:
	// issue: 201 no-store
	// before use: issued
	// pay: 201
	// pay again: 201 replayed=true
	// made-up key: 400
	// old-secret key: 201
}
