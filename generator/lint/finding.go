package lint

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/idemgen/idemgen/generator/model"
)

// Finding is one reported problem: a model.Diagnostic (the generator's one
// diagnostic type, shared with the loader, the extension validator, emit and
// diff), plus what lint needs to apply configs and baselines. Its JSON form is
// the --format json output (see MarshalJSON).
type Finding struct {
	model.Diagnostic

	// generatorError marks a loader error: no config or baseline hides it,
	// because generate rejects the spec.
	generatorError bool
}

// GeneratorError reports whether f is an error of the generator's own
// validation (generate rejects the spec), which no config or baseline hides.
func (f Finding) GeneratorError() bool { return f.generatorError }

// jsonFinding is the --format json shape of a finding: every field is always
// present (empty strings and zero positions included), so consumers can rely
// on it. File, Line and Column locate the narrowest node the finding is about,
// in the file where it really lives ($ref'd files included); Line and Column
// are 1-based, 0 means unknown. Pointer is the node's JSON Pointer within File.
type jsonFinding struct {
	Rule        string         `json:"rule"`
	Severity    model.Severity `json:"severity"`
	Message     string         `json:"message"`
	File        string         `json:"file"`
	Line        int            `json:"line"`
	Column      int            `json:"column"`
	Pointer     string         `json:"pointer"`
	Method      string         `json:"method"`
	Path        string         `json:"path"`
	OperationID string         `json:"operationId"`
}

// MarshalJSON writes f in the flat --format json shape.
func (f Finding) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonFinding{
		Rule: f.Rule, Severity: f.Severity, Message: f.Message,
		File: f.Pos.File, Line: f.Pos.Line, Column: f.Pos.Col, Pointer: f.Pointer,
		Method: f.Method(), Path: f.Path(), OperationID: f.OperationID(),
	})
}

// New returns a finding about op (which may be nil) at pos.
func New(rule string, sev model.Severity, op *model.Operation, pos model.Pos, pointer, msg string) Finding {
	return Finding{Diagnostic: model.Diagnostic{
		Rule: rule, Severity: sev, Message: msg, Pos: pos, Pointer: pointer, Operation: op,
	}}
}

// FromDiagnostic wraps a loader diagnostic as a finding; a diagnostic without a
// rule id or severity gets spec-invalid and error.
func FromDiagnostic(d model.Diagnostic) Finding {
	if d.Rule == "" {
		d.Rule = RuleSpecInvalid
	}
	if d.Severity == "" {
		d.Severity = model.Error
	}
	return Finding{Diagnostic: d}
}

// Sort orders findings by file, line, column, rule and message: the text
// format's order, and a deterministic order for every other format.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.OperationID(), b.OperationID()),
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
