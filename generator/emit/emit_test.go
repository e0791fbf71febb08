package emit_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// handAPI builds, without the loader, a model that exercises every construct
// the emitters handle: enums, nullable and optional fields, recursion, maps,
// formats, x-go-type, tagged and raw unions, every body kind, response
// headers, ranges, odd paths and names that collide with the generated API.
func handAPI() *model.API {
	str := &model.Schema{Kind: model.KindString}
	i64 := &model.Schema{Kind: model.KindInteger, Format: "int64"}
	when := &model.Schema{Kind: model.KindString, Format: "date-time"}
	genre := &model.Schema{Name: "Genre", GoName: "Genre", Kind: model.KindString, Enum: []any{"rock", "jazz", "2fa-code", "rock"}}
	level := &model.Schema{Name: "Level", GoName: "Level", Kind: model.KindInteger, Enum: []any{1, 2.0, int64(3)}}
	node := &model.Schema{Name: "Node", GoName: "Node", Kind: model.KindObject, Description: "A tree node."}
	node.Properties = []*model.Property{
		{Name: "name", GoName: "Name", Required: true, Schema: str},
		{Name: "parent", GoName: "Parent", Required: true, Schema: node},
		{Name: "children", GoName: "Children", Schema: &model.Schema{Kind: model.KindArray, Items: node}},
	}
	song := &model.Schema{Name: "Song", GoName: "Song", Kind: model.KindObject, Description: "Song is a recorded song."}
	song.Properties = []*model.Property{
		{Name: "id", GoName: "ID", Required: true, Schema: i64},
		{Name: "title", GoName: "Title", Required: true, Schema: str},
		{Name: "genre", GoName: "Genre", Schema: genre},
		{Name: "level", GoName: "Level", Schema: level},
		{Name: "released", GoName: "Released", Schema: when},
		{Name: "note", GoName: "Note", Required: true, Schema: &model.Schema{Kind: model.KindString, Nullable: true, Description: "A free note."}},
		{Name: "tags", GoName: "Tags", Schema: &model.Schema{Kind: model.KindMap, AdditionalProperties: str}},
		{Name: "cover", GoName: "Cover", Schema: &model.Schema{Kind: model.KindString, Format: "binary"}},
		{Name: "extra", GoName: "Extra", Schema: &model.Schema{Kind: model.KindAny}},
		{Name: "uuid", GoName: "UUID", Schema: &model.Schema{Kind: model.KindString, GoType: "time.Duration"}},
		{Name: "meta", GoName: "Meta", Schema: &model.Schema{Kind: model.KindObject, Properties: []*model.Property{
			{Name: "plays", GoName: "Plays", Required: true, Schema: &model.Schema{Kind: model.KindInteger, Format: "int32"}},
			{Name: "score", GoName: "Score", Schema: &model.Schema{Kind: model.KindNumber, Format: "float"}},
		}}},
	}
	cat := &model.Schema{Name: "Cat", GoName: "Cat", Kind: model.KindObject, Properties: []*model.Property{
		{Name: "kind", GoName: "Kind", Required: true, Schema: str},
		{Name: "lives", GoName: "Lives", Schema: i64},
	}}
	dog := &model.Schema{Name: "Dog", GoName: "Dog", Kind: model.KindObject, Properties: []*model.Property{
		{Name: "kind", GoName: "Kind", Required: true, Schema: str},
	}}
	pet := &model.Schema{Name: "Pet", GoName: "Pet", Kind: model.KindUnion, Variants: []*model.Schema{cat, dog},
		Discriminator: &model.Discriminator{Property: "kind", Mapping: []model.DiscriminatorCase{{Value: "cat", Schema: cat}, {Value: "dog", Schema: dog}}}}
	value := &model.Schema{Name: "Value", GoName: "Value", Kind: model.KindUnion, Variants: []*model.Schema{str, i64, cat}}
	handler := &model.Schema{Name: "Handler", GoName: "Handler", Kind: model.KindObject, Properties: []*model.Property{
		{Name: "x", GoName: "X", Required: true, Schema: str},
	}}
	createReq := &model.Schema{Name: "CreateSongRequest", GoName: "CreateSongRequest", Kind: model.KindObject, Properties: []*model.Property{
		{Name: "title", GoName: "Title", Required: true, Schema: str},
		{Name: "idempotency_key", GoName: "IdempotencyKey", Schema: str},
	}}
	form := &model.Schema{Name: "PayForm", GoName: "PayForm", Kind: model.KindObject, Properties: []*model.Property{
		{Name: "amount", GoName: "Amount", Required: true, Schema: i64},
		{Name: "token", GoName: "Token", Schema: str},
		{Name: "tags", GoName: "Tags", Schema: &model.Schema{Kind: model.KindArray, Items: str}},
	}}
	errSchema := &model.Schema{Name: "Error", GoName: "Error", Kind: model.KindObject, Properties: []*model.Property{
		{Name: "message", GoName: "Message", Required: true, Schema: str},
	}}
	policy := idempotency.Policy{Key: idempotency.Key{Field: "/idempotency_key"}, TTL: 48 * time.Hour, Lease: 90 * time.Second,
		Concurrent: idempotency.ConcurrentWait, Fingerprint: []string{"method", "/title"}, MaxBodyBytes: 4096, Scope: []string{"principal"},
		Issued: &idempotency.IssuedKeys{MaxAge: time.Hour}}
	ops := []*model.Operation{
		{ID: "createSong", GoName: "CreateSong", Method: "POST", Path: "/songs", Summary: "Create a song.",
			Params: []*model.Param{{Name: "X-Tenant", GoName: "XTenant", In: model.InHeader, Required: true, Schema: str},
				{Name: "Body", GoName: "Body", In: model.InQuery, Schema: str}},
			Body: &model.Body{Required: true, Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON, Schema: createReq}}},
			Responses: []*model.Response{
				{Status: "201", Description: "Created.", Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON, Schema: song}},
					Headers: []*model.Param{{Name: "Location", GoName: "Location", In: model.InHeader, Required: true, Schema: str}}},
				{Status: "4XX", Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON, Schema: errSchema}, {MediaType: "application/problem+json", Kind: model.BodyJSON, Schema: errSchema}}},
				{Status: "default", Contents: []*model.Content{{MediaType: "text/plain", Kind: model.BodyText}}},
			},
			Idempotency: &model.Extension{Enabled: true, Policy: policy}},
		{ID: "listSongs", GoName: "ListSongs", Method: "GET", Path: "/songs",
			Params: []*model.Param{
				{Name: "limit", GoName: "Limit", In: model.InQuery, Schema: &model.Schema{Kind: model.KindInteger, Format: "int32"}},
				{Name: "genre", GoName: "Genre", In: model.InQuery, Explode: true, Schema: &model.Schema{Kind: model.KindArray, Items: genre}},
				{Name: "ids", GoName: "IDs", In: model.InQuery, Style: "pipeDelimited", Schema: &model.Schema{Kind: model.KindArray, Items: i64}},
				{Name: "session", GoName: "Session", In: model.InCookie, Schema: str},
				{Name: "filter", GoName: "Filter", In: model.InQuery, Style: "deepObject", Schema: &model.Schema{Kind: model.KindMap, AdditionalProperties: str},
					Pos: model.Pos{File: "hand.yaml", Line: 3, Col: 5}},
			},
			Responses: []*model.Response{{Status: "200", Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON, Schema: &model.Schema{Kind: model.KindArray, Items: song}}}}}},
		{ID: "getFile", GoName: "GetFile", Method: "GET", Path: "/files/{name}.{ext}",
			Params: []*model.Param{{Name: "name", GoName: "Name", In: model.InPath, Required: true, Schema: str},
				{Name: "ext", GoName: "Ext", In: model.InPath, Required: true, Schema: str}},
			Responses: []*model.Response{{Status: "200", Contents: []*model.Content{{MediaType: "*/*", Kind: model.BodyBinary}}}}},
		{ID: "getFileRaw", GoName: "GetFileRaw", Method: "GET", Path: "/files/{file-id}",
			Params:    []*model.Param{{Name: "file-id", GoName: "FileID", In: model.InPath, Required: true, Schema: i64}},
			Responses: []*model.Response{{Status: "204"}}},
		{ID: "pay", GoName: "Pay", Method: "POST", Path: "/pay/",
			Body: &model.Body{Contents: []*model.Content{
				{MediaType: "application/x-www-form-urlencoded", Kind: model.BodyForm, Schema: form},
				{MediaType: "multipart/form-data", Kind: model.BodyMultipart},
				{MediaType: "text/plain", Kind: model.BodyText},
				{MediaType: "application/octet-stream", Kind: model.BodyBinary},
			}},
			Responses:   []*model.Response{{Status: "200", Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON, Schema: pet}}}},
			Idempotency: &model.Extension{Enabled: true, Policy: idempotency.Policy{Key: idempotency.Key{Field: "token"}}}},
		{ID: "log", GoName: "Log", Method: "POST", Path: "/log",
			Body:        &model.Body{Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON, Schema: value}}},
			Responses:   []*model.Response{{Status: "202", Contents: []*model.Content{{MediaType: "application/x-www-form-urlencoded", Kind: model.BodyForm}}}},
			Idempotency: &model.Extension{Enabled: false, Reason: "append-only"}},
	}
	withRoutes(ops)
	return named(&model.API{Title: "Hand", Operations: ops,
		Schemas: []*model.Schema{cat, createReq, dog, errSchema, genre, handler, level, node, pet, form, song, value}})
}

// named assigns the Go names of a hand-built model, as Load does.
func named(api *model.API) *model.API {
	loader.AssignGoNames(api)
	return api
}

func generate(t *testing.T, api *model.API) *emit.Result {
	t.Helper()
	res, err := emit.Generate(api, emit.Options{Package: "hand", Models: true, Server: true, Version: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var headerRe = regexp.MustCompile(`^// Code generated .* DO NOT EDIT\.$`)

func TestGenerateHeaderAndDeterminism(t *testing.T) {
	a := generate(t, handAPI())
	b := generate(t, handAPI())
	if len(a.Files) != 4 || a.Files[3].Name != "validate_gen.go" {
		t.Fatalf("got %d files, want models, policies, server, validate (its enums are checked)", len(a.Files))
	}
	for i, f := range a.Files {
		first, _, _ := strings.Cut(string(f.Content), "\n")
		if !headerRe.MatchString(first) || !strings.Contains(first, "idemgen v0.0.0-test") {
			t.Errorf("%s: first line %q is not the generated-code header", f.Name, first)
		}
		if !bytes.Equal(f.Content, b.Files[i].Content) {
			t.Errorf("%s differs between two runs", f.Name)
		}
	}
}

func TestGenerateShapes(t *testing.T) {
	res := generate(t, handAPI())
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Error() != `hand.yaml:3:5: query parameter "filter": style "deepObject" is not decoded; the server reads the parameter's raw value (JSON for objects)` {
		t.Errorf("diagnostics %v, want the deepObject warning", res.Diagnostics)
	}
	src := map[string]string{}
	space := regexp.MustCompile(`[ \t]+`)
	for _, f := range res.Files {
		// gofmt aligns fields; compare with runs of blanks collapsed.
		src[f.Name] = space.ReplaceAllString(string(f.Content), " ")
	}
	for _, tc := range []struct{ file, want string }{
		{"models_gen.go", "Parent *Node `json:\"parent\"`"},                // recursion broken by a pointer
		{"models_gen.go", "Children []Node `json:\"children,omitempty\"`"}, // slices are never pointers
		{"models_gen.go", "Genre *Genre `json:\"genre,omitempty\"`"},       // optional = pointer + omitempty
		{"models_gen.go", "Note *string `json:\"note\"`"},                  // nullable required = pointer
		{"models_gen.go", "GenreN2faCode Genre = \"2fa-code\""},
		{"models_gen.go", "LevelN3 Level = 3"},
		{"models_gen.go", "type HandlerSchema struct"}, // collides with the Handler interface
		{"models_gen.go", "func (u Value) AsCat() (v Cat, err error)"},
		{"models_gen.go", "case \"cat\":"},
		{"models_gen.go", "UUID *time.Duration"},
		{"policies_gen.go", "TTL: 48 * time.Hour"},
		{"policies_gen.go", "Concurrent: idempotency.ConcurrentWait"},
		{"policies_gen.go", "\"log\": \"append-only\""},
		{"server_gen.go", "type CreateSongRequestObject struct"},
		{"server_gen.go", "Body2 *string"},
		{"server_gen.go", "\"GET /files/{_p1}\""},
		{"server_gen.go", "\"POST /pay/{$}\""},
		{"server_gen.go", "type CreateSong4XXApplicationProblemJSONResponse struct"},
	} {
		if !strings.Contains(src[tc.file], tc.want) {
			t.Errorf("%s does not contain %q", tc.file, tc.want)
		}
	}
	if strings.Contains(src["server_gen.go"], "idempotent(\"log\"") {
		t.Error("the waived operation log is wrapped with the idempotency middleware")
	}
	if t.Failed() {
		for _, f := range res.Files {
			t.Logf("%s:\n%s", f.Name, f.Content)
		}
	}
}

// TestGenerateCompiles builds and vets the hand model's output in a temporary
// module, as a user's project would.
func TestGenerateCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles generated code in a temporary module")
	}
	res := generate(t, handAPI())
	m := gentest.NewModule(t)
	m.Add(t, "hand", res.Files)
	// A document with schemas and no operations still gives a valid server.
	empty, err := emit.Generate(named(&model.API{Schemas: handAPI().Schemas}), emit.Options{Package: "empty", Models: true, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Add(t, "empty", empty.Files)
	sparse, err := emit.Generate(sparseAPI(), emit.Options{Package: "sparse", Models: true, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sparse.Diagnostics) != 1 || sparse.Diagnostics[0].Rule != "path-param-missing" || sparse.Diagnostics[0].Severity != model.Warning {
		t.Errorf("sparse model: diagnostics %+v, want one path-param-missing warning", sparse.Diagnostics)
	}
	m.Add(t, "sparse", sparse.Files)
	m.BuildAndVet(t)
}

// sparseAPI is a model with every optional part missing: schemaless params,
// bodies and responses, a union with a nil variant, an odd operation name, a
// path parameter that is not in the path, no responses at all.
func sparseAPI() *model.API {
	u := &model.Schema{Name: "U", GoName: "U", Kind: model.KindUnion, Variants: []*model.Schema{nil, {Kind: model.KindString}},
		Discriminator: &model.Discriminator{Property: "t", Mapping: []model.DiscriminatorCase{{Value: "x", Schema: nil}}}}
	loop := &model.Schema{Kind: model.KindArray}
	loop.Items = loop // an anonymous cycle
	return named(&model.API{
		Schemas: []*model.Schema{u},
		Operations: withRoutes([]*model.Operation{
			{ID: "do-it", GoName: "", Method: "PUT", Path: "things/{a}/{b}",
				Params: []*model.Param{{Name: "a", In: model.InPath, Required: true}, {Name: "c", In: model.InPath, Required: true},
					{Name: "h", In: model.InHeader, Schema: loop}},
				Body: &model.Body{Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON}, {MediaType: "application/x-www-form-urlencoded", Kind: model.BodyForm}}}},
			{ID: "root", GoName: "Root", Method: "GET", Path: "/",
				Responses: []*model.Response{{Status: "default", Contents: []*model.Content{{MediaType: "application/json", Kind: model.BodyJSON, Schema: u}}}}},
		}),
	})
}

// withRoutes parses each operation's path into its Route, as the loader does
// (the sparse model's undeclared variable is kept on purpose).
func withRoutes(ops []*model.Operation) []*model.Operation {
	for _, op := range ops {
		op.Route, _ = loader.Route(op.Path, op.Params)
	}
	return ops
}
