package otelidem_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreFreeOfOTel: the packages generated code depends on, and the
// gateway, never import OpenTelemetry; only this package (and otelenv) do.
func TestCoreFreeOfOTel(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH:", err)
	}
	core := []string{
		"github.com/idemgen/idemgen/runtime/idempotency",
		"github.com/idemgen/idemgen/runtime/client",
		"github.com/idemgen/idemgen/runtime/serverkit",
		"github.com/idemgen/idemgen/runtime/validate",
		"github.com/idemgen/idemgen/runtime/issuedkey",
		"github.com/idemgen/idemgen/runtime/gateway", // the proxy's OTel is wired in cmd/idemgen
		"github.com/idemgen/idemgen/runtime/store/...",
	}
	out, err := exec.Command(gobin, append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, core...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "go.opentelemetry.io/") {
			t.Errorf("a core runtime package depends on %s", p)
		}
	}
}
