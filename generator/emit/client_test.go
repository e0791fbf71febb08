package emit_test

import (
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
)

// TestClientCompiles builds and vets the client of the hand model, with the
// server in the same package and alone.
func TestClientCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated code in a temporary module")
	}
	m := gentest.NewModule(t)
	for _, tc := range []struct {
		dir    string
		server bool
	}{{"both", true}, {"clientonly", false}} {
		res, err := emit.Generate(handAPI(), emit.Options{Package: tc.dir, Models: true, Server: tc.server, Client: true, Version: "v0.0.0-test"})
		if err != nil {
			t.Fatal(err)
		}
		m.Add(t, tc.dir, res.Files)
	}
	m.BuildAndVet(t)
}
