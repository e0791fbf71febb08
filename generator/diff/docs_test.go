package diff

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/idemgen/idemgen/generator/lint"
)

// TestDocsListEveryRule checks that docs/lint.md has a section for every lint
// and diff rule, giving its default severity (SARIF help links point at it).
func TestDocsListEveryRule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "lint.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(lint.Rules(), Rules()...) {
		re := regexp.MustCompile(`(?m)^#{3,4} ` + regexp.QuoteMeta(r.ID) + `\n\n\*\*` + string(r.Default) + `\*\* · `)
		if !re.Match(data) {
			t.Errorf("docs/lint.md has no section for rule %s with default severity %s", r.ID, r.Default)
		}
	}
}
