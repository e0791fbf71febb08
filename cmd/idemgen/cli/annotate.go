package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/idemgen/idemgen/generator/annotate"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

func newAnnotateCmd(e *env) *cobra.Command {
	var output string
	var markdown, check bool
	cmd := &cobra.Command{
		Use: "annotate [-o FILE] [--markdown] SPEC",
		Example: `  # a copy of the spec documenting each policy (key parameter, 400/409/422, Idempotent-Replayed)
  idemgen annotate -o public/openapi.yaml api/openapi.yaml

  # a Markdown table of every operation's policy, for docs
  idemgen annotate --markdown api/openapi.yaml > docs/idempotency.md`,
		Short: "Write a copy of the spec that documents each idempotent operation's policy",
		Long: `annotate writes a copy of an OpenAPI document (YAML or JSON, as the input) in
which every idempotent operation documents its policy for Swagger UI, Redoc and
other generators: the key parameter, the 400/409/422 application/problem+json
responses, the Idempotent-Replayed response header and one sentence of ttl,
scope and fingerprint in the description. Running it on its own output changes
nothing. With --markdown it writes a Markdown table of every operation's policy
instead.

The copy goes to stdout, or to -o FILE (which may be SPEC itself). A spec with
x-idempotent errors is refused (exit 1), as generate refuses it. --check writes
nothing and exits 1 when the published policy is missing or stale (lint's
policy-doc-stale rule uses the same sentence).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := args[0]
			api, err := loader.Load(cmd.Context(), spec)
			if err != nil {
				return exitCode(2, err)
			}
			var errs []error
			for _, d := range api.Diagnostics {
				if d.Severity == model.Error {
					errs = append(errs, errors.New(d.Error()))
				}
			}
			if len(errs) > 0 {
				return exitCode(1, fmt.Errorf("annotate: %s has errors (run idemgen lint):\n%w", spec, errors.Join(errs...)))
			}
			var out bytes.Buffer
			if markdown {
				if err := annotate.WriteMarkdown(&out, api); err != nil {
					return exitCode(1, err)
				}
			} else {
				src, err := os.ReadFile(spec)
				if err != nil {
					return exitCode(2, err)
				}
				res, err := annotate.Annotate(api, src)
				if err != nil {
					return exitCode(1, err)
				}
				for _, s := range res.Skipped {
					fmt.Fprintln(e.stderr, "idemgen: annotate: skipped", s)
				}
				if check {
					if res.Changed > 0 {
						return exitCode(1, fmt.Errorf("annotate --check: the published policy of %d operation(s) of %s is missing or stale: run idemgen annotate -o %s %s", res.Changed, spec, spec, spec))
					}
					return nil
				}
				out.Write(res.Data)
			}
			if output == "" || output == "-" {
				_, err = e.stdout.Write(out.Bytes())
				return err
			}
			if err := os.WriteFile(output, out.Bytes(), 0o644); err != nil {
				return exitCode(1, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE instead of stdout (may be SPEC itself)")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "write a Markdown table of every operation's policy instead of the spec")
	cmd.Flags().BoolVar(&check, "check", false, "write nothing; exit 1 when annotate would change the spec (a published policy text or parameter is missing or stale), for CI")
	return cmd
}
