package loader

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .diag files under testdata/specs")

// TestDiagnosticsGolden loads every spec under testdata/specs/invalid and
// compares its diagnostics, one "file:line:col: severity rule: message" line
// each, with the .diag file beside it. Run with -update to rewrite them.
func TestDiagnosticsGolden(t *testing.T) {
	specs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "specs", "invalid", "*.yaml"))
	if err != nil || len(specs) == 0 {
		t.Fatalf("no specs: %v", err)
	}
	for _, spec := range specs {
		t.Run(filepath.Base(spec), func(t *testing.T) {
			api := load(t, spec)
			var b strings.Builder
			dir := filepath.Dir(spec) + string(filepath.Separator)
			for _, d := range api.Diagnostics {
				fmt.Fprintf(&b, "%s: %s %s: %s\n", strings.TrimPrefix(d.Pos.String(), dir), d.Severity, d.Rule, d.Message)
			}
			golden := strings.TrimSuffix(spec, ".yaml") + ".diag"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("diagnostics of %s:\n--- got\n%s--- want\n%s", spec, got, want)
			}
		})
	}
}
