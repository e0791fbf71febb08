package cli

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/idemgen/idemgen/generator/diff"
	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

func newDiffCmd(e *env) *cobra.Command {
	var flags reviewFlags
	var baseline string
	var writeBaseline bool
	cmd := &cobra.Command{
		Use: "diff [flags] BASE HEAD",
		Example: `  # two files
  idemgen diff old/openapi.yaml api/openapi.yaml

  # the base branch's version against the working tree, as GitHub annotations
  idemgen diff --format github origin/main:api/openapi.yaml api/openapi.yaml`,
		Short: "Report idempotency regressions between two versions of a spec",
		Long: `diff compares two versions of an OpenAPI document and reports idempotency
regressions: idempotency removed or waived, ttl shortened, key became required,
optional, stricter or renamed, fingerprint widened or narrowed, scope, concurrency,
lease or cache changed, conflict/mismatch responses changed, and new unsafe
operations without x-idempotent. Classes that break existing clients are errors,
notable ones warnings (docs/lint.md). --baseline accepts known findings as in lint.

BASE and HEAD are files or git revisions such as origin/main:api/openapi.yaml
(the spec's directory at that revision is extracted, so relative $refs to files
beside or below it keep working). Formats and exit status are lint's.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			ctx := cmd.Context()
			tmp, err := os.MkdirTemp("", "idemgen-diff-")
			if err != nil {
				return exitCode(2, err)
			}
			defer os.RemoveAll(tmp)
			var apis [2]*model.API
			var fs []lint.Finding
			failed := false
			var head *diff.Source
			for i, arg := range args {
				src, err := diff.Resolve(ctx, arg, tmp)
				if err != nil {
					return exitCode(2, err)
				}
				if i == 1 {
					head = src
				}
				api, err := loader.Load(ctx, src.File)
				if err != nil {
					failed = true
					fs = append(fs, loadFailure(e, flags.echoLoadErrors(writeBaseline), arg, err))
					continue
				}
				apis[i] = api
			}
			if !failed {
				found := diff.Diff(apis[0], apis[1])
				for i := range found {
					if flags.format == "sarif" || flags.format == "github" {
						// Code scanning and annotations need working-tree files.
						found[i].Pos.File = head.WorkFile(found[i].Pos.File)
					} else {
						found[i].Pos.File = head.Display(found[i].Pos.File)
					}
				}
				fs = cfg.Apply(found)
			}
			if writeBaseline {
				return writeBaselineFile(e, baseline, fs, failed)
			}
			fs = base.Filter(fs, baseline)
			return finish(e, flags, "diff", args, fs, failOn, failed)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&baseline, "baseline", "", "baseline file of accepted findings (keyed by rule and operationId)")
	cmd.Flags().BoolVar(&writeBaseline, "write-baseline", false, "write every current finding to the --baseline file and exit 0")
	return cmd
}
