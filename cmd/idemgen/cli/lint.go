package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idemgen/idemgen/generator/diff"
	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

// reviewFlags are the flags lint and diff share.
type reviewFlags struct {
	format, failOn, config string
	summary                bool
}

func (f *reviewFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: "+strings.Join(lint.Formats, ", "))
	cmd.Flags().StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding has at least this severity: error, warning or info")
	cmd.Flags().StringVar(&f.config, "config", "", "lint config file (YAML or JSON): rule severities, overrides, org policy")
	cmd.Flags().BoolVar(&f.summary, "summary", false, "text, markdown, github: counts per rule and the operations with the most findings instead of every finding")
}

// parse validates the flags and loads the config; its errors are usage errors (exit 2).
func (f *reviewFlags) parse() (model.Severity, *lint.Config, error) {
	if !slices.Contains(lint.Formats, f.format) {
		return "", nil, exitCode(2, fmt.Errorf("--format: want one of %s, got %q", strings.Join(lint.Formats, ", "), f.format))
	}
	failOn, ok := lint.ParseSeverity(f.failOn)
	if !ok {
		return "", nil, exitCode(2, fmt.Errorf("--fail-on: want error, warning or info, got %q", f.failOn))
	}
	cfg := &lint.Config{}
	if f.config != "" {
		c, err := lint.LoadConfig(f.config)
		if err != nil {
			return "", nil, exitCode(2, err)
		}
		if err := c.CheckRuleIDs(allRules()); err != nil {
			return "", nil, exitCode(2, fmt.Errorf("%s: %w", f.config, err))
		}
		cfg = c
	}
	return failOn, cfg, nil
}

// allRules is the rule metadata written in SARIF output.
func allRules() []lint.Rule { return append(lint.Rules(), diff.Rules()...) }

// loadFailure turns a load error into a finding, so that no output format
// shows a spec that failed to load as clean. The loader's error is located
// ("loader: file:line:col: message") when the place is known; the finding
// then points there instead of at line 0 of the spec, and its message is the
// rest, so the text format shows the place once.
//
// The error is printed once: the text format shows the finding's message on
// stdout, so stderr gets nothing; the other formats and --summary are written
// for a machine or show no messages, so the error also goes to stderr, where a
// person running the command (a CI log) sees it. echo says which.
func loadFailure(e *env, echo bool, spec string, err error) lint.Finding {
	if echo {
		fmt.Fprintln(e.stderr, "idemgen:", err)
	}
	pos := model.Pos{File: spec}
	msg := strings.TrimPrefix(err.Error(), "loader: ")
	if m := locatedError.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		pos = model.Pos{File: m[1], Line: line, Col: col}
		msg = err.Error()[len(m[0]):]
	}
	return lint.New(lint.RuleLoadFailed, model.Error, nil, pos, "", msg)
}

// echoLoadErrors reports whether a load error must also go to stderr: unless
// the text format lists it with its message (see loadFailure). --write-baseline
// writes no findings but names the failures in its error.
func (f *reviewFlags) echoLoadErrors(writeBaseline bool) bool {
	return !writeBaseline && (f.format != "text" || f.summary)
}

// locatedError matches the position at the start of a located loader error.
var locatedError = regexp.MustCompile(`^(?:loader: )?(.+?):(\d+):(\d+): `)

// finish writes the findings and returns the command's exit status: 2 when a
// spec failed to load, 1 when a finding reaches failOn, else 0.
// writeBaselineFile writes fs as the baseline of lint or diff (--write-baseline);
// nothing is written when a spec failed to load.
func writeBaselineFile(e *env, path string, fs []lint.Finding, loadFailed bool) error {
	if loadFailed {
		var errs []error
		for _, f := range fs {
			if f.Rule == lint.RuleLoadFailed {
				errs = append(errs, f)
			}
		}
		return exitCode(2, fmt.Errorf("baseline not written: a spec failed to load: %w", errors.Join(errs...)))
	}
	b := lint.NewBaseline(fs)
	if err := b.Write(path); err != nil {
		return exitCode(2, err)
	}
	fmt.Fprintf(e.stderr, "idemgen: wrote %d baseline entries to %s\n", len(b.Entries), path)
	return nil
}

func finish(e *env, flags reviewFlags, command string, specs []string, fs []lint.Finding, failOn model.Severity, loadFailed bool) error {
	format := flags.format
	if wd, err := os.Getwd(); err == nil {
		for i := range fs {
			fs[i].Pos.File = relative(wd, fs[i].Pos.File)
		}
	}
	lint.Sort(fs)
	out := lint.Output{Command: command, Version: Version, Rules: allRules(), Specs: specs, Summary: flags.summary}
	if err := lint.Write(e.stdout, format, fs, out); err != nil {
		return exitCode(2, err)
	}
	switch {
	case loadFailed:
		return exitCode(2, nil)
	case lint.Reaches(fs, failOn):
		return exitCode(1, nil)
	}
	return nil
}

func newLintCmd(e *env) *cobra.Command {
	var flags reviewFlags
	var baseline string
	var writeBaseline bool
	cmd := &cobra.Command{
		Use: "lint [flags] SPEC...",
		Example: `  # go vet style findings; exit 1 when an error is found
  idemgen lint api/openapi.yaml

  # fail on warnings too, and write SARIF for GitHub code scanning
  idemgen lint --fail-on warning --format sarif api/openapi.yaml > idemgen.sarif

  # accept today's findings, then report only new ones
  idemgen lint --baseline .idemgen-baseline.json --write-baseline api/openapi.yaml
  idemgen lint --baseline .idemgen-baseline.json api/openapi.yaml`,
		Short: "Review OpenAPI specs for idempotency problems",
		Long: `lint reports idempotency problems in OpenAPI documents: unsafe operations
without x-idempotent, invalid x-idempotent (the same validation as generate),
weak keys, fingerprints and scopes that cannot work, and undocumented policies.
Rules and their default severities are listed in docs/lint.md.

Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when a
spec cannot be loaded, the config or baseline is invalid, or the usage is wrong.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, specs []string) error {
			failOn, cfg, err := flags.parse()
			if err != nil {
				return err
			}
			if writeBaseline && baseline == "" {
				return exitCode(2, errors.New("--write-baseline needs --baseline FILE"))
			}
			var base *lint.Baseline
			if baseline != "" && !writeBaseline {
				if base, err = lint.LoadBaseline(baseline); err != nil {
					return exitCode(2, err)
				}
			}
			fs, loadFailed := lintSpecs(cmd.Context(), e, specs, cfg, flags.echoLoadErrors(writeBaseline))
			if writeBaseline {
				return writeBaselineFile(e, baseline, fs, loadFailed)
			}
			fs = base.Filter(fs, baseline)
			return finish(e, flags, "lint", specs, fs, failOn, loadFailed)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&baseline, "baseline", "", "baseline file of accepted findings (keyed by rule and operationId)")
	cmd.Flags().BoolVar(&writeBaseline, "write-baseline", false, "write every current finding to the --baseline file and exit 0")
	return cmd
}

// relative returns file relative to wd when it lies below wd, so that text
// output, GitHub annotations and SARIF name repository paths.
func relative(wd, file string) string {
	if !filepath.IsAbs(file) {
		return file
	}
	if r, err := filepath.Rel(wd, file); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
		return r
	}
	return file
}

// lintSpecs loads and lints every spec; a spec that fails to load becomes a
// spec-load-failed finding (its error printed when echo is set).
func lintSpecs(ctx context.Context, e *env, specs []string, cfg *lint.Config, echo bool) ([]lint.Finding, bool) {
	var fs []lint.Finding
	failed := false
	for _, spec := range specs {
		api, err := loader.Load(ctx, spec)
		if err != nil {
			failed = true
			fs = append(fs, loadFailure(e, echo, spec, err))
			continue
		}
		fs = append(fs, lint.Lint(ctx, api, cfg)...)
	}
	return fs, failed
}
