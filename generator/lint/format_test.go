package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/model"
)

func sample() []Finding {
	op := &model.Operation{Method: "POST", Path: "/a", ID: "createA"}
	fs := []Finding{
		New(RuleDocErrors, model.Warning, op, model.Pos{File: "b.yaml", Line: 3, Col: 2}, "/paths/~1a/post/responses", "50% done,\nnext: line"),
		New(RuleMissing, model.Error, op, model.Pos{File: "a.yaml", Line: 10, Col: 4}, "/paths/~1a/post", "POST /a | b"),
		New("some-loader-rule", model.Info, nil, model.Pos{File: "a.yaml", Line: 2, Col: 1}, "", "m"),
	}
	Sort(fs)
	return fs
}

func write(t *testing.T, format string, fs []Finding) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, fs, Output{Command: "lint", Version: "v0.1.0", Rules: Rules(), Specs: []string{"a.yaml"}}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestText(t *testing.T) {
	got := write(t, "text", sample())
	want := "a.yaml:2:1: info some-loader-rule: m\n" +
		"a.yaml:10:4: error idempotency-missing: POST /a | b\n" +
		"b.yaml:3:2: warning doc-error-responses: 50% done,\nnext: line\n"
	if got != want {
		t.Fatalf("text:\n%s\nwant:\n%s", got, want)
	}
}

func TestJSONFields(t *testing.T) {
	// json-array is the old form: a bare array of findings.
	var got []map[string]any
	if err := json.Unmarshal([]byte(write(t, "json-array", sample())), &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		for _, k := range []string{"rule", "severity", "message", "file", "line", "column", "pointer", "method", "path", "operationId"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %v lacks %q", f, k)
			}
		}
	}
	if got[1]["line"].(float64) != 10 || got[1]["operationId"] != "createA" {
		t.Errorf("finding 1 = %v", got[1])
	}
	if strings.TrimSpace(write(t, "json-array", nil)) != "[]" {
		t.Error("no findings must be an empty array")
	}
}

// TestJSONEnvelope: --format json is a versioned envelope around the same
// findings.
func TestJSONEnvelope(t *testing.T) {
	var env struct {
		Version  int `json:"version"`
		Tool     struct{ Name, Version string }
		Command  string
		Specs    []string
		Counts   struct{ Errors, Warnings, Infos int }
		Findings []map[string]any
	}
	if err := json.Unmarshal([]byte(write(t, "json", sample())), &env); err != nil {
		t.Fatal(err)
	}
	if env.Version != JSONVersion || env.Tool.Name != "idemgen" || env.Tool.Version != "v0.1.0" || env.Command != "lint" ||
		len(env.Specs) != 1 || env.Counts.Errors != 1 || env.Counts.Warnings != 1 || env.Counts.Infos != 1 || len(env.Findings) != 3 {
		t.Fatalf("envelope = %+v", env)
	}
	if env.Findings[1]["operationId"] != "createA" {
		t.Errorf("finding 1 = %v", env.Findings[1])
	}
	if out := write(t, "json", nil); !strings.Contains(out, `"findings": []`) {
		t.Errorf("no findings must be an empty list:\n%s", out)
	}
}

func TestGitHub(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(write(t, "github", sample())), "\n")
	want := []string{
		"::notice file=a.yaml,line=2,col=1,title=idemgen some-loader-rule::m",
		"::error file=a.yaml,line=10,col=4,title=idemgen idempotency-missing::POST /a | b",
		"::warning file=b.yaml,line=3,col=2,title=idemgen doc-error-responses::50%25 done,%0Anext: line",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("github:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got := escapeProperty("a:b,c"); got != "a%3Ab%2Cc" {
		t.Errorf("escapeProperty = %q", got)
	}
}

// TestSARIFStructure checks what SARIF 2.1.0 requires and what GitHub code
// scanning reads: version, $schema, runs[].tool.driver.name and rules, and for
// each result ruleId, a ruleIndex pointing at that rule, level, message.text,
// a physical location with a relative URI and a 1-based region, and the
// partialFingerprints that keep alerts stable.
func TestSARIFStructure(t *testing.T) {
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string            `json:"id"`
						ShortDescription map[string]string `json:"shortDescription"`
						Default          map[string]string `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string            `json:"ruleId"`
				RuleIndex int               `json:"ruleIndex"`
				Level     string            `json:"level"`
				Message   map[string]string `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	fs := sample()
	fs = append(fs, New(RuleBaselineStale, model.Info, nil, model.Pos{File: "base.json"}, "", "stale"))
	dec := json.NewDecoder(strings.NewReader(write(t, "sarif", fs)))
	if err := dec.Decode(&log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || log.Schema != SARIFSchema || len(log.Runs) != 1 {
		t.Fatalf("header: %q %q %d runs", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "idemgen" {
		t.Errorf("driver name %q", run.Tool.Driver.Name)
	}
	ids := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		if r.ID == "" || r.ShortDescription["text"] == "" || r.Default["level"] == "" || ids[r.ID] {
			t.Errorf("bad or duplicate rule %+v", r)
		}
		ids[r.ID] = true
	}
	if len(run.Results) != len(fs) {
		t.Fatalf("%d results, want %d", len(run.Results), len(fs))
	}
	levels := map[string]bool{"error": true, "warning": true, "note": true}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s: ruleIndex %d does not point at its rule", r.RuleID, r.RuleIndex)
		}
		if !levels[r.Level] || r.Message["text"] == "" {
			t.Errorf("result %s: level %q message %q", r.RuleID, r.Level, r.Message["text"])
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %s: %d locations", r.RuleID, len(r.Locations))
		}
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI == "" || strings.HasPrefix(loc.ArtifactLocation.URI, "/") || loc.Region.StartLine < 1 {
			t.Errorf("result %s: location %+v", r.RuleID, loc)
		}
		if len(r.PartialFingerprints[FingerprintKey]) != 32 {
			t.Errorf("result %s: fingerprint %v", r.RuleID, r.PartialFingerprints)
		}
	}
	// The fingerprint depends on rule and operation only: moving the finding
	// (or renaming its path) keeps it.
	a, b := fs[1], fs[1]
	renamed := *b.Operation
	renamed.Path = "/renamed"
	b.Pos.Line, b.Operation, b.Pos.File = 99, &renamed, "other.yaml"
	if Fingerprint(a) != Fingerprint(b) {
		t.Error("fingerprint changed with position or path")
	}
	b.Rule = RuleDocErrors
	if Fingerprint(a) == Fingerprint(b) {
		t.Error("fingerprint ignores the rule")
	}
}

func TestSARIFAbsoluteFileBecomesRelative(t *testing.T) {
	wd, _ := os.Getwd()
	uri, base := artifactURI(filepath.Join(wd, "testdata", "x.yaml"))
	if uri != "testdata/x.yaml" || base != "%SRCROOT%" {
		t.Fatalf("artifactURI = %q %q", uri, base)
	}
	if uri, base := artifactURI("/elsewhere/x.yaml"); uri != "file:///elsewhere/x.yaml" || base != "" {
		t.Fatalf("artifactURI outside = %q %q", uri, base)
	}
}

func TestMarkdown(t *testing.T) {
	got := write(t, "markdown", sample())
	for _, want := range []string{"### idemgen lint: 1 error(s), 1 warning(s), 1 info", "| ❌ error | `idempotency-missing` | `createA` (POST `/a`) | `a.yaml:10` | POST /a \\| b |", "50% done, next: line"} {
		if !strings.Contains(got, want) {
			t.Errorf("markdown lacks %q:\n%s", want, got)
		}
	}
	if got := write(t, "markdown", nil); !strings.Contains(got, "no idempotency findings") {
		t.Errorf("clean markdown:\n%s", got)
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "xml", nil, Output{}); err == nil {
		t.Fatal("no error for an unknown format")
	}
}

func TestBaseline(t *testing.T) {
	fs := sample()
	b := NewBaseline(fs[:2])
	file := filepath.Join(t.TempDir(), "baseline.json")
	if err := b.Write(file); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBaseline(file)
	if err != nil {
		t.Fatal(err)
	}
	// A path rename and a line move keep the entry matching.
	moved := append([]Finding(nil), fs...)
	renamed := *moved[1].Operation
	renamed.Path = "/renamed"
	moved[1].Operation, moved[1].Pos.Line = &renamed, 77
	got := b.Filter(moved, file)
	if r := rules(got); len(r) != 1 || r[0] != RuleDocErrors {
		t.Fatalf("after baseline: %v", r)
	}
	// Fixing a baselined finding leaves a stale entry, reported as info.
	got = b.Filter(moved[2:], file)
	var stale []Finding
	for _, f := range got {
		if f.Rule == RuleBaselineStale {
			stale = append(stale, f)
		}
	}
	if len(stale) != 2 || stale[0].Severity != model.Info || stale[0].Pos.File != file {
		t.Fatalf("stale = %+v", stale)
	}
	for _, bad := range []string{`{"version":2,"entries":[]}`, `{"version":1,"entries":[{"operationId":"x"}]}`, `{"version":1,"bogus":1}`, `nope`} {
		os.WriteFile(file, []byte(bad), 0o644)
		if _, err := LoadBaseline(file); err == nil {
			t.Errorf("LoadBaseline(%s) = nil error", bad)
		}
	}
}

// TestSARIFColumnsUTF16: positions count code points; SARIF declares UTF-16
// code units, so a column after an emoji moves by one per emoji.
func TestSARIFColumnsUTF16(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(file, []byte("a: 1\ntitle: \"🎵🎵\" x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// "x" is the 13th code point of line 2, the 15th UTF-16 unit.
	fs := []Finding{New(RuleMissing, model.Error, nil, model.Pos{File: file, Line: 2, Col: 13}, "", "m")}
	out := write(t, "sarif", fs)
	if !strings.Contains(out, `"startColumn": 15`) {
		t.Errorf("SARIF column not in UTF-16 units:\n%s", out)
	}
	if got := (sourceLines{}).utf16Col(model.Pos{File: file, Line: 1, Col: 3}); got != 3 {
		t.Errorf("ASCII line: column %d, want 3", got)
	}
}

// TestSummary: counts per rule (most first) and the operations with the most
// findings, in text, markdown and github.
func TestSummary(t *testing.T) {
	var fs []Finding
	for i := 0; i < 30; i++ {
		op := &model.Operation{Method: "POST", Path: fmt.Sprintf("/op%d", i%12), ID: fmt.Sprintf("op%d", i%12)}
		fs = append(fs, New(RuleMissing, model.Error, op, model.Pos{File: "a.yaml", Line: i + 1, Col: 1}, "", "missing"))
	}
	fs = append(fs, New(RuleDocErrors, model.Warning, nil, model.Pos{File: "a.yaml", Line: 99, Col: 1}, "", "docs"))
	Sort(fs)
	s := Summarize(fs, 10)
	if len(s.Rules) != 2 || s.Rules[0].Rule != RuleMissing || s.Rules[0].Count != 30 || s.Rules[1].Count != 1 {
		t.Fatalf("rules %+v", s.Rules)
	}
	if len(s.Operations) != 10 || s.Operations[0].Count != 3 {
		t.Fatalf("operations %+v", s.Operations)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "text", fs, Output{Summary: true}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.HasPrefix(got, "31 finding(s): 30 error(s), 1 warning(s), 0 info\n") ||
		!strings.Contains(got, "    30  error   idempotency-missing (first: a.yaml:1:1)") || strings.Count(got, "\n") != 14 {
		t.Errorf("text summary:\n%s", got)
	}
	buf.Reset()
	if err := Write(&buf, "github", fs, Output{Summary: true}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); strings.Count(got, "::") != 4 || !strings.Contains(got, "::30 findings of idempotency-missing; the first: missing") {
		t.Errorf("github summary:\n%s", got)
	}
	buf.Reset()
	if err := Write(&buf, "markdown", fs, Output{Summary: true}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, "| `idempotency-missing` | ❌ error | 30 |") || strings.Contains(got, "| Location |") {
		t.Errorf("markdown summary:\n%s", got)
	}
}

// TestMarkdownStaysUnderTheCommentLimit: thousands of findings (Stripe without
// x-idempotent) are summarised, and only as many rows as fit are listed.
func TestMarkdownStaysUnderTheCommentLimit(t *testing.T) {
	var fs []Finding
	for i := 0; i < 2000; i++ {
		op := &model.Operation{Method: "POST", Path: fmt.Sprintf("/v1/resources/%d/actions", i), ID: fmt.Sprintf("PostResourcesAction%d", i)}
		fs = append(fs, New(RuleMissing, model.Error, op, model.Pos{File: "stripe.yaml", Line: i + 1, Col: 5}, "",
			fmt.Sprintf("POST /v1/resources/%d/actions has no x-idempotent: make it idempotent or waive it with a reason", i)))
	}
	got := write(t, "markdown", fs)
	if len(got) > MarkdownLimit {
		t.Fatalf("markdown is %d characters, over %d", len(got), MarkdownLimit)
	}
	if !strings.Contains(got, "| `idempotency-missing` | ❌ error | 2000 |") || !strings.Contains(got, "more finding(s) not listed") {
		t.Errorf("no summary or omission note:\n%s", got[:min(len(got), 2000)])
	}
	if short := write(t, "markdown", fs[:3]); strings.Contains(short, "not listed") || strings.Contains(short, "| Findings |") {
		t.Errorf("a short report must list every finding and no summary:\n%s", short)
	}
}
