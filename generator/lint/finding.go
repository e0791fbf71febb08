package lint

import (
	"cmp"
	"slices"

	"github.com/idemgen/idemgen/generator/model"
)

// Finding is one reported problem. Its JSON form is the --format json output:
// every field is always present (empty strings and zero positions included), so
// consumers can rely on the shape.
type Finding struct {
	Rule     string         `json:"rule"`
	Severity model.Severity `json:"severity"`
	Message  string         `json:"message"`
	// File, Line and Column locate the narrowest node the finding is about, in
	// the file where it really lives ($ref'd files included). Line and Column are
	// 1-based; 0 means unknown.
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	// Pointer is the JSON Pointer of the node within File.
	Pointer     string `json:"pointer"`
	Method      string `json:"method"`
	Path        string `json:"path"`
	OperationID string `json:"operationId"`

	// generatorError marks a loader error: no config or baseline hides it,
	// because generate rejects the spec.
	generatorError bool
}

// GeneratorError reports whether f is an error of the generator's own
// validation (generate rejects the spec), which no config or baseline hides.
func (f Finding) GeneratorError() bool { return f.generatorError }

// Pos returns the finding's position.
func (f Finding) Pos() model.Pos { return model.Pos{File: f.File, Line: f.Line, Col: f.Column} }

// newFinding builds a finding about op (which may be nil) at pos.
func newFinding(rule string, sev model.Severity, op *model.Operation, pos model.Pos, pointer, msg string) Finding {
	f := Finding{
		Rule:     rule,
		Severity: sev,
		Message:  msg,
		File:     pos.File,
		Line:     pos.Line,
		Column:   pos.Col,
		Pointer:  pointer,
	}
	if op != nil {
		f.Method = op.Method
		f.Path = op.Path
		f.OperationID = op.ID
	}
	return f
}

// FromDiagnostic converts a loader diagnostic into a finding, keeping its rule
// id, severity, position, pointer and operation.
func FromDiagnostic(d model.Diagnostic) Finding {
	rule := d.Rule
	if rule == "" {
		rule = "spec-invalid"
	}
	sev := d.Severity
	if sev == "" {
		sev = model.Error
	}
	return newFinding(rule, sev, d.Operation, d.Pos, d.Pointer, d.Message)
}

// Sort orders findings by file, line, column, rule and message: the text
// format's order, and a deterministic order for every other format.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.OperationID, b.OperationID),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// severityRank orders severities: info < warning < error.
func severityRank(s model.Severity) int {
	switch s {
	case model.Error:
		return 3
	case model.Warning:
		return 2
	case model.Info:
		return 1
	}
	return 0
}

// ParseSeverity parses "error", "warning" or "info".
func ParseSeverity(s string) (model.Severity, bool) {
	switch model.Severity(s) {
	case model.Error, model.Warning, model.Info:
		return model.Severity(s), true
	}
	return "", false
}

// Reaches reports whether any finding is at least as severe as threshold: the
// exit-code decision of --fail-on.
func Reaches(fs []Finding, threshold model.Severity) bool {
	t := severityRank(threshold)
	for _, f := range fs {
		if severityRank(f.Severity) >= t {
			return true
		}
	}
	return false
}

// Counts returns the number of errors, warnings and infos in fs.
func Counts(fs []Finding) (errors, warnings, infos int) {
	for _, f := range fs {
		switch f.Severity {
		case model.Error:
			errors++
		case model.Warning:
			warnings++
		default:
			infos++
		}
	}
	return
}
