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

// lintTarget is issue 16's target: idemgen lint's CPU time at most this
// fraction of Redocly's, on every corpus spec.
const lintTarget = 0.3

// runLint runs idemgen lint, Redocly and Spectral on every corpus spec and
// compares their CPU time with Redocly's (CPU, not wall time: the machine is
// shared, and Node's start-up is part of what a user waits for either way).
func runLint(ctx context.Context, idemgen string, specs []toolcmp.Spec, tmp string, repeats int, doc *report.Doc) {
	if len(specs) == 0 {
		doc.Notes = append(doc.Notes, "lint: no spec in the corpus")
		return
	}
	cfg := filepath.Join(tmp, "lintcfg")
	_ = os.MkdirAll(cfg, 0o755)
	_ = os.WriteFile(filepath.Join(cfg, ".spectral.yaml"), []byte("extends: [\"spectral:oas\"]\n"), 0o644)
	_ = os.WriteFile(filepath.Join(cfg, "redocly.yaml"), []byte("extends:\n  - recommended\n"), 0o644)

	measure := func(spec, tool, rules string, c toolcmp.Cmd, count func([]byte) string) report.LintRow {
		st := toolcmp.Measure(ctx, repeats, c, nil)
		row := report.LintRow{Spec: spec, Tool: tool, Ruleset: rules, Time: st.Wall, CPU: st.CPU, RSSKiB: st.RSSKiB, Exit: fmt.Sprint(st.Last.ExitCode)}
		if st.Last.Err != nil {
			row.Findings = "failed: " + st.Last.Err.Error()
		} else {
			row.Findings = count(st.Last.Stdout)
		}
		fmt.Fprintf(os.Stderr, "lint %-28s %-18s cpu %v wall %v exit %d findings %s\n", spec, tool, st.CPU, st.Wall, st.Last.ExitCode, row.Findings)
		return row
	}
	npm, npmErr := installNPM(ctx)
	if npmErr != nil {
		doc.Notes = append(doc.Notes, npmErr.Error())
	}
	bin := filepath.Join(npm, "node_modules", ".bin")
	env := []string{"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1"}
	var worst report.LintRow
	met, measured := true, 0
	for _, s := range specs {
		rows := []report.LintRow{measure(s.Name, "idemgen lint", "idemgen's rules", toolcmp.Cmd{Path: idemgen, Args: []string{"lint", "--format", "json", s.Path}}, countJSON)}
		if npmErr == nil {
			rows = append(rows,
				measure(s.Name, "Redocly CLI 2.77.0", "recommended", toolcmp.Cmd{Dir: cfg, Env: env, Path: filepath.Join(bin, "redocly"),
					Args: []string{"lint", "--config", filepath.Join(cfg, "redocly.yaml"), "--format", "json", s.Path}}, countJSON),
				measure(s.Name, "Spectral 6.16.3", "spectral:oas", toolcmp.Cmd{Dir: cfg, Env: env, Path: filepath.Join(bin, "spectral"),
					Args: []string{"lint", "-r", filepath.Join(cfg, ".spectral.yaml"), "-f", "json", "-q", s.Path}}, countJSON))
			if ref := rows[1].CPU; ref > 0 {
				for i := range rows {
					rows[i].Ratio = float64(rows[i].CPU) / float64(ref)
				}
				measured++
				if rows[0].Ratio > lintTarget {
					met = false
				}
				if rows[0].Ratio > worst.Ratio {
					worst = rows[0]
				}
			}
		}
		doc.Lint = append(doc.Lint, rows...)
	}
	if measured == 0 {
		return
	}
	verdict := "Target met"
	if !met || measured < len(specs) {
		verdict = "Target missed"
	}
	highest := ""
	if worst.Ratio > 0 {
		highest = fmt.Sprintf("; the highest is %s at %.2f×, %s of CPU", worst.Spec, worst.Ratio, report.Dur(worst.CPU))
	}
	doc.Findings = append(doc.Findings, fmt.Sprintf("%s: idemgen lint's CPU time ≤ %.2f× Redocly's on every corpus spec (%d of %d specs measured%s).",
		verdict, lintTarget, measured, len(specs), highest))
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
