package gentest_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden with the current output")

// goldenVersion is the version in golden headers, fixed so that a release does
// not change every golden file.
const goldenVersion = "v0.0.0-golden"

// TestGolden generates every case of testdata/golden and compares the output
// byte for byte; -update rewrites the expected files. A case is a directory
// holding openapi.yaml and either
//
//   - the expected *_gen.go files (package: the directory name without
//     dashes) of the parts its options file names as idemgen generate's flags
//     ("--models --server --client"; models and server without the file), or
//   - a stderr file: the spec must be rejected, and stderr holds what
//     idemgen generate prints (every diagnostic, "file:line:col: message").
//
// The outputs of all passing cases are then built and vetted in one temporary
// module.
func TestGolden(t *testing.T) {
	root := filepath.Join(gentest.RepoRoot(), "testdata", "golden")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	m := gentest.NewModule(t)
	cases := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		cases++
		name := e.Name()
		dir := filepath.Join(root, name)
		if _, err := os.Stat(filepath.Join(dir, "stderr")); err == nil {
			goldenFailure(t, dir)
			continue
		}
		opts, err := caseOptions(dir)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		api, err := loader.Load(context.Background(), filepath.Join(dir, "openapi.yaml"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, d := range api.Diagnostics {
			if d.Severity == model.Error {
				t.Errorf("%s: spec error: %s", name, d.Error())
			}
		}
		res, err := emit.Generate(api, opts)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := make(map[string]bool)
		for _, f := range res.Files {
			want[f.Name] = true
			checkGolden(t, filepath.Join(dir, f.Name), f.Content)
		}
		// A golden file the generator no longer writes is stale.
		files, _ := filepath.Glob(filepath.Join(dir, "*_gen.go"))
		for _, f := range files {
			if !want[filepath.Base(f)] {
				if *update {
					os.Remove(f)
				} else {
					t.Errorf("%s: stale golden file %s", name, filepath.Base(f))
				}
			}
		}
		m.Add(t, "golden/"+name, res.Files)
	}
	if cases == 0 {
		t.Fatal("no golden cases")
	}
	if t.Failed() {
		return
	}
	if testing.Short() {
		t.Skip("-short: compared the golden files, skipping the compile")
	}
	// The handler example of docs/generate.md is built against the songs case.
	m.Add(t, "cmd/docexample", []emit.File{{Name: "main.go", Content: docExample(t, m.Path+"/golden/songs")}})
	m.BuildAndVet(t)
}

// caseOptions reads a case's options file: generate's part flags.
func caseOptions(dir string) (emit.Options, error) {
	opts := emit.Options{Package: strings.ReplaceAll(filepath.Base(dir), "-", ""), Version: goldenVersion}
	data, err := os.ReadFile(filepath.Join(dir, "options"))
	if os.IsNotExist(err) {
		opts.Models, opts.Server = true, true
		return opts, nil
	}
	if err != nil {
		return opts, err
	}
	for _, f := range strings.Fields(string(data)) {
		switch f {
		case "--models":
			opts.Models = true
		case "--server":
			opts.Server = true
		case "--client":
			opts.Client = true
		default:
			return opts, fmt.Errorf("options: unknown flag %q (want --models, --server, --client)", f)
		}
	}
	return opts, nil
}

// goldenFailure checks a failing case: the loader must reject the spec (an
// error diagnostic, or no document at all), and what generate prints must be
// the case's stderr file, with paths relative to the case directory.
func goldenFailure(t *testing.T, dir string) {
	t.Helper()
	var out strings.Builder
	api, err := loader.Load(context.Background(), filepath.Join(dir, "openapi.yaml"))
	rejected := err != nil
	if err != nil {
		fmt.Fprintln(&out, err)
	} else {
		for _, d := range api.Diagnostics {
			if d.Severity == model.Error {
				rejected = true
				fmt.Fprintf(&out, "%s: %s\n", d.Pos, d.Message)
			} else {
				fmt.Fprintf(&out, "%s: %s: %s\n", d.Pos, d.Severity, d.Message)
			}
		}
	}
	if !rejected {
		t.Errorf("%s: the spec was accepted, want it rejected (the case has a stderr file)", filepath.Base(dir))
	}
	got := strings.ReplaceAll(out.String(), dir+string(filepath.Separator), "")
	checkGolden(t, filepath.Join(dir, "stderr"), []byte(got))
	if files, _ := filepath.Glob(filepath.Join(dir, "*_gen.go")); len(files) > 0 {
		t.Errorf("%s: a failing case has generated files %v", filepath.Base(dir), files)
	}
}

// checkGolden compares got with the golden file path (or rewrites it with
// -update).
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v (run go test -run TestGolden -update)", err)
		return
	}
	if !bytes.Equal(golden, got) {
		rel, _ := filepath.Rel(filepath.Join(gentest.RepoRoot(), "testdata", "golden"), path)
		t.Errorf("%s differs from the golden file (run go test -run TestGolden -update and review the diff):\n%s", rel, firstDiff(golden, got))
	}
}

// docExample returns the Go program of docs/generate.md's "Implementing the
// handler" section, importing the generated package from pkgPath.
func docExample(t *testing.T, pkgPath string) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(gentest.RepoRoot(), "docs", "generate.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## Implementing the handler")
	if !ok {
		t.Fatal("docs/generate.md has no \"Implementing the handler\" section")
	}
	_, code, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal("docs/generate.md: no Go code block in \"Implementing the handler\"")
	}
	code, _, _ = strings.Cut(code, "```")
	const docImport = `"example.com/songs/internal/api"`
	if !strings.Contains(code, docImport) {
		t.Fatalf("the docs example does not import %s", docImport)
	}
	return []byte(strings.Replace(code, docImport, "api "+strconv.Quote(pkgPath), 1))
}

// firstDiff shows the first differing line of two files with its neighbours.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "(same lines, different bytes)"
}
