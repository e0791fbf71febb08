package gentest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/generator/loader"
)

// maxFuzzSpec bounds the documents FuzzGenerate tries. Load and Generate cost
// grows with the spec, and so does every minimisation the fuzzer runs on an
// interesting input: small documents, each exercising one feature, keep it at
// thousands of executions a minute, while TestGolden and the corpus tests cover
// the big specs.
const maxFuzzSpec = 2 << 10

// FuzzGenerate feeds documents through the loader and the emitters: whatever
// the loader accepts, emission must neither panic nor fail (Generate fails
// only when its output does not parse, which would be an emitter bug). The
// loop never compiles the output (TestGolden builds the golden cases). Seeds
// are the golden specs small enough (one feature each);
// `go test -fuzz=FuzzGenerate ./generator/gentest` explores further.
func FuzzGenerate(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(gentest.RepoRoot(), "testdata", "golden", "*", "openapi.yaml"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) <= maxFuzzSpec {
			f.Add(data)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzSpec {
			t.Skip("larger than maxFuzzSpec")
		}
		// One file per worker process, rewritten for each input: cheaper than
		// a fresh directory per execution.
		path := filepath.Join(dir, "openapi.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		api, err := loader.Load(context.Background(), path)
		if err != nil {
			return // not a document: the loader's error is the answer
		}
		if _, err := emit.Generate(api, emit.Options{Package: "api", Models: true, Server: true, Client: true}); err != nil {
			t.Fatalf("emit failed on a loaded document: %v", err)
		}
	})
}
