package lint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/idemgen/idemgen/generator/model"
)

// Baseline is a set of accepted findings, keyed by rule and operationId so
// that an entry survives path renames and line moves. It is stored as JSON:
//
//	{"version": 1, "entries": [{"rule": "...", "operationId": "...", "message": "..."}]}
//
// The message is kept for reviewers only; matching ignores it. A finding that
// is not about an operation is keyed by its JSON Pointer instead.
type Baseline struct {
	Version int             `json:"version"`
	Entries []BaselineEntry `json:"entries"`
}

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Rule        string `json:"rule"`
	OperationID string `json:"operationId,omitempty"`
	Pointer     string `json:"pointer,omitempty"`
	Message     string `json:"message,omitempty"`
}

func (e BaselineEntry) key() string {
	if e.OperationID != "" {
		return e.Rule + "\x00" + e.OperationID
	}
	return e.Rule + "\x00\x00" + e.Pointer
}

func entryOf(f Finding) BaselineEntry {
	e := BaselineEntry{Rule: f.Rule, OperationID: f.OperationID(), Message: f.Message}
	if e.OperationID == "" {
		e.Pointer = f.Pointer
	}
	return e
}

// NewBaseline returns a baseline accepting every finding in fs (one entry per
// rule and operation) except generator errors, sorted for stable diffs.
func NewBaseline(fs []Finding) *Baseline {
	b := &Baseline{Version: 1, Entries: []BaselineEntry{}}
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Rule == RuleBaselineStale || f.generatorError {
			continue
		}
		e := entryOf(f)
		if !seen[e.key()] {
			seen[e.key()] = true
			b.Entries = append(b.Entries, e)
		}
	}
	slices.SortFunc(b.Entries, func(x, y BaselineEntry) int { return strings.Compare(x.key(), y.key()) })
	return b
}

// LoadBaseline reads a baseline file.
func LoadBaseline(file string) (*Baseline, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("lint: baseline: %w", err)
	}
	b := &Baseline{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(b); err != nil {
		return nil, fmt.Errorf("lint: baseline %s: %w", file, err)
	}
	if b.Version != 1 {
		return nil, fmt.Errorf("lint: baseline %s: want version 1, got %d", file, b.Version)
	}
	for i, e := range b.Entries {
		if e.Rule == "" {
			return nil, fmt.Errorf("lint: baseline %s: entries[%d]: want a rule", file, i)
		}
	}
	return b, nil
}

// Write writes b as indented JSON to file.
func (b *Baseline) Write(file string) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("lint: baseline: %w", err)
	}
	if err := os.WriteFile(file, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("lint: baseline: %w", err)
	}
	return nil
}

// Filter removes the findings b accepts (never a generator error: generate
// would still reject the spec) and adds one info finding
// (RuleBaselineStale, located in file) for every entry that matched nothing.
func (b *Baseline) Filter(fs []Finding, file string) []Finding {
	if b == nil {
		return fs
	}
	accepted := map[string]bool{}
	for _, e := range b.Entries {
		accepted[e.key()] = false
	}
	var out []Finding
	for _, f := range fs {
		k := entryOf(f).key()
		if _, ok := accepted[k]; ok && !f.generatorError {
			accepted[k] = true
			continue
		}
		out = append(out, f)
	}
	for _, e := range b.Entries {
		if accepted[e.key()] {
			continue
		}
		accepted[e.key()] = true // report duplicates once
		who := "operation " + e.OperationID
		if e.OperationID == "" {
			who = "pointer " + e.Pointer
		}
		var op *model.Operation
		if e.OperationID != "" {
			// The entry names an operation the spec no longer has: keep its id
			// so the finding says which entry is stale.
			op = &model.Operation{ID: e.OperationID}
		}
		out = append(out, New(RuleBaselineStale, model.Info, op, model.Pos{File: file}, e.Pointer,
			fmt.Sprintf("baseline entry %s for %s matches no finding: remove it (--write-baseline)", e.Rule, who)))
	}
	Sort(out)
	return out
}
