package loader

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// TestYAMLToJSONAsKin: kin-openapi loads the JSON that yamlToJSON writes into
// exactly the document it loads from the YAML itself, scalars of every kind,
// escapes and non-string keys included.
func TestYAMLToJSONAsKin(t *testing.T) {
	src := []byte(`openapi: 3.0.3
info:
  title: "Quotes \" and \\ backslashes, a tab\t, a bell \a, emoji 🎵"
  version: "1.0"
  x-numbers: [1, -2, 1.0, 1e3, 0x1F, 0o17, 12345678901234567890, .5]
  x-flags: [true, false, yes, no, on, off, ~, null, ""]
  x-when: 2024-01-01
  x-when-time: 2024-01-01T10:00:00Z
  x-multi: |
    line one
    line two
  x-keys: {1: one, 2.5: two and a half, true: yes}
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1, maximum: 1e6}}
    get:
      x-idempotent: {ttl: 24h}
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {n: {type: number, default: 2.50, example: 007}}}
              example: {n: 1.5, when: 2024-02-03, list: [a, 1, true]}
        default: {description: "d\u00e9faut"}
`)
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	js, ok := yamlToJSON(&doc, nil)
	if !ok {
		t.Fatal("yamlToJSON refused a plain document")
	}
	if !json.Valid(js) {
		t.Fatalf("invalid JSON: %s", js)
	}
	fromYAML, err := openapi3.NewLoader().LoadFromData(src)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := openapi3.NewLoader().LoadFromData(js)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromYAML)
	b, _ := json.Marshal(fromJSON)
	if !bytes.Equal(a, b) {
		t.Errorf("kin loads the converted JSON differently:\nyaml %s\njson %s\nconverted %s", a, b, js)
	}
}

// TestYAMLToJSONRefuses: what kin's own conversion treats specially is left to
// kin (the file is passed as it is).
func TestYAMLToJSONRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"alias":                    "a: &x {b: 1}\nc: *x\n",
		"merge key":                "a: &x {b: 1}\nc: {<<: *x, d: 2}\n",
		"duplicate key":            "a: 1\nb: 2\na: 3\n",
		"binary":                   "a: !!binary aGVsbG8=\n",
		"nan":                      "a: .nan\n",
		"infinity":                 "a: -.inf\n",
		"custom tag":               "a: !thing x\n",
		"null key":                 "~: 1\n",
		"sequence key":             "? [a, b]\n: 1\n",
		"many keys, one duplicate": "k1: 1\nk2: 1\nk3: 1\nk4: 1\nk5: 1\nk6: 1\nk7: 1\nk8: 1\nk9: 1\nk10: 1\nk1: 2\n",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if js, ok := yamlToJSON(&doc, nil); ok {
			t.Errorf("%s: converted to %s, want it left to kin", name, js)
		}
	}
}

// TestAppendJSONString: the escapes JSON needs, and U+FFFD for invalid UTF-8
// as encoding/json writes it.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "\n\r\t\x00\x1f\x7f", "é🎵", "bad \xff byte", "<&>"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q: %s is not a JSON string: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: decodes to %q, encoding/json's to %q", s, back, wantBack)
		}
	}
}
