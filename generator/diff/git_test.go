package diff

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func run(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestResolveGitRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	run(t, repo, "init", "-q")
	os.MkdirAll(filepath.Join(repo, "api", "schemas"), 0o755)
	os.WriteFile(filepath.Join(repo, "api", "openapi.yaml"), []byte("v1\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "api", "schemas", "pet.yaml"), []byte("pet\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "other.txt"), []byte("x\n"), 0o644)
	run(t, repo, "add", ".")
	run(t, repo, "commit", "-qm", "one")
	os.WriteFile(filepath.Join(repo, "api", "openapi.yaml"), []byte("v2\n"), 0o644)

	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(filepath.Join(repo, "api")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tmp := t.TempDir()
	evalRepo, _ := filepath.EvalSymlinks(repo)
	for _, arg := range []string{"HEAD:api/openapi.yaml", "HEAD:./openapi.yaml"} {
		src, err := Resolve(ctx, arg, tmp)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", arg, err)
		}
		if data, _ := os.ReadFile(src.File); string(data) != "v1\n" {
			t.Errorf("Resolve(%q): content %q, want the committed v1", arg, data)
		}
		// Files beside and below the spec come along, so relative $refs resolve.
		if data, _ := os.ReadFile(filepath.Join(filepath.Dir(src.File), "schemas", "pet.yaml")); string(data) != "pet\n" {
			t.Errorf("Resolve(%q): $ref'd file missing", arg)
		}
		if got := src.Display(src.File); got != "HEAD:api/openapi.yaml" {
			t.Errorf("Display = %q", got)
		}
		if got, _ := filepath.EvalSymlinks(src.WorkFile(src.File)); got != filepath.Join(evalRepo, "api", "openapi.yaml") {
			t.Errorf("WorkFile = %q", got)
		}
	}
	// A plain file is used as it is.
	src, err := Resolve(ctx, "openapi.yaml", tmp)
	if err != nil || src.File != "openapi.yaml" || src.Display("openapi.yaml") != "openapi.yaml" {
		t.Fatalf("Resolve(file) = %+v, %v", src, err)
	}
	for _, bad := range []string{"nope.yaml", "HEAD:api/missing.yaml", "no-such-rev:api/openapi.yaml", "HEAD:../../x"} {
		if _, err := Resolve(ctx, bad, tmp); err == nil {
			t.Errorf("Resolve(%q) = nil error", bad)
		}
	}
}
