package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateExitCodes: a document that cannot be loaded exits 2 with one
// located line; a loaded spec with errors exits 1. Nothing is written in
// either case.
func TestGenerateExitCodes(t *testing.T) {
	broken := filepath.Join(repoTestdata(), "specs", "broken")
	for _, tc := range []struct {
		spec string
		code int
		want string
	}{
		{filepath.Join(broken, "schema-array.yaml"), 2, `schema-array.yaml:11:15: "not" holds an array`},
		{filepath.Join(broken, "truncated.json"), 2, "truncated.json:1:115: unexpected end of JSON"},
		{filepath.Join(broken, "yaml-syntax.yaml"), 2, "yaml-syntax.yaml:7:11:"},
		{filepath.Join(repoTestdata(), "specs", "invalid", "bad-status.yaml"), 1, `bad-status.yaml:7:9: response key "20\n1" is not a status code`},
	} {
		t.Run(filepath.Base(tc.spec), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), []string{"generate", "--spec", tc.spec, "--out", out, "--package", "api"}, nil, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
			if n := strings.Count(stderr.String(), "\n"); n > 20 {
				t.Errorf("stderr has %d lines, want at most 20", n)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was written", out)
			}
		})
	}
}
