package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/idemgen/idemgen/templates"
)

// idemgenModule is the module path that scaffolded projects require.
const idemgenModule = "github.com/idemgen/idemgen"

// initOptions are the flags of "idemgen init".
type initOptions struct {
	module  string
	pkg     string
	title   string
	force   bool
	noTidy  bool
	replace string
	store   string
}

// goDirective is the go directive of idemgen's own go.mod, which every module
// that requires idemgen inherits; TestGoDirectiveMatchesGoMod keeps it true.
const goDirective = "1.26.8"

// initStore is what main.go needs for one store backend of --store.
type initStore struct {
	pkg, url, forms string
}

var initStores = map[string]initStore{
	"sqlite": {"github.com/idemgen/idemgen/runtime/store/sqlitestore", "sqlite:data/idempotency.db",
		"sqlite:relative/path.db or sqlite:///absolute/path.db (embedded), memory://"},
	"memory": {"", "memory://", "memory:// (in process, forgotten on restart)"},
	"redis": {"github.com/idemgen/idemgen/runtime/store/redisstore", "redis://127.0.0.1:6379/0",
		"redis://host:6379/0, rediss://..., redis+cluster://host:port?addr=host2:port2, redis+sentinel://host:26379/0?master_name=NAME, memory://"},
	"postgres": {"github.com/idemgen/idemgen/runtime/store/pgstore", "postgres://postgres@127.0.0.1:5432/postgres",
		"postgres://user@host:5432/db?table=idempotency_records, memory://"},
}

func newInitCmd(e *env) *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use: "init [DIR]",
		Example: `  # scaffold a service, then generate and run it
  idemgen init songs --module example.com/songs
  cd songs && go generate ./... && go run .`,
		Short: "Scaffold a Go service from an x-idempotent OpenAPI spec",
		Long: `init writes a new Go module in DIR (default: the current directory):

  openapi.yaml  a small API whose POST is idempotent, with the x-idempotent
                options shown as comments
  gen.go        the //go:generate line (go tool idemgen generate ...)
  main.go       a server implementing the generated handler interface, with a
                -store flag taking a store URL; it links the one store driver
                that --store names (default sqlite: an embedded SQLite file)
  main_test.go  a test that drives the server with the generated client
  go.mod        requiring idemgen as a tool and runtime dependency

It then runs "go mod tidy -e" in DIR so that go.sum is complete (skip with
--no-tidy), and checks that the module resolves github.com/idemgen/idemgen and
builds "go tool idemgen"; if not, it exits non-zero and says how to fix it
(--replace with a clone of idemgen, or a version that exists).
Afterwards "go generate ./... && go run ." in DIR serves the API.
Existing files are never overwritten unless --force is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runInit(cmd.Context(), e, dir, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.module, "module", "", `module path of the new project (default "example.com/" + the directory's name)`)
	f.StringVar(&o.pkg, "package", "api", "package name (and directory) of the generated code")
	f.StringVar(&o.title, "title", "", `the API's title in openapi.yaml (default: from the directory's name)`)
	f.BoolVar(&o.force, "force", false, "overwrite files that already exist")
	f.BoolVar(&o.noTidy, "no-tidy", false, `do not run "go mod tidy" (go.sum is then left for you to complete)`)
	f.StringVar(&o.replace, "replace", "", "use the idemgen checkout in this directory instead of a published version (a go.mod replace)")
	f.StringVar(&o.store, "store", "sqlite", "the store backend main.go links: sqlite, memory, redis or postgres")
	return cmd
}

// scaffold is one rendered file of a new project.
type scaffold struct {
	name string // slash-separated path inside the project
	data []byte
}

func runInit(ctx context.Context, e *env, dir string, o initOptions) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return exitCode(1, fmt.Errorf("init: %w", err))
	}
	data, err := initData(abs, o)
	if err != nil {
		return exitCode(2, err)
	}
	files, err := renderInit(data)
	if err != nil {
		return exitCode(1, err)
	}
	if !o.force {
		var existing []string
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(abs, filepath.FromSlash(f.name))); err == nil {
				existing = append(existing, f.name)
			}
		}
		if len(existing) > 0 {
			return exitCode(1, fmt.Errorf("init: %s already holds %s; use --force to overwrite",
				dir, strings.Join(existing, ", ")))
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return exitCode(1, fmt.Errorf("init: %w", err))
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(abs, filepath.FromSlash(f.name)), f.data, 0o644); err != nil {
			return exitCode(1, fmt.Errorf("init: %w", err))
		}
		fmt.Fprintf(e.stdout, "created %s\n", filepath.Join(dir, filepath.FromSlash(f.name)))
	}

	// go.sum must list every module that "go tool idemgen" and the server
	// build need. "go mod tidy" computes exactly that from the tool directive
	// and main.go's imports; -e lets it finish although the generated package
	// that main.go imports does not exist until "go generate" runs.
	tidy := []string{"mod", "tidy", "-e"}
	if o.noTidy {
		fmt.Fprintf(e.stdout, "skipped: go %s\n", strings.Join(tidy, " "))
	} else {
		fmt.Fprintf(e.stdout, "running: go %s\n", strings.Join(tidy, " "))
		c := exec.CommandContext(ctx, "go", tidy...)
		c.Dir = abs
		// -e also reports the missing generated package and test-only
		// dependencies it could not fetch: show them only on failure.
		var out bytes.Buffer
		c.Stdout = &out
		c.Stderr = &out
		if err := c.Run(); err != nil {
			e.stderr.Write(out.Bytes())
			return exitCode(1, fmt.Errorf("init: go mod tidy in %q: %w (the files are written; fix the error and run it again)", dir, err))
		}
		if err := checkToolBuilds(ctx, e, abs, dir, o, data.Module+"/"+data.Package, out.String()); err != nil {
			return exitCode(1, err)
		}
	}
	fmt.Fprintf(e.stdout, "\nnext:\n")
	if dir != "." {
		fmt.Fprintf(e.stdout, "  cd %s\n", dir)
	}
	if o.noTidy {
		fmt.Fprintf(e.stdout, "  go %s\n", strings.Join(tidy, " "))
	}
	fmt.Fprintf(e.stdout, "  go generate ./...   # writes ./%s from openapi.yaml\n", data.Package)
	fmt.Fprintf(e.stdout, "  go run .            # serves it on %s\n", "127.0.0.1:8080")
	return nil
}

// checkToolBuilds checks that the module in abs still requires idemgen after
// "go mod tidy -e" (which drops a requirement it cannot fetch, and says so only
// among the errors -e tolerates) and that "go tool idemgen" builds, so that
// init never exits 0 with a module whose next step, go generate, must fail.
func checkToolBuilds(ctx context.Context, e *env, abs, dir string, o initOptions, genPkg, tidyOut string) error {
	fix := fmt.Sprintf("fix: point the module at a clone of idemgen: idemgen init --force --replace PATH_TO_CLONE %s\n"+
		"  or require a published version: cd %s && go get %s@VERSION && go mod tidy", dir, dir, idemgenModule)
	if o.replace != "" {
		fix = "fix: check that --replace " + o.replace + " is a clone of idemgen that builds"
	}
	fmt.Fprintf(e.stdout, "running: go build %s/cmd/idemgen (the go tool of the new module)\n", idemgenModule)
	c := exec.CommandContext(ctx, "go", "list", "-m", idemgenModule)
	c.Dir = abs
	if out, err := c.CombinedOutput(); err != nil {
		var why []string
		for _, l := range strings.Split(tidyOut, "\n") {
			if (strings.Contains(l, idemgenModule+"@") || strings.Contains(l, idemgenModule+" ")) && !strings.HasPrefix(l, "go: downloading") {
				why = append(why, "  "+strings.TrimSpace(l))
			}
		}
		if len(why) == 0 {
			why = append(why, "  "+strings.TrimSpace(string(out)))
		}
		return fmt.Errorf("init: go mod tidy dropped the requirement on %s %s: it could not be fetched:\n%s\n%s",
			idemgenModule, Version, strings.Join(why, "\n"), fix)
	}
	c = exec.CommandContext(ctx, "go", "build", "-o", os.DevNull, idemgenModule+"/cmd/idemgen")
	c.Dir = abs
	if out, err := c.CombinedOutput(); err != nil {
		msg := strings.TrimSpace(string(out))
		if why := tidyErrors(tidyOut, genPkg); why != "" {
			// The build's own complaint ("updates to go.mod needed") does
			// not say why: tidy's errors do, e.g. a module it could not
			// fetch with GOPROXY=off.
			msg += "\ngo mod tidy -e reported:\n" + why
			if strings.Contains(why, "GOPROXY=off") {
				fix = "fix: go mod tidy could not fetch modules the tool needs: run it again with a module proxy (GOPROXY unset), or fill the module cache first (go mod download in an idemgen clone)"
			}
		}
		return fmt.Errorf("init: the new module cannot build go tool idemgen: %w\n%s\n%s", err, msg, fix)
	}
	return nil
}

// tidyErrors returns the errors in the output of "go mod tidy -e" other than
// the expected one, that the generated package genPkg does not exist yet,
// one per line and indented, at most maxTidyErrors of them; "" when there
// are none.
func tidyErrors(out, genPkg string) string {
	var b strings.Builder
	n, seen := 0, map[string]bool{}
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "go: downloading") || strings.HasPrefix(l, "go: finding module for package") {
			continue
		}
		// "go: M imports" / "go: M@v requires" are followed by indented lines
		// that finish the message: keep the group together.
		group := []string{strings.TrimSpace(l)}
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			i++
			group = append(group, strings.TrimSpace(lines[i]))
		}
		msg := strings.Join(group, " ")
		if strings.Contains(msg, "providing package "+genPkg) || seen[msg] {
			continue
		}
		seen[msg] = true
		if n++; n <= maxTidyErrors {
			b.WriteString("  " + msg + "\n")
		}
	}
	if n > maxTidyErrors {
		fmt.Fprintf(&b, "  (and %d more)\n", n-maxTidyErrors)
	}
	return strings.TrimRight(b.String(), "\n")
}

// maxTidyErrors bounds what init quotes of tidy's errors: with a missing
// module cache there can be dozens, and the first few say what is wrong.
const maxTidyErrors = 3

// initData checks the options and fills in their defaults for the project in
// the absolute directory dir.
func initData(dir string, o initOptions) (templates.InitData, error) {
	base := filepath.Base(dir)
	d := templates.InitData{
		Module:         o.module,
		Package:        o.pkg,
		Title:          o.title,
		GoVersion:      goDirective,
		IdemgenVersion: Version,
	}
	st, ok := initStores[o.store]
	if !ok {
		return d, fmt.Errorf("init: --store: want sqlite, memory, redis or postgres, got %q", o.store)
	}
	d.Store, d.StoreImport, d.StoreURL, d.StoreForms = o.store, st.pkg, st.url, st.forms
	if d.Module == "" {
		d.Module = "example.com/" + strings.ToLower(base)
	}
	if !validModulePath(d.Module) {
		return d, fmt.Errorf("init: --module: want a module path like \"example.com/notes\", got %q", d.Module)
	}
	d.Name = path.Base(d.Module)
	if !token.IsIdentifier(d.Package) || token.IsKeyword(d.Package) || d.Package == "main" ||
		strings.ToLower(d.Package) != d.Package {
		return d, fmt.Errorf("init: --package: want a lower-case Go package name like \"api\", got %q", d.Package)
	}
	if d.Title == "" {
		d.Title = titleFrom(d.Name) + " API"
	}
	if o.replace != "" {
		r, err := filepath.Abs(o.replace)
		if err != nil {
			return d, fmt.Errorf("init: --replace: %w", err)
		}
		if _, err := os.Stat(filepath.Join(r, "go.mod")); err != nil {
			return d, fmt.Errorf("init: --replace: want a directory holding idemgen's go.mod, got %q", o.replace)
		}
		d.Replace = filepath.ToSlash(r)
	}
	return d, nil
}

// validModulePath reports whether p is a plausible module path: slash-separated
// non-empty elements of ASCII letters, digits and "-._~", not starting with a dot.
func validModulePath(p string) bool {
	for _, elem := range strings.Split(p, "/") {
		if elem == "" || elem[0] == '.' {
			return false
		}
		for _, r := range elem {
			if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-._~", r))) {
				return false
			}
		}
	}
	return true
}

// titleFrom turns a name like "song-store" into "Song Store".
func titleFrom(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	if len(words) == 0 {
		return "My"
	}
	return strings.Join(words, " ")
}

// renderInit renders every init template with d, in name order.
func renderInit(d templates.InitData) ([]scaffold, error) {
	tfs := templates.Init()
	names, err := fs.Glob(tfs, "*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("init: no templates embedded")
	}
	slices.Sort(names)
	var out []scaffold
	for _, n := range names {
		src, err := fs.ReadFile(tfs, n)
		if err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
		t, err := template.New(n).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("init: template %s: %w", n, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return nil, fmt.Errorf("init: template %s: %w", n, err)
		}
		out = append(out, scaffold{name: strings.TrimSuffix(n, ".tmpl"), data: b.Bytes()})
	}
	return out, nil
}
