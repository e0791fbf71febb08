package extension

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// input decodes a YAML snippet as the loader hands values over, positions
// being "line:rel" so tests can see which node a diagnostic names.
func input(t testing.TB, src string) Input {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatal(err)
	}
	return Input{Value: v, Pointer: "/x", Pos: func(rel string) model.Pos { return model.Pos{File: "f" + rel} }}
}

func rules(diags []model.Diagnostic) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Rule+" "+d.Pos.File+" "+d.Message)
	}
	return out
}

func TestParseShorthand(t *testing.T) {
	for src, enabled := range map[string]bool{"true": true, "false": false, "{enabled: false, reason: dup ok}": false, "{}": true} {
		ext, diags := Parse(input(t, src))
		if len(diags) != 0 || ext.Enabled != enabled {
			t.Errorf("%s: enabled %v diags %v", src, ext.Enabled, rules(diags))
		}
	}
	ext, _ := Parse(input(t, "{enabled: false, reason: append-only}"))
	if ext.Reason != "append-only" || !ext.Set["reason"] || !ext.Set["enabled"] {
		t.Errorf("waiver: %+v", ext)
	}
}

func TestParseFullForm(t *testing.T) {
	ext, diags := Parse(input(t, `
key: {query: k, required: false, format: pattern, pattern: "[a-z]+", maxLength: 64}
scope: [principal, header:X-Tenant]
fingerprint: [method, body, header:Content-Type, /amount]
ttl: 1h30m
lease: 10s
concurrent: wait
cache: [2XX, 409, "5xx"]
replayHeaders: [location, x-request-id]
maxBodyBytes: 512KiB
maxRequestBytes: 2097152
failOpen: true
problemType: https://example.com/problems
`))
	if len(diags) != 0 {
		t.Fatalf("diags %v", rules(diags))
	}
	want := idempotency.Policy{
		Key:             idempotency.Key{Query: "k", Optional: true, Format: idempotency.FormatPattern, Pattern: "[a-z]+", MaxLength: 64},
		Scope:           []string{"principal", "header:X-Tenant"},
		Fingerprint:     []string{"method", "body", "header:Content-Type", "/amount"},
		TTL:             90 * time.Minute,
		Lease:           10 * time.Second,
		Concurrent:      idempotency.ConcurrentWait,
		Cache:           []string{"2xx", "409", "5xx"},
		ReplayHeaders:   []string{"Location", "X-Request-Id"},
		MaxBodyBytes:    512 << 10,
		MaxRequestBytes: 2 << 20,
		FailOpen:        true,
		ProblemType:     "https://example.com/problems",
	}
	if got := fmt.Sprintf("%+v", ext.Policy); got != fmt.Sprintf("%+v", want) {
		t.Errorf("policy\n got %s\nwant %s", got, fmt.Sprintf("%+v", want))
	}
	if p := ext.Fields["scope[1]"]; p.File != "f/scope/1" {
		t.Errorf("scope[1] at %v", p)
	}
	if !ext.Set["key.pattern"] || !ext.Set["failOpen"] || ext.Set["issued"] {
		t.Errorf("set %v", ext.Set)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"{ttl: tomorrow}", `extension-value f/ttl x-idempotent.ttl: want a duration like "24h", got "tomorrow"`},
		{"{ttl: 0s}", `extension-not-positive f/ttl x-idempotent.ttl: want a positive duration, got "0s"`},
		{"{maxBodyBytes: 1 parsec}", `extension-value f/maxBodyBytes x-idempotent.maxBodyBytes: want a size such as 1048576, "512KiB" or "1MiB", got "1 parsec"`},
		{"{maxBodyBytes: 99999999999GiB}", `extension-value f/maxBodyBytes`},
		{"{key: {maxLength: 0}}", `extension-not-positive f/key/maxLength x-idempotent.key.maxLength: want a positive length, got 0`},
		{"{key: {format: base64}}", `extension-value f/key/format x-idempotent.key.format: want any, uuid, ulid or pattern, got "base64"`},
		{"{key: {derive: []}}", `extension-value f/key/derive x-idempotent.key.derive: want at least one request value to derive the key from`},
		{"{key: {derive: [cookie:x]}}", `extension-value f/key/derive/0 x-idempotent.key.derive[0]: want header:NAME, query:NAME, path:NAME or a JSON Pointer, got "cookie:x"`},
		{"{key: {field: /a~2}}", `extension-value f/key/field x-idempotent.key.field: want a JSON Pointer (~ escaped as ~0 or ~1), got "/a~2"`},
		{"{key: {header: 'Bad Header'}}", `extension-value f/key/header x-idempotent.key.header: want a header name, got "Bad Header"`},
		{"{scope: [/tenant]}", `extension-value f/scope/0 x-idempotent.scope[0]: want header:NAME, query:NAME, path:NAME or principal, got "/tenant"`},
		{"{fingerprint: [query:x]}", `extension-value f/fingerprint/0`},
		{"{fingerprint: [1]}", `extension-type f/fingerprint/0 x-idempotent.fingerprint[0]: want a string, got number 1`},
		{"{concurrent: 1}", `extension-type f/concurrent x-idempotent.concurrent: want reject or wait, got number 1`},
		{"{replayHeaders: all}", `extension-value f/replayHeaders x-idempotent.replayHeaders: want default or a list of header names, got "all"`},
		{"{problemType: /relative}", `extension-value f/problemType`},
		{"{issued: {maxAge: 1h, bind: true}}", `extension-unknown-field f/issued/bind x-idempotent.issued.bind: unknown field "bind"`},
		{"{enabled: no-thanks}", `extension-type f/enabled x-idempotent.enabled: want true or false, got "no-thanks"`},
		{"{reason: [a]}", `extension-type f/reason x-idempotent.reason: want a string, got a list`},
		{"{key: header}", `extension-type f/key x-idempotent.key: want an object`},
		{"null", `extension-type f x-idempotent: want true, false or an object, got null`},
		{"{fingreprint: [body]}", `extension-unknown-field f/fingreprint x-idempotent.fingreprint: unknown field "fingreprint" (did you mean "fingerprint"?)`},
	} {
		_, diags := Parse(input(t, tc.src))
		got := rules(diags)
		if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	_, diags := ParseDefaults(input(t, "true"))
	if got := rules(diags); len(got) != 1 || !strings.HasPrefix(got[0], "extension-type f x-idempotent-defaults: want an object") {
		t.Errorf("got %q", got)
	}
	_, diags = ParseDefaults(input(t, "{enabled: true, ttl: 1h}"))
	if got := rules(diags); len(got) != 1 || !strings.HasPrefix(got[0], "extension-unknown-field f/enabled x-idempotent-defaults.enabled:") {
		t.Errorf("got %q", got)
	}
}

func TestMerge(t *testing.T) {
	defaults, _ := ParseDefaults(input(t, "{ttl: 1h, key: {header: X-Key, format: uuid}, scope: [principal], cache: [2xx]}"))
	op, _ := Parse(input(t, "{key: {field: /id}, cache: [2xx, 4xx]}"))
	m := Merge(defaults, op)
	p := m.Policy
	// The operation's key source replaces the default header; other key fields
	// still merge field by field.
	if p.Key.Header != "" || p.Key.Field != "/id" || p.Key.Format != idempotency.FormatUUID || p.TTL != time.Hour ||
		!slices.Equal(p.Scope, []string{"principal"}) || !slices.Equal(p.Cache, []string{"2xx", "4xx"}) {
		t.Errorf("merged %+v", p)
	}
	if !m.Inherited["ttl"] || !m.Inherited["scope"] || m.Inherited["cache"] || m.Inherited["key.header"] || !m.Inherited["key.format"] {
		t.Errorf("inherited %v", m.Inherited)
	}
	if m.Fields["scope[0]"].File != "f/scope/0" {
		t.Errorf("inherited item position %v", m.Fields["scope[0]"])
	}
	if op.Set["ttl"] || op.Policy.TTL != 0 {
		t.Errorf("Merge modified its argument")
	}
	waiver, _ := Parse(input(t, "false"))
	if Merge(defaults, waiver) != waiver || Merge(nil, op) != op {
		t.Errorf("a waiver or nil defaults must come back unchanged")
	}
}

func op(method string, ext *model.Extension, params ...*model.Param) *model.Operation {
	ext.Policy.Operation = "op"
	return &model.Operation{ID: "op", Method: method, Path: "/p", Params: params, Idempotency: ext}
}

func TestCheck(t *testing.T) {
	str := &model.Schema{Kind: model.KindString}
	body := &model.Body{Contents: []*model.Content{
		{MediaType: "text/plain", Kind: model.BodyText, Schema: str},
		{MediaType: "application/x-www-form-urlencoded", Kind: model.BodyForm, Schema: &model.Schema{Kind: model.KindObject, Properties: []*model.Property{
			{Name: "token", Schema: str},
			{Name: "items", Schema: &model.Schema{Kind: model.KindArray, Items: &model.Schema{Kind: model.KindObject, Properties: []*model.Property{{Name: "sku", Schema: str}}}}},
			{Name: "meta", Schema: &model.Schema{Kind: model.KindMap, AdditionalProperties: str}},
		}}},
	}}
	api := &model.API{SecurityHeaders: []string{"X-Api-Key"}}
	for _, tc := range []struct {
		src    string
		method string
		want   []string
	}{
		{"{key: {field: token}}", "POST", nil},
		{"{key: {field: tokn}}", "POST", []string{"pointer-not-in-schema"}},
		{"{fingerprint: [/items/0/sku, /meta/anything]}", "POST", nil},
		{"{fingerprint: [/items/x/sku, /meta/a/b, /token/x]}", "POST", []string{"pointer-not-in-schema", "pointer-not-in-schema", "pointer-not-in-schema"}},
		{"{scope: [header:x-api-key]}", "PUT", []string{"scope-undeclared"}},
		{"{key: {derive: [header:X-Date, query:d]}}", "PATCH", []string{"derive-undeclared", "derive-undeclared"}},
		{"{ttl: 1m, lease: 2m}", "POST", []string{"ttl-shorter-than-lease"}},
		{"{lease: 48h}", "POST", []string{"ttl-shorter-than-lease"}},
		{"{key: {format: pattern}}", "POST", []string{"key-format-without-pattern"}},
		{"{key: {header: A, derive: [/token]}}", "POST", []string{"key-multiple-sources"}},
		{"{issued: true}", "POST", nil},
		{"{issued: true, key: {format: uuid}}", "POST", []string{"policy-invalid"}},
		{"{key: {query: k, inject: true}}", "POST", []string{"policy-invalid"}},
		{"true", "HEAD", []string{"safe-method"}},
		{"false", "GET", []string{"safe-method"}},
	} {
		ext, diags := Parse(input(t, tc.src))
		if len(diags) > 0 {
			t.Fatalf("%s: parse %v", tc.src, rules(diags))
		}
		o := op(tc.method, ext)
		o.Body = body
		var got []string
		for _, d := range Check(api, o) {
			got = append(got, d.Rule)
			if d.Operation != o {
				t.Errorf("%s: diagnostic without its operation", tc.src)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %s: got %v, want %v", tc.method, tc.src, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 90 * time.Second: "1m30s", time.Hour + time.Minute: "1h1m", 30 * time.Second: "30s", 500 * time.Millisecond: "500ms"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// FuzzParse checks that no extension value, however malformed, panics Parse,
// Merge or Check, and that a parsed enabled policy with no error diagnostics
// passes the runtime's Validate.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"true", "{key: {header: X}, ttl: 1h}", `{"key":{"derive":["/a","header:b"]},"scope":["principal"]}`,
		"{cache: [2xx, 409], maxBodyBytes: 1MiB, replayHeaders: [a]}", "{issued: {maxAge: 1h}}", "{key: {format: pattern, pattern: '^a+$'}}",
	} {
		f.Add([]byte(s), []byte("{ttl: 2h, lease: 1m}"))
	}
	f.Fuzz(func(t *testing.T, src, defSrc []byte) {
		var v, dv any
		if yaml.Unmarshal(src, &v) != nil || yaml.Unmarshal(defSrc, &dv) != nil {
			if json.Unmarshal(src, &v) != nil {
				return
			}
		}
		pos := func(string) model.Pos { return model.Pos{File: "f"} }
		defaults, ddiags := ParseDefaults(Input{Value: dv, Pos: pos})
		ext, diags := Parse(Input{Value: v, Pos: pos})
		m := Merge(defaults, ext)
		o := op("POST", m)
		diags = append(diags, ddiags...)
		diags = append(diags, Check(&model.API{Defaults: defaults}, o)...)
		for _, d := range diags {
			if d.Severity == model.Error {
				return
			}
		}
		if m.Enabled && m.Policy.Issued == nil {
			if err := m.Policy.Validate(); err != nil {
				t.Fatalf("no error diagnostics, but Validate: %v (policy %+v)", err, m.Policy)
			}
		}
	})
}
