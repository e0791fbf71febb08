package emit_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/generator/model"
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

// TestClientDeterministic: client_gen.go has the generated-code header and the
// same bytes on every run, and a schema named like a client identifier keeps its
// name while the client's moves aside.
func TestClientDeterministic(t *testing.T) {
	gen := func() []byte {
		api := handAPI()
		api.Schemas = append(api.Schemas, &model.Schema{Name: "Client", GoName: "Client", Kind: model.KindObject,
			Properties: []*model.Property{{Name: "x", GoName: "X", Required: true, Schema: &model.Schema{Kind: model.KindString}}}})
		res, err := emit.Generate(named(api), emit.Options{Package: "hand", Models: true, Client: true, Version: "v0.0.0-test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Files {
			if f.Name == "client_gen.go" {
				return f.Content
			}
		}
		t.Fatal("no client_gen.go")
		return nil
	}
	a, b := gen(), gen()
	if !bytes.Equal(a, b) {
		t.Error("client_gen.go differs between two runs")
	}
	first, _, _ := strings.Cut(string(a), "\n")
	if !headerRe.MatchString(first) {
		t.Errorf("first line %q", first)
	}
	for _, want := range []string{"type Client2 struct", "func NewClient(baseURL string", "func (c *Client2) CreateSong(ctx context.Context, req CreateSongRequestObject"} {
		if !strings.Contains(string(a), want) {
			t.Errorf("client_gen.go does not contain %q", want)
		}
	}
}
