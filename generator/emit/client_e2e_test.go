package emit_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/generator/loader"
)

// TestClientEndToEnd generates the models, server and client of
// testdata/client/api.yaml (every key source of x-idempotent) into a temporary
// module and runs testdata/client/e2e_test.go there: the generated client
// against the generated server (dropped answers, in-flight duplicates, typed
// errors, a proxy that loses 30% of the answers) and against a hand-written
// server of the IETF draft.
func TestClientEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated code in a temporary module")
	}
	api, err := loader.Load(context.Background(), "testdata/client/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range api.Diagnostics {
		if d.Severity == "error" {
			t.Fatalf("spec: %s", d.Error())
		}
	}
	res, err := emit.Generate(api, emit.Options{Package: "e2e", Models: true, Server: true, Client: true, Version: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/client/e2e_test.go")
	if err != nil {
		t.Fatal(err)
	}
	m := gentest.NewModule(t)
	m.Add(t, "e2e", append(res.Files, emit.File{Name: "e2e_test.go", Content: src}))
	out, err := m.Go(context.Background(), "test", "-count=1", "./e2e")
	if err != nil {
		t.Fatalf("generated client end-to-end: %v\n%s", err, out)
	}
	if !strings.Contains(out, "ok") {
		t.Fatalf("no test ran:\n%s", out)
	}
}
