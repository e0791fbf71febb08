package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/idemgen/idemgen/bench/report"
	"github.com/idemgen/idemgen/bench/toolcmp"
)

// Pinned peer tools.
const (
	oapiCodegenModule  = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	oapiCodegenVersion = "v2.8.2"
	spectralPackage    = "@stoplight/spectral-cli@6.16.3"
	redoclyPackage     = "@redocly/cli@2.77.0"
)

// toolsDir keeps the pinned installs between runs (they are keyed by version).
func toolsDir() string { return filepath.Join(os.TempDir(), "idemgen-bench-tools") }

// runTools builds idemgen, installs the peers and runs the generator and lint comparisons.
func runTools(ctx context.Context, repo, corpus, tmp string, repeats int, gen, lint bool, doc *report.Doc) error {
	repo, err := filepath.Abs(repo)
	if err != nil {
		return err
	}
	idemgen := filepath.Join(tmp, "bin", "idemgen")
	if r := toolcmp.Exec(ctx, toolcmp.Cmd{Dir: repo, Path: "go", Args: []string{"build", "-o", idemgen, "./cmd/idemgen"}}); r.Err != nil || r.ExitCode != 0 {
		return fmt.Errorf("build idemgen: %v %s", r.Err, toolcmp.FirstLines(r.Stderr, 5))
	}
	specs, err := toolcmp.Corpus(corpus)
	if err != nil {
		return err
	}
	if gen {
		if err := runGen(ctx, repo, idemgen, specs, tmp, repeats, doc); err != nil {
			return err
		}
	}
	if lint {
		runLint(ctx, idemgen, specs, tmp, repeats, doc)
	}
	return nil
}

func installOapiCodegen(ctx context.Context) (string, error) {
	gobin := filepath.Join(toolsDir(), "oapi-codegen-"+oapiCodegenVersion)
	bin := filepath.Join(gobin, "oapi-codegen")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	r := toolcmp.Exec(ctx, toolcmp.Cmd{Dir: os.TempDir(), Env: []string{"GOBIN=" + gobin, "GOWORK=off", "GOFLAGS="}, Path: "go",
		Args: []string{"install", oapiCodegenModule + "@" + oapiCodegenVersion}})
	if r.Err != nil || r.ExitCode != 0 {
		return "", fmt.Errorf("go install oapi-codegen: %v %s", r.Err, toolcmp.FirstLines(r.Stderr, 3))
	}
	return bin, nil
}

func runGen(ctx context.Context, repo, idemgen string, specs []toolcmp.Spec, tmp string, repeats int, doc *report.Doc) error {
	oapi, err := installOapiCodegen(ctx)
	if err != nil {
		doc.Notes = append(doc.Notes, err.Error())
	}
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	ours, err := toolcmp.NewModule(filepath.Join(tmp, "gen-idemgen"), "benchgen/idemgen", goVersion,
		"require github.com/idemgen/idemgen v0.0.0-00010101000000-000000000000\n\nreplace github.com/idemgen/idemgen => "+repo)
	if err != nil {
		return err
	}
	peer, err := toolcmp.NewModule(filepath.Join(tmp, "gen-oapi"), "benchgen/oapi", goVersion, "")
	if err != nil {
		return err
	}
	type pair struct{ ours, peer report.GenRow }
	var rows []pair
	for _, s := range specs {
		p := pair{
			ours: report.GenRow{Spec: s.Name, Tool: "idemgen", Build: "-", Vet: "-"},
			peer: report.GenRow{Spec: s.Name, Tool: "oapi-codegen " + oapiCodegenVersion, Build: "-", Vet: "-"},
		}
		out := filepath.Join(ours.Dir, s.Pkg)
		wall, rss, last := toolcmp.Repeat(ctx, repeats, toolcmp.Cmd{Path: idemgen,
			Args: []string{"generate", "--spec", s.Path, "--out", out, "--package", s.Pkg}}, nil)
		p.ours.Time, p.ours.RSSKiB, p.ours.Generate = wall, rss, genVerdict(last)
		if oapi != "" {
			dir := filepath.Join(peer.Dir, s.Pkg)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			wall, rss, last := toolcmp.Repeat(ctx, repeats, toolcmp.Cmd{Path: oapi, Args: []string{"-package", s.Pkg, s.Path}},
				func() (io.WriteCloser, error) { return os.Create(filepath.Join(dir, "api.gen.go")) })
			p.peer.Time, p.peer.RSSKiB, p.peer.Generate = wall, rss, genVerdict(last)
			if p.peer.Time > 0 && p.ours.Time > 0 {
				p.ours.Ratio = float64(p.ours.Time) / float64(p.peer.Time)
			}
		}
		fmt.Fprintf(os.Stderr, "gen %-28s idemgen %v (%s), oapi-codegen %v (%s)\n", s.Name, p.ours.Time, p.ours.Generate, p.peer.Time, p.peer.Generate)
		rows = append(rows, p)
	}
	for _, m := range []*toolcmp.Module{ours, peer} {
		t0 := time.Now()
		if err := m.Tidy(ctx); err != nil {
			doc.Notes = append(doc.Notes, err.Error())
		}
		fmt.Fprintf(os.Stderr, "tidy %s: %v\n", filepath.Base(m.Dir), time.Since(t0).Round(time.Millisecond))
	}
	for i, s := range specs {
		t0 := time.Now()
		if rows[i].ours.Generate == "ok" {
			rows[i].ours.Build, rows[i].ours.Vet = ours.Check(ctx, s.Pkg)
		}
		if rows[i].peer.Generate == "ok" {
			rows[i].peer.Build, rows[i].peer.Vet = peer.Check(ctx, s.Pkg)
		}
		fmt.Fprintf(os.Stderr, "compile %-28s (%v) idemgen %s/%s, oapi-codegen %s/%s\n", s.Name, time.Since(t0).Round(time.Millisecond), rows[i].ours.Build, rows[i].ours.Vet, rows[i].peer.Build, rows[i].peer.Vet)
		doc.Gen = append(doc.Gen, rows[i].ours, rows[i].peer)
	}
	return nil
}

func genVerdict(r toolcmp.Run) string {
	switch {
	case r.Err != nil:
		return "failed: " + r.Err.Error()
	case r.ExitCode != 0:
		return fmt.Sprintf("FAILS (exit %d): %s", r.ExitCode, toolcmp.FirstLines(r.Stderr, 2))
	}
	return "ok"
}

func installNPM(ctx context.Context) (string, error) {
	dir := filepath.Join(toolsDir(), "npm-spectral-6.16.3-redocly-2.77.0")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "redocly")); err == nil {
		return dir, nil
	}
	r := toolcmp.Exec(ctx, toolcmp.Cmd{Path: "npm", Args: []string{"install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", spectralPackage, redoclyPackage}})
	if r.Err != nil || r.ExitCode != 0 {
		return "", fmt.Errorf("npm install %s %s: %v %s", spectralPackage, redoclyPackage, r.Err, toolcmp.FirstLines(r.Stderr, 3))
	}
	return dir, nil
}

func runLint(ctx context.Context, idemgen string, specs []toolcmp.Spec, tmp string, repeats int, doc *report.Doc) {
	var largest toolcmp.Spec
	var size int64
	for _, s := range specs {
		if fi, err := os.Stat(s.Path); err == nil && fi.Size() > size {
			largest, size = s, fi.Size()
		}
	}
	if largest.Path == "" {
		doc.Notes = append(doc.Notes, "lint: no spec in the corpus")
		return
	}
	doc.LintSpec = largest.Name
	cfg := filepath.Join(tmp, "lintcfg")
	_ = os.MkdirAll(cfg, 0o755)
	_ = os.WriteFile(filepath.Join(cfg, ".spectral.yaml"), []byte("extends: [\"spectral:oas\"]\n"), 0o644)
	_ = os.WriteFile(filepath.Join(cfg, "redocly.yaml"), []byte("extends:\n  - recommended\n"), 0o644)

	measure := func(tool, rules string, c toolcmp.Cmd, count func([]byte) string) report.LintRow {
		wall, rss, last := toolcmp.Repeat(ctx, repeats, c, nil)
		row := report.LintRow{Tool: tool, Ruleset: rules, Time: wall, RSSKiB: rss, Exit: fmt.Sprint(last.ExitCode)}
		if last.Err != nil {
			row.Findings = "failed: " + last.Err.Error()
		} else {
			row.Findings = count(last.Stdout)
		}
		fmt.Fprintf(os.Stderr, "lint %-10s %v exit %d findings %s\n", tool, wall, last.ExitCode, row.Findings)
		return row
	}
	ours := measure("idemgen lint", "idemgen's rules", toolcmp.Cmd{Path: idemgen, Args: []string{"lint", "--format", "json", largest.Path}}, countJSON)
	doc.Lint = append(doc.Lint, ours)
	npm, err := installNPM(ctx)
	if err != nil {
		doc.Notes = append(doc.Notes, err.Error())
		return
	}
	bin := filepath.Join(npm, "node_modules", ".bin")
	env := []string{"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1"}
	peers := []report.LintRow{
		measure("Spectral 6.16.3", "spectral:oas", toolcmp.Cmd{Dir: cfg, Env: env, Path: filepath.Join(bin, "spectral"),
			Args: []string{"lint", "-r", filepath.Join(cfg, ".spectral.yaml"), "-f", "json", "-q", largest.Path}}, countJSON),
		measure("Redocly CLI 2.77.0", "recommended", toolcmp.Cmd{Dir: cfg, Env: env, Path: filepath.Join(bin, "redocly"),
			Args: []string{"lint", "--config", filepath.Join(cfg, "redocly.yaml"), "--format", "json", largest.Path}}, countJSON),
	}
	for _, p := range peers {
		if ours.Time > 0 {
			p.Ratio = float64(p.Time) / float64(ours.Time)
		}
		doc.Lint = append(doc.Lint, p)
	}
}

// countJSON summarises a linter's JSON output: the length of a top-level
// array, Redocly's totals, or the length of a "findings"/"problems" array.
func countJSON(out []byte) string {
	var arr []json.RawMessage
	if json.Unmarshal(out, &arr) == nil {
		return fmt.Sprint(len(arr))
	}
	var obj struct {
		Totals *struct {
			Errors   int `json:"errors"`
			Warnings int `json:"warnings"`
		} `json:"totals"`
		Findings []json.RawMessage `json:"findings"`
		Problems []json.RawMessage `json:"problems"`
	}
	if json.Unmarshal(out, &obj) != nil {
		return "unparsed output"
	}
	switch {
	case obj.Totals != nil:
		return fmt.Sprintf("%d errors, %d warnings", obj.Totals.Errors, obj.Totals.Warnings)
	case obj.Findings != nil:
		return fmt.Sprint(len(obj.Findings))
	}
	return fmt.Sprint(len(obj.Problems))
}
