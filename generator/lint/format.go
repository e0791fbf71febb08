package lint

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"unicode/utf16"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/templates"
)

// Formats are the accepted --format values.
var Formats = []string{"text", "json", "sarif", "github", "markdown", "json-array"}

// JSONVersion is the version of the --format json envelope. It changes only
// when a field changes meaning or goes away; new fields keep it.
const JSONVersion = 1

// Output describes the run a set of findings came from, for the formats that
// show more than the findings.
type Output struct {
	// Command is "lint" or "diff" (the Markdown title, the SARIF automation id).
	Command string
	// Version is the idemgen version (SARIF tool.driver.version).
	Version string
	// Rules describe the rule ids for SARIF metadata; findings with other ids
	// get a minimal rule entry.
	Rules []Rule
	// Specs are the documents reviewed (shown by Markdown).
	Specs []string
	// Summary replaces the list of findings with counts per rule and the
	// operations with the most findings (text, markdown, github).
	Summary bool
}

// MarkdownLimit is the most characters the markdown format writes: a GitHub
// comment holds 65,536. Beyond it, findings are summarised.
const MarkdownLimit = 60000

// Summary is the --summary view of a set of findings.
type Summary struct {
	// Rules counts findings per rule, most first.
	Rules []RuleCount
	// Operations are the operations with the most findings, most first.
	Operations []OperationCount
}

// RuleCount is the number of findings of one rule.
type RuleCount struct {
	Rule     string
	Severity model.Severity // the most severe of its findings
	Count    int
	First    Finding // the first finding, in output order
}

// OperationCount is the number of findings about one operation.
type OperationCount struct {
	OperationID, Method, Path string
	// Label names the operation as messages do: "POST /songs", "webhook
	// orderShipped (POST)" (a webhook's Path is only its default receiver path).
	Label string
	Count int
}

// Summarize counts fs (sorted) per rule and per operation, keeping the top
// operations.
func Summarize(fs []Finding, top int) Summary {
	var s Summary
	byRule := map[string]int{}
	byOp := map[string]int{}
	for _, f := range fs {
		i, ok := byRule[f.Rule]
		if !ok {
			i = len(s.Rules)
			byRule[f.Rule] = i
			s.Rules = append(s.Rules, RuleCount{Rule: f.Rule, Severity: f.Severity, First: f})
		}
		r := &s.Rules[i]
		r.Count++
		if severityRank(f.Severity) > severityRank(r.Severity) {
			r.Severity = f.Severity
		}
		if id := f.OperationID(); id != "" {
			j, ok := byOp[id]
			if !ok {
				j = len(s.Operations)
				byOp[id] = j
				s.Operations = append(s.Operations, OperationCount{OperationID: id, Method: f.Method(), Path: f.Path(), Label: f.Operation.Label()})
			}
			s.Operations[j].Count++
		}
	}
	slices.SortStableFunc(s.Rules, func(a, b RuleCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Rule, b.Rule))
	})
	slices.SortStableFunc(s.Operations, func(a, b OperationCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.OperationID, b.OperationID))
	})
	if len(s.Operations) > top {
		s.Operations = s.Operations[:top]
	}
	return s
}

// summaryTop is how many operations a summary lists.
const summaryTop = 10

// Write writes fs (already sorted) to w in format.
func Write(w io.Writer, format string, fs []Finding, o Output) error {
	if o.Summary {
		switch format {
		case "text", "":
			return writeTextSummary(w, fs)
		case "github":
			return writeGitHubSummary(w, fs)
		}
	}
	switch format {
	case "text", "":
		return writeText(w, fs)
	case "json":
		return writeJSONEnvelope(w, fs, o)
	case "json-array":
		return writeJSON(w, fs)
	case "sarif":
		return writeSARIF(w, fs, o)
	case "github":
		return writeGitHub(w, fs)
	case "markdown":
		return writeMarkdown(w, fs, o)
	}
	return fmt.Errorf("lint: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeText(w io.Writer, fs []Finding) error {
	bw := bufio.NewWriter(w)
	for _, f := range fs {
		fmt.Fprintf(bw, "%s: %s %s: %s\n", f.Pos, f.Severity, f.Rule, f.Message)
	}
	return bw.Flush()
}

// writeTextSummary writes the counts per rule and the top operations.
func writeTextSummary(w io.Writer, fs []Finding) error {
	bw := bufio.NewWriter(w)
	s := Summarize(fs, summaryTop)
	e, wa, i := Counts(fs)
	fmt.Fprintf(bw, "%d finding(s): %d error(s), %d warning(s), %d info\n", len(fs), e, wa, i)
	for _, r := range s.Rules {
		fmt.Fprintf(bw, "%6d  %-7s %s (first: %s)\n", r.Count, r.Severity, r.Rule, r.First.Pos)
	}
	if len(s.Operations) > 0 {
		fmt.Fprintf(bw, "operations with the most findings:\n")
		for _, o := range s.Operations {
			fmt.Fprintf(bw, "%6d  %s (%s)\n", o.Count, o.Label, o.OperationID)
		}
	}
	return bw.Flush()
}

// writeGitHubSummary writes one annotation per rule, at its first finding,
// with the rule's count: GitHub shows only a few annotations per step.
func writeGitHubSummary(w io.Writer, fs []Finding) error {
	s := Summarize(fs, summaryTop)
	out := make([]Finding, 0, len(s.Rules))
	for _, r := range s.Rules {
		f := r.First
		f.Severity = r.Severity
		if r.Count > 1 {
			f.Message = fmt.Sprintf("%d findings of %s; the first: %s", r.Count, r.Rule, f.Message)
		}
		out = append(out, f)
	}
	return writeGitHub(w, out)
}

func writeJSON(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(fs)
}

// jsonEnvelope is the --format json document (docs/lint.md has its schema).
type jsonEnvelope struct {
	Version int `json:"version"`
	Tool    struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"tool"`
	Command string   `json:"command"`
	Specs   []string `json:"specs"`
	Counts  struct {
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
		Infos    int `json:"infos"`
	} `json:"counts"`
	Findings []Finding `json:"findings"`
}

func writeJSONEnvelope(w io.Writer, fs []Finding, o Output) error {
	var e jsonEnvelope
	e.Version = JSONVersion
	e.Tool.Name, e.Tool.Version = "idemgen", o.Version
	e.Command = cmp.Or(o.Command, "lint")
	e.Specs = o.Specs
	if e.Specs == nil {
		e.Specs = []string{}
	}
	e.Counts.Errors, e.Counts.Warnings, e.Counts.Infos = Counts(fs)
	e.Findings = fs
	if e.Findings == nil {
		e.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(e)
}

// escapeData and escapeProperty escape GitHub workflow command values.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func writeGitHub(w io.Writer, fs []Finding) error {
	bw := bufio.NewWriter(w)
	for _, f := range fs {
		cmd := "notice"
		switch f.Severity {
		case model.Error:
			cmd = "error"
		case model.Warning:
			cmd = "warning"
		}
		props := []string{"file=" + escapeProperty(filepath.ToSlash(f.Pos.File))}
		if f.Pos.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", f.Pos.Line))
			if f.Pos.Col > 0 {
				props = append(props, fmt.Sprintf("col=%d", f.Pos.Col))
			}
		}
		props = append(props, "title="+escapeProperty("idemgen "+f.Rule))
		fmt.Fprintf(bw, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(f.Message))
	}
	return bw.Flush()
}

// Fingerprint is the stable identity of a finding across runs: its rule and
// operationId (or JSON Pointer when it is not about an operation), so line
// moves and path renames keep it.
func Fingerprint(f Finding) string {
	id := f.OperationID()
	if id == "" {
		id = "pointer:" + f.Pointer
	}
	sum := sha256.Sum256([]byte(f.Rule + "\x00" + id))
	return hex.EncodeToString(sum[:16])
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool         `json:"tool"`
	AutomationDetails map[string]string `json:"automationDetails"`
	ColumnKind        string            `json:"columnKind"`
	Results           []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	HelpURI              string            `json:"helpUri"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration map[string]string `json:"defaultConfiguration"`
	Properties           map[string]any    `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI       string `json:"uri"`
			URIBaseID string `json:"uriBaseId,omitempty"`
		} `json:"artifactLocation"`
		Region *sarifRegion `json:"region,omitempty"`
	} `json:"physicalLocation"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// SARIFSchema is the $schema URI written in SARIF output.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// FingerprintKey is the partialFingerprints key of Fingerprint.
const FingerprintKey = "idemgenRuleOperation/v1"

const docsURI = "https://github.com/idemgen/idemgen/blob/main/docs/lint.md"

func sarifLevel(s model.Severity) string {
	switch s {
	case model.Error:
		return "error"
	case model.Warning:
		return "warning"
	}
	return "note"
}

// ruleName turns "key-schema-weak" into "KeySchemaWeak" (SARIF rule names are
// identifiers, not ids).
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// artifactURI returns a repository-relative URI (uriBaseId %SRCROOT%) when the
// file is below the working directory, else an absolute file URI.
func artifactURI(file string) (uri, base string) {
	if file == "" {
		return "unknown", "%SRCROOT%"
	}
	rel := file
	if filepath.IsAbs(file) {
		if wd, err := filepath.Abs("."); err == nil {
			if r, err := filepath.Rel(wd, file); err == nil && !strings.HasPrefix(r, "..") {
				rel = r
			}
		}
	}
	if filepath.IsAbs(rel) {
		return "file://" + filepath.ToSlash(rel), ""
	}
	return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(rel)), "./"), "%SRCROOT%"
}

func writeSARIF(w io.Writer, fs []Finding, o Output) error {
	index := map[string]int{}
	var rules []sarifRule
	addRule := func(r Rule) {
		if _, ok := index[r.ID]; ok {
			return
		}
		index[r.ID] = len(rules)
		full := r.Rationale
		if full == "" {
			full = r.Summary
		}
		rules = append(rules, sarifRule{
			ID:                   r.ID,
			Name:                 ruleName(r.ID),
			ShortDescription:     sarifText{r.Summary},
			FullDescription:      sarifText{full},
			HelpURI:              docsURI + "#" + r.ID,
			Help:                 sarifText{r.Summary + " " + full},
			DefaultConfiguration: map[string]string{"level": sarifLevel(r.Default)},
			Properties:           map[string]any{"tags": []string{"idempotency", r.Category}},
		})
	}
	for _, r := range o.Rules {
		addRule(r)
	}
	results := []sarifResult{}
	src := sourceLines{}
	for _, f := range fs {
		if _, ok := index[f.Rule]; !ok {
			addRule(Rule{ID: f.Rule, Category: CategoryExtension, Default: f.Severity,
				Summary: "x-idempotent validation (the generator's own check): " + f.Rule + "."})
		}
		var loc sarifLocation
		loc.PhysicalLocation.ArtifactLocation.URI, loc.PhysicalLocation.ArtifactLocation.URIBaseID = artifactURI(f.Pos.File)
		line, col := f.Pos.Line, src.utf16Col(f.Pos)
		if line <= 0 {
			line, col = 1, 0
		}
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: line, StartColumn: col}
		props := map[string]string{}
		for k, v := range map[string]string{"operationId": f.OperationID(), "method": f.Method(), "path": f.Path(), "pointer": f.Pointer} {
			if v != "" {
				props[k] = v
			}
		}
		results = append(results, sarifResult{
			RuleID:              f.Rule,
			RuleIndex:           index[f.Rule],
			Level:               sarifLevel(f.Severity),
			Message:             sarifText{f.Message},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{FingerprintKey: Fingerprint(f)},
			Properties:          props,
		})
	}
	if rules == nil {
		rules = []sarifRule{}
	}
	cmd := o.Command
	if cmd == "" {
		cmd = "lint"
	}
	log := sarifLog{
		Schema:  SARIFSchema,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name: "idemgen", Version: o.Version,
				InformationURI: "https://github.com/idemgen/idemgen", Rules: rules,
			}},
			AutomationDetails: map[string]string{"id": "idemgen/" + cmd + "/"},
			ColumnKind:        "utf16CodeUnits",
			Results:           results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// markdownData is what templates/report/findings.md.tmpl reads.
type markdownData struct {
	Command                 string
	Specs                   []string
	Summary                 *Summary
	Findings                []Finding
	Total                   int
	Errors, Warnings, Infos int
	// Omitted findings are not listed, to stay under Limit characters.
	Omitted, Limit int
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", ""), "\n", " ")
}

var reportFuncs = template.FuncMap{
	"cell": mdCell,
	"icon": func(s model.Severity) string {
		switch s {
		case model.Error:
			return "❌ error"
		case model.Warning:
			return "⚠️ warning"
		}
		return "ℹ️ info"
	},
}

// parseReport parses one template of templates/report.
func parseReport(name string) (*template.Template, error) {
	return template.New(name).Funcs(reportFuncs).ParseFS(templates.Report(), name)
}

func writeMarkdown(w io.Writer, fs []Finding, o Output) error {
	t, err := parseReport("findings.md.tmpl")
	if err != nil {
		return fmt.Errorf("lint: markdown template: %w", err)
	}
	d := markdownData{Command: o.Command, Specs: o.Specs, Findings: fs, Total: len(fs), Limit: MarkdownLimit}
	if d.Command == "" {
		d.Command = "lint"
	}
	d.Errors, d.Warnings, d.Infos = Counts(fs)
	render := func() ([]byte, error) {
		var buf bytes.Buffer
		if err := t.Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("lint: markdown: %w", err)
		}
		return buf.Bytes(), nil
	}
	if o.Summary {
		s := Summarize(fs, summaryTop)
		d.Summary, d.Findings = &s, nil
	}
	out, err := render()
	if err != nil {
		return err
	}
	// Too long for a comment: summarise, and list as many findings as fit.
	for n := len(d.Findings); len(out) > MarkdownLimit && n > 0; {
		if d.Summary == nil {
			s := Summarize(fs, summaryTop)
			d.Summary = &s
		}
		n = n * MarkdownLimit / len(out) * 9 / 10
		d.Findings, d.Omitted = fs[:n], len(fs)-n
		if out, err = render(); err != nil {
			return err
		}
	}
	_, err = w.Write(out)
	return err
}

// sourceLines caches the lines of the files findings point into, to convert
// columns: positions count code points, SARIF columns (columnKind
// utf16CodeUnits) count UTF-16 code units, which differ after a character
// outside the Basic Multilingual Plane (an emoji counts two).
type sourceLines map[string][]string

// utf16Col returns p's column in UTF-16 code units, or p.Col unchanged when the
// file cannot be read or the line is not in it.
func (s sourceLines) utf16Col(p model.Pos) int {
	if p.Line <= 0 || p.Col <= 1 || p.File == "" {
		return p.Col
	}
	lines, ok := s[p.File]
	if !ok {
		if data, err := os.ReadFile(p.File); err == nil {
			lines = strings.Split(string(data), "\n")
		}
		s[p.File] = lines
	}
	if p.Line > len(lines) {
		return p.Col
	}
	units, n := 0, 0
	for _, r := range lines[p.Line-1] {
		if n == p.Col-1 {
			break
		}
		n++
		units += utf16.RuneLen(r)
	}
	return units + 1
}
