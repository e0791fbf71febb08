package idempotency

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strconv"
	"testing"
)

// encodeResponse writes the header count as one byte and widens it when
// there are 128 or more headers; the record must be the uvarint encoding.
func TestResultEncodingManyHeaders(t *testing.T) {
	c, err := compile(Policy{Operation: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 127, 128, 300} {
		h := http.Header{"Date": {"now"}} // never stored
		for i := range n {
			h["X-H"+strconv.Itoa(i)] = []string{strconv.Itoa(i)}
		}
		enc := c.encodeResponse([]byte("garbage to overwrite"), 200, h, []byte("body"), nil)
		want := []byte{resultHTTP, resultV1}
		want = binary.AppendUvarint(want, 200)
		want = binary.AppendUvarint(want, uint64(n))
		if !bytes.HasPrefix(enc, want) {
			t.Fatalf("%d headers: record starts % x, want % x", n, enc[:min(len(enc), len(want))], want)
		}
		d, err := decodeResponse(enc)
		if err != nil {
			t.Fatalf("%d headers: %v", n, err)
		}
		got := d.header()
		if d.status != 200 || string(d.body) != "body" || len(got) != n {
			t.Fatalf("%d headers: decoded %d %q and %d headers", n, d.status, d.body, len(got))
		}
		for i := range n {
			if v := got["X-H"+strconv.Itoa(i)]; len(v) != 1 || v[0] != strconv.Itoa(i) {
				t.Fatalf("%d headers: X-H%d = %q", n, i, v)
			}
		}
	}
}
