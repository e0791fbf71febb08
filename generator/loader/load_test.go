package loader

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

func load(t *testing.T, path string) *model.API {
	t.Helper()
	api, err := Load(context.Background(), path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return api
}

func findOp(t *testing.T, api *model.API, id string) *model.Operation {
	t.Helper()
	for _, op := range api.Operations {
		if op.ID == id {
			return op
		}
	}
	t.Fatalf("no operation %q", id)
	return nil
}

func findSchema(t *testing.T, api *model.API, goName string) *model.Schema {
	t.Helper()
	for _, s := range api.Schemas {
		if s.GoName == goName {
			return s
		}
	}
	t.Fatalf("no schema %q", goName)
	return nil
}

func TestLoadSongs(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "specs", "songs", "openapi.yaml")
	api := load(t, root)
	for _, d := range api.Diagnostics {
		t.Errorf("unexpected diagnostic: %s [%s]", d.Error(), d.Rule)
	}
	var got []string
	for _, op := range api.Operations {
		got = append(got, op.Method+" "+op.Path+" "+op.ID+" "+op.GoName)
	}
	want := []string{
		"GET /songs listSongs ListSongs",
		"POST /songs createSong CreateSong",
		"POST /songs/{id}/plays recordPlay RecordPlay",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("operations:\n got %q\nwant %q", got, want)
	}

	create := findOp(t, api, "createSong")
	if create.Pos != (model.Pos{File: root, Line: 28, Col: 5}) {
		t.Errorf("createSong pos = %v", create.Pos)
	}
	if !create.Secured || !create.Idempotent() {
		t.Errorf("createSong: secured %v idempotent %v", create.Secured, create.Idempotent())
	}
	p := create.Idempotency.Policy
	if p.Operation != "createSong" || p.Key.Header != "Idempotency-Key" || p.Key.Format != idempotency.FormatUUID ||
		p.TTL != 24*time.Hour || p.Lease != 30*time.Second || !slices.Equal(p.Scope, []string{"principal"}) ||
		!slices.Equal(p.Fingerprint, []string{"method", "path", "/title", "/artist"}) || !slices.Equal(p.Cache, []string{"2xx", "409"}) {
		t.Errorf("createSong policy = %+v", p)
	}
	ext := create.Idempotency
	if !ext.Inherited["ttl"] || ext.Inherited["key.header"] || !ext.Set["key.format"] || ext.Set["concurrent"] {
		t.Errorf("createSong set %v inherited %v", ext.Set, ext.Inherited)
	}
	if got := ext.FieldPos("ttl"); got != (model.Pos{File: root, Line: 7, Col: 3}) {
		t.Errorf("inherited ttl pos = %v, want the defaults' line 7", got)
	}
	if got := ext.FieldPos("fingerprint[2]"); got != (model.Pos{File: root, Line: 35, Col: 37}) {
		t.Errorf("fingerprint[2] pos = %v", got)
	}
	if len(create.Params) != 1 || create.Params[0].Name != "Idempotency-Key" || !create.Params[0].Required ||
		create.Params[0].Style != "simple" || create.Params[0].GoName != "IdempotencyKey" {
		t.Errorf("createSong params = %+v", create.Params)
	}
	if create.Body == nil || len(create.Body.Contents) != 1 || create.Body.Contents[0].Kind != model.BodyJSON {
		t.Fatalf("createSong body = %+v", create.Body)
	}
	req := create.Body.Contents[0].Schema
	if req.GoName != "CreateSongRequest" || req.Kind != model.KindObject {
		t.Errorf("request schema = %s %s", req.GoName, req.Kind)
	}
	var props []string
	for _, pr := range req.Properties {
		props = append(props, pr.Name)
	}
	if !slices.Equal(props, []string{"title", "artist", "genre"}) || !req.Properties[0].Required || req.Properties[1].Required {
		t.Errorf("request properties %v (document order, title required)", props)
	}
	genre := req.Properties[2].Schema
	if genre.GoName != "CreateSongRequestGenre" || genre.Kind != model.KindString || len(genre.Enum) != 3 {
		t.Errorf("genre = %+v", genre)
	}
	var statuses []string
	for _, r := range create.Responses {
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(statuses, []string{"201", "default"}) {
		t.Errorf("statuses = %v", statuses)
	}
	if h := create.Responses[0].Headers; len(h) != 1 || h[0].Name != "Idempotent-Replayed" || h[0].In != model.InHeader {
		t.Errorf("201 headers = %+v", h)
	}
	song := findSchema(t, api, "Song")
	if create.Responses[0].Contents[0].Schema != song {
		t.Errorf("201 schema is not the Song component")
	}
	if song.Properties[2].Name != "artist" || !song.Properties[2].Schema.Nullable || song.Properties[3].GoName != "CreatedAt" {
		t.Errorf("song properties %+v", song.Properties)
	}

	// The path item lives in plays.yaml, its body schema in schemas.yaml.
	play := findOp(t, api, "recordPlay")
	plays := filepath.Join("..", "..", "testdata", "specs", "songs", "plays.yaml")
	if play.Pos != (model.Pos{File: plays, Line: 6, Col: 1}) {
		t.Errorf("recordPlay pos = %v", play.Pos)
	}
	if got := play.Idempotency.FieldPos("key.derive[1]"); got != (model.Pos{File: plays, Line: 10, Col: 25}) {
		t.Errorf("derive[1] pos = %v", got)
	}
	if len(play.Params) != 1 || play.Params[0].In != model.InPath || !play.Params[0].Required {
		t.Errorf("recordPlay params = %+v", play.Params)
	}
	ps := play.Body.Contents[0].Schema
	if ps.GoName != "Play" || ps.Pos != (model.Pos{File: filepath.Join("..", "..", "testdata", "specs", "songs", "schemas.yaml"), Line: 1, Col: 1}) {
		t.Errorf("play schema %s at %v", ps.GoName, ps.Pos)
	}
	if !slices.Equal(play.Idempotency.Policy.Key.Derive, []string{"path:id", "/played_at"}) || play.Idempotency.Policy.TTL != time.Hour {
		t.Errorf("recordPlay policy %+v", play.Idempotency.Policy)
	}
	if list := findOp(t, api, "listSongs"); list.Idempotency != nil || list.Params[0].Explode != true || list.Params[0].Style != "form" {
		t.Errorf("listSongs: %+v", list)
	}
}

// TestLoadConcurrent loads specs from many goroutines at once (run with -race):
// Load keeps no global state, so concurrent loads are independent.
func TestLoadConcurrent(t *testing.T) {
	specs := []string{
		filepath.Join("..", "..", "testdata", "specs", "songs", "openapi.yaml"),
		filepath.Join("..", "..", "testdata", "specs", "schemas", "openapi.yaml"),
		filepath.Join("..", "..", "testdata", "specs", "jsonref", "openapi.json"),
	}
	want := make([]int, len(specs))
	for i, s := range specs {
		want[i] = len(load(t, s).Schemas)
	}
	const goroutines = 24
	errs := make(chan error, goroutines)
	for g := range goroutines {
		go func() {
			i := g % len(specs)
			api, err := Load(context.Background(), specs[i])
			if err == nil && len(api.Schemas) != want[i] {
				err = fmt.Errorf("%s: %d schemas, want %d", specs[i], len(api.Schemas), want[i])
			}
			errs <- err
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
