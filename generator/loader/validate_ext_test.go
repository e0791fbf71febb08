package loader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

// TestValidateExtension: x-idemgen-validate: false sets NoValidate on its
// operation only; a value that is not a boolean is a located error.
func TestValidateExtension(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spec.yaml")
	spec := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    post:
      operationId: a
      x-idemgen-validate: false
      responses: {"204": {description: ok}}
  /b:
    post:
      operationId: b
      responses: {"204": {description: ok}}
  /c:
    post:
      operationId: c
      x-idemgen-validate: "no"
      responses: {"204": {description: ok}}
`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	api := load(t, path)
	if !findOp(t, api, "a").NoValidate || findOp(t, api, "b").NoValidate || findOp(t, api, "c").NoValidate {
		t.Error("NoValidate is set on the wrong operations")
	}
	var found bool
	for _, d := range api.Diagnostics {
		if d.Severity == model.Error && strings.Contains(d.Message, "x-idemgen-validate must be true or false, not no") {
			found = true
			if d.Pos.Line != 16 {
				t.Errorf("error at line %d, want 16: %s", d.Pos.Line, d.Error())
			}
		}
	}
	if !found {
		t.Errorf("no error for a string value: %v", api.Diagnostics)
	}
}
