package loader

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

// TestLoadErrors checks that documents that cannot be loaded give one located
// error, and never a model.
func TestLoadErrors(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "specs", "broken")
	for _, tc := range []struct{ file, want string }{
		// Syntax errors at the fault, not where the enclosing block starts.
		{"yaml-syntax.yaml", "yaml-syntax.yaml:7:11: did not find expected ',' or ']'"},
		{"bad-indent.yaml", "bad-indent.yaml:11:8: did not find expected key"},
		{"unterminated-quote.yaml", "unterminated-quote.yaml:5:16: found unexpected end of stream (could not find end character of double-quoted text)"},
		// The second parser places this one above yaml.v3's (right) line:
		// yaml.v3's line, at its first character.
		{"mapping-value.yaml", "mapping-value.yaml:6:4: mapping values are not allowed in this context"},
		{"tab-indent.yaml", "tab-indent.yaml:4:1: found a tab character that violates indentation"},
		{"truncated-string.json", "truncated-string.json:6:37: unexpected end of JSON inside this value: 6 object(s) or array(s) left open (is the file truncated?)"},
		{"json-syntax.json", "json-syntax.json:4:13: invalid character ','"},
		{"swagger2.yaml", "swagger2.yaml:1:1: Swagger (OpenAPI 2.0) documents are not supported"},
		{"not-openapi.yaml", "not-openapi.yaml:1:1: not an OpenAPI document"},
		{"missing-ref.yaml", `missing-ref.yaml:9:`},
		{"remote-ref.yaml", `remote-ref.yaml:5:`},
		{"missing-file.yaml", `missing-file.yaml:5:`},
		{"no-such-file.yaml", "no such file"},
		// kin-openapi's type errors carry no position: ours come from the index.
		{"schema-array.yaml", `schema-array.yaml:11:15: "not" holds an array where kin-openapi expects an object (Schema)`},
		{"truncated.json", "truncated.json:1:115: unexpected end of JSON"},
		{"ref-in-tag.yaml", `ref-in-tag.yaml:5:5: "description" holds an object where kin-openapi expects a string`},
		{"wrong-type.yaml", `wrong-type.yaml:9:34: "minLength" holds a string where kin-openapi expects a non-negative integer`},
		{"wrong-type.json", `wrong-type.json:8:69: "maxLength" holds a number (-1) where kin-openapi expects a non-negative integer`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			api, err := Load(context.Background(), filepath.Join(dir, tc.file))
			if err == nil {
				t.Fatalf("Load succeeded with %d diagnostics", len(api.Diagnostics))
			}
			if api != nil {
				t.Errorf("Load returned a model with its error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "loader: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

// TestLoadCanceled checks that a canceled context stops the load.
func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, filepath.Join("..", "..", "testdata", "specs", "songs", "openapi.yaml")); err == nil {
		t.Fatal("Load with a canceled context succeeded")
	}
}

// TestJSONPositions checks positions in a JSON root document and in the YAML
// file its path item is $ref'd from, and that inherited fields point at the
// defaults.
func TestJSONPositions(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "specs", "jsonref")
	root := filepath.Join(dir, "openapi.json")
	api := load(t, root)
	var got []string
	for _, d := range api.Diagnostics {
		got = append(got, d.Pos.String()+" "+d.Rule+" "+d.Pointer+" "+d.Message)
	}
	want := []string{
		root + ":4:29 ttl-shorter-than-lease /x-idempotent-defaults/ttl x-idempotent-defaults.ttl: \"10s\" is shorter than lease \"1m\"",
		root + ":4:29 ttl-shorter-than-lease /x-idempotent-defaults/ttl x-idempotent-defaults.ttl: \"10s\" is shorter than lease \"30s\"",
		root + ":9:34 pointer-not-in-schema /paths/~1orders/post/x-idempotent/key/field x-idempotent.key.field: \"/order_id\" names no field the request body schema of POST /orders can contain",
		filepath.Join(dir, "refunds.yaml") + ":4:5 extension-value /post/x-idempotent/concurrent x-idempotent.concurrent: want reject or wait, got \"sometimes\"",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	order := findOp(t, api, "createOrder")
	if order.Pos != (model.Pos{File: root, Line: 7, Col: 7}) || order.Pointer != "/paths/~1orders/post" {
		t.Errorf("createOrder at %v %s", order.Pos, order.Pointer)
	}
	refund := findOp(t, api, "createRefund")
	if refund.Pos != (model.Pos{File: filepath.Join(dir, "refunds.yaml"), Line: 1, Col: 1}) || refund.Pointer != "/post" {
		t.Errorf("createRefund at %v %s", refund.Pos, refund.Pointer)
	}
	if d := api.Diagnostics[2]; d.Operation != order || d.Severity != model.Error {
		t.Errorf("diagnostic operation %v severity %s", d.Operation, d.Severity)
	}
}

// TestCycles loads documents whose $refs or YAML aliases loop: each must load
// (or fail) at once, never hang or panic.
func TestCycles(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "specs", "cycles")
	for _, tc := range []struct {
		file string
		ok   bool
	}{
		{"selfref.yaml", true}, {"mutual.yaml", true}, {"pathself.yaml", true}, {"rbself.yaml", true},
		{"laughs.yaml", false}, // an alias bomb: yaml refuses it
	} {
		api, err := Load(context.Background(), filepath.Join(dir, tc.file))
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok=%v", tc.file, err, tc.ok)
		}
		if err == nil {
			checkInvariants(t, api)
		}
	}
}
