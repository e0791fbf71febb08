package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestGenerateAndLintAgree: generate and lint report the same findings (the
// same position, severity, rule and message) for a principal scope on an
// operation without security and for an unknown security scheme: one rule,
// derived once in the loader, read by both commands.
func TestGenerateAndLintAgree(t *testing.T) {
	agree(t, filepath.Join(repoTestdata(), "specs", "security", "principal-unsecured.yaml"), 2)
}

// TestGenerateAndLintAgreeOnReceivers: a webhook does not inherit the root
// security (its principal scope is an error in both commands), a callback
// with its own security does (no finding), and the operation under the root
// requirement neither.
func TestGenerateAndLintAgreeOnReceivers(t *testing.T) {
	agree(t, filepath.Join(repoTestdata(), "specs", "security", "principal-webhook.yaml"), 1)
}

// agree runs generate and lint on spec and wants the same want findings.
func agree(t *testing.T, spec string, want int) {
	t.Helper()
	var gout, gerr bytes.Buffer
	if code := Run(context.Background(), []string{"generate", "--spec", spec, "--out", t.TempDir(), "--package", "api"}, nil, &gout, &gerr); code != 1 {
		t.Fatalf("generate exit %d, want 1; stderr:\n%s", code, gerr.String())
	}
	var lout, lerr bytes.Buffer
	if code := Run(context.Background(), []string{"lint", "--format", "text", spec}, nil, &lout, &lerr); code != 1 {
		t.Fatalf("lint exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, lout.String(), lerr.String())
	}
	// generate: "file:line:col: message" for errors; lint: "file:line:col: error rule: message".
	genLine := regexp.MustCompile(`(?m)^(\S+:\d+:\d+): (x-idempotent\.scope.*|security requirement.*)$`)
	lintLine := regexp.MustCompile(`(?m)^(\S+:\d+:\d+): error (scope-principal-unsecured|security-invalid): (.*)$`)
	var gen, lint []string
	for _, m := range genLine.FindAllStringSubmatch(gerr.String(), -1) {
		gen = append(gen, m[1]+": "+m[2])
	}
	for _, m := range lintLine.FindAllStringSubmatch(lout.String(), -1) {
		lint = append(lint, m[1]+": "+m[3])
	}
	slices.Sort(gen)
	slices.Sort(lint)
	if len(gen) != want || !slices.Equal(gen, lint) {
		t.Fatalf("generate and lint disagree:\ngenerate: %q\nlint:     %q\n(generate stderr:\n%s\nlint stdout:\n%s)", gen, lint, gerr.String(), lout.String())
	}
}
