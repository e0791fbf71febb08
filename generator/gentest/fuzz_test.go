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

// FuzzGenerate feeds documents through the loader and the emitters: whatever
// the loader accepts, emission must neither panic nor fail (Generate fails
// only when its output does not parse, which would be an emitter bug). The
// golden specs are the seeds; `go test -fuzz=FuzzGenerate ./generator/gentest`
// explores further.
func FuzzGenerate(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(gentest.RepoRoot(), "testdata", "golden", "*", "openapi.yaml"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "openapi.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
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
