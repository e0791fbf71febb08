package loader

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFormEncoding: a multipart encoding object's contentType becomes the
// part's allowed types, a urlencoded one's unexploded arrays their delimiter.
func TestFormEncoding(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "openapi.yaml")
	const doc = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /up:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                a: {type: array, items: {type: string}}
                b: {type: array, items: {type: string}}
                c: {type: array, items: {type: string}}
                d: {type: array, items: {type: string}}
            encoding:
              a: {explode: false}
              b: {style: spaceDelimited, explode: false}
              c: {style: pipeDelimited, explode: false}
              d: {explode: true}
          multipart/form-data:
            schema:
              type: object
              properties:
                img: {type: string, format: binary}
                meta: {type: object}
            encoding:
              img: {contentType: 'image/png , image/*'}
              meta: {contentType: application/json}
      responses:
        "204": {description: ok}
`
	if err := os.WriteFile(spec, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	op := findOp(t, load(t, spec), "postUp")
	form, mp := op.Body.Contents[0], op.Body.Contents[1]
	if want := map[string]string{"a": ",", "b": " ", "c": "|"}; !maps.Equal(form.Delimiters, want) || form.PartTypes != nil {
		t.Errorf("urlencoded delimiters %q, part types %q", form.Delimiters, form.PartTypes)
	}
	if !slices.Equal(mp.PartTypes["img"], []string{"image/png", "image/*"}) || !slices.Equal(mp.PartTypes["meta"], []string{"application/json"}) || mp.Delimiters != nil {
		t.Errorf("multipart part types %q, delimiters %q", mp.PartTypes, mp.Delimiters)
	}
}
