package idempotency

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{`abc`, `"abc"`, `"a\"b"`, ` "x" `, `""`, `"a", "b"`, "a\x00", `"\\"`, `"unterminated`, "ключ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		key, err := ParseKeyHeader(v, 64)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("ParseKeyHeader(%q): error %v does not wrap ErrInvalidKey", v, err)
			}
			return
		}
		if key == "" || len(key) > 64 {
			t.Fatalf("ParseKeyHeader(%q) = %q: empty or over maxLength", v, key)
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				t.Fatalf("ParseKeyHeader(%q) = %q: non-printable byte", v, key)
			}
		}
		// Round trip: the sf-string serialisation of the key parses back to it.
		sf := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
		if len(key) <= 64 {
			if back, err := ParseKeyHeader(sf, 64); err != nil || back != key {
				t.Fatalf("round trip of %q via %q = %q, %v", key, sf, back, err)
			}
		}
	})
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"b":1,"a":[true,false,null,-1.5e3]}`, ` { "a" : "\u00e9\n\"" } `,
		`{"a":{"c":1,"b":2},"a":0}`, `"\ud83d\ude00"`, `"\ud800"`, `[1,2`, `{"a" 1}`, `01`, `1.`, "{\"x\":\"\x01\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := getCanon()
		defer putCanon(c)
		c.out = c.out[:0]
		ok := c.appendCanonical(data)
		if ok != json.Valid(data) && (ok || depth(data) <= maxJSONDepth) {
			t.Fatalf("canonical ok=%v but json.Valid=%v for %q", ok, !ok, data)
		}
		if !ok {
			return
		}
		canon := bytes.Clone(c.out)
		dup := c.dupKeys
		if !json.Valid(canon) {
			t.Fatalf("canonical form %q of %q is not JSON", canon, data)
		}
		// Idempotent: the canonical form is its own canonical form.
		again, ok := CanonicalJSON(canon)
		if !ok || !bytes.Equal(again, canon) {
			t.Fatalf("canonical form not stable: %q -> %q", canon, again)
		}
		// Whitespace does not matter.
		var indented bytes.Buffer
		if err := json.Indent(&indented, data, " ", "\t"); err == nil {
			if got, _ := CanonicalJSON(indented.Bytes()); !bytes.Equal(got, canon) {
				t.Fatalf("indented %q: canonical %q, want %q", indented.Bytes(), got, canon)
			}
		}
		// Key order does not matter: re-encode through encoding/json (which
		// sorts keys, and with UseNumber keeps number literals). It collapses
		// duplicate keys and invalid UTF-8, which the canonical form keeps.
		if dup || !utf8.Valid(data) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return
		}
		if got, _ := CanonicalJSON(buf.Bytes()); !bytes.Equal(got, canon) {
			t.Fatalf("re-encoded %q: canonical %q, want %q", buf.Bytes(), got, canon)
		}
	})
}

// depth is the nesting depth of a JSON text (ignoring strings' contents).
func depth(data []byte) int {
	d, maxD, inStr := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			d++
			maxD = max(maxD, d)
		case !inStr && (c == '}' || c == ']'):
			d--
		}
	}
	return maxD
}

func TestCanonicalJSON(t *testing.T) {
	cases := map[string]string{
		` {"b": 1, "a": [ 1, {"d":4,"c":3} ] } `: `{"a":[1,{"c":3,"d":4}],"b":1}`,
		`"\u0041\/\t"`:                           `"A/\u0009"`,
		`{"\u0062":1,"a":2}`:                     `{"a":2,"b":1}`,
		`"\ud83d\ude00"`:                         "\"\U0001F600\"",
		`-0.5e+10`:                               `-0.5e+10`,
	}
	for in, want := range cases {
		got, ok := CanonicalJSON([]byte(in))
		if !ok || string(got) != want {
			t.Errorf("CanonicalJSON(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{``, `{`, `{"a":1,}`, `[1 2]`, `tru`, `"a`, `01`, `{"a":1}x`, "\"\x01\""} {
		if _, ok := CanonicalJSON([]byte(in)); ok {
			t.Errorf("CanonicalJSON(%q) accepted invalid JSON", in)
		}
	}
	deep := strings.Repeat("[", maxJSONDepth+10) + strings.Repeat("]", maxJSONDepth+10)
	if _, ok := CanonicalJSON([]byte(deep)); ok {
		t.Errorf("nesting beyond %d accepted (must fall back to raw bytes)", maxJSONDepth)
	}
}

func TestLookupPointer(t *testing.T) {
	doc := []byte(`{"a":{"b~c":[10,{"d/e":"x\"y"}]},"n":null}`)
	for ptr, want := range map[string]string{
		"/a/b~0c/0":      "10",
		"/a/b~0c/1/d~1e": `"x\"y"`,
		"/n":             "null",
		"/a/b~0c/1":      `{"d/e":"x\"y"}`,
	} {
		toks, err := parsePointer(ptr)
		if err != nil {
			t.Fatal(err)
		}
		raw, ok := lookupPointer(doc, toks)
		if !ok || string(raw) != want {
			t.Errorf("lookup %s = %s, %v; want %s", ptr, raw, ok, want)
		}
	}
	for _, ptr := range []string{"/x", "/a/b~0c/2", "/a/b~0c/01", "/n/x"} {
		toks, _ := parsePointer(ptr)
		if raw, ok := lookupPointer(doc, toks); ok {
			t.Errorf("lookup %s = %s, want absent", ptr, raw)
		}
	}
	if s, ok := stringValue([]byte(`"a\u0041\n\\"`)); !ok || s != "aA\n\\" {
		t.Errorf("stringValue = %q", s)
	}
}

func TestResultEncodingRoundTrip(t *testing.T) {
	c, err := compile(Policy{Operation: "x"})
	if err != nil {
		t.Fatal(err)
	}
	h := map[string][]string{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}, "Set-Cookie": {"s=1"}, "Date": {"now"}}
	enc := c.encodeResponse(nil, 201, h, []byte("body\x00bytes"), nil)
	d, err := decodeResponse(enc)
	if err != nil {
		t.Fatal(err)
	}
	got := d.header()
	if d.status != 201 || string(d.body) != "body\x00bytes" || len(got) != 2 || len(got["X-Multi"]) != 2 || got["Set-Cookie"] != nil {
		t.Errorf("decoded %d %q %v", d.status, d.body, got)
	}
	for i := 0; i < len(enc); i++ {
		if _, err := decodeResponse(enc[:i]); err == nil {
			t.Errorf("truncated record of %d bytes decoded without error", i)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	c, _ := compile(Policy{Operation: "x"})
	f.Add(c.encodeResponse(nil, 200, map[string][]string{"A": {"b"}}, []byte("x"), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeResponse(b)
		if err == nil {
			_ = d.header() // must not panic on anything that decoded
		}
	})
}
