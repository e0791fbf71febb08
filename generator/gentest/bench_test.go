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

// BenchmarkGenerate measures emission alone (the model is loaded once) for the
// corpus specs; ns/op divided by the operation count shows that emission stays
// linear in the size of the spec.
func BenchmarkGenerate(b *testing.B) {
	dir := os.Getenv("IDEMGEN_CORPUS")
	if dir == "" {
		dir = filepath.Join(gentest.RepoRoot(), "..", "shared", "corpus")
	}
	for _, name := range []string{"oai-petstore-expanded.yaml", "telegram-bot-api.json", "resend.yaml", "twilio-api-v2010.json"} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			b.Skipf("corpus spec %s is absent", path)
		}
		api, err := loader.Load(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := emit.Generate(api, emit.Options{Package: "api", Models: true, Server: true, Client: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(api.Operations)+len(api.Schemas)), "ns/(op+schema)")
		})
	}
}
