package annotate

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/generator/policydoc"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/templates"
)

// PolicyRow is one operation of the Markdown policy table.
type PolicyRow struct {
	OperationID, Method, Path string
	Key, Required, TTL        string
	Scope, Fingerprint        string
	Concurrent, Cache         string
	ErrorStatuses             string
}

// Waiver is one waived operation.
type Waiver struct {
	OperationID, Method, Path, Reason string
}

// PolicyReport is what templates/report/policies.md.tmpl reads.
type PolicyReport struct {
	Title, Version string
	Policies       []PolicyRow
	Waivers        []Waiver
	// Uncovered are unsafe operations without x-idempotent ("POST /x (id)").
	Uncovered []string
}

// Report builds the policy report of api.
func Report(api *model.API) PolicyReport {
	r := PolicyReport{Title: api.Title, Version: api.Version}
	// Webhooks and callbacks follow the operations, under their default paths.
	for _, op := range append(slices.Clip(api.Operations), api.Receivers()...) {
		switch {
		case op.Idempotent():
			p := op.Idempotency.Policy
			req := "yes"
			if p.Key.Optional {
				req = "no"
			}
			if len(p.Key.Derive) > 0 {
				req = "derived"
			}
			scope := strings.Join(p.Scope, ", ")
			if scope == "" {
				scope = "none"
			}
			fp := strings.Join(policydoc.Fingerprint(p), ", ")
			if fp == "" {
				fp = "none"
			}
			conc := string(p.Concurrent)
			if conc == "" {
				conc = string("reject")
			}
			cache := p.Cache
			if cache == nil {
				cache = idempotency.DefaultCache()
			}
			r.Policies = append(r.Policies, PolicyRow{
				OperationID: op.ID, Method: op.Method, Path: op.Path,
				Key: policydoc.KeyText(p.Key), Required: req, TTL: extension.FormatDuration(policydoc.TTL(p)),
				Scope: scope, Fingerprint: fp, Concurrent: conc, Cache: strings.Join(cache, ", "),
				ErrorStatuses: strings.Join(lint.ErrorStatuses(p), ", "),
			})
		case op.Idempotency != nil:
			r.Waivers = append(r.Waivers, Waiver{OperationID: op.ID, Method: op.Method, Path: op.Path, Reason: op.Idempotency.Reason})
		case lint.IsUnsafe(op.Method):
			r.Uncovered = append(r.Uncovered, fmt.Sprintf("%s (%s)", op.Label(), op.ID))
		}
	}
	return r
}

// WriteMarkdown writes the Markdown table of every operation's policy.
func WriteMarkdown(w io.Writer, api *model.API) error {
	t, err := template.New("policies.md.tmpl").Funcs(template.FuncMap{
		"cell": func(s string) string {
			return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
		},
	}).ParseFS(templates.Report(), "policies.md.tmpl")
	if err != nil {
		return fmt.Errorf("annotate: markdown template: %w", err)
	}
	if err := t.Execute(w, Report(api)); err != nil {
		return fmt.Errorf("annotate: markdown: %w", err)
	}
	return nil
}
