// Package annotate writes a copy of an OpenAPI document in which every
// idempotent operation documents its policy for other tools (Swagger UI,
// Redoc, other generators): the key parameter, the 400/409/422 problem+json
// responses, the Idempotent-Replayed response header and one sentence of ttl,
// scope and fingerprint in the description. It reads the policy from the
// loaded model, so it documents exactly what "idemgen generate" enforces.
// Annotating an annotated document changes nothing.
package annotate

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/generator/policydoc"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// ProblemSchema is the components.schemas name annotate adds (when absent) for
// the runtime's problem+json errors.
const ProblemSchema = "IdempotencyProblem"

// Result is an annotated document.
type Result struct {
	// Data is the annotated document, in the input's syntax (YAML or JSON).
	Data []byte
	// Skipped explains the operations (or parts) that could not be annotated,
	// e.g. because they live in another file or are a $ref.
	Skipped []string
	// Changed counts the operations that were modified.
	Changed int
	// Reformatted reports that the source's own formatting could not be kept
	// (YAML whose layout the encoder cannot reproduce line for line, or JSON):
	// the whole document was written by the encoder.
	Reformatted bool
}

// Annotate annotates src, the root document that api was loaded from. JSON
// input (first non-space byte '{') gives JSON output, anything else YAML.
func Annotate(api *model.API, src []byte) (*Result, error) {
	doc := &yaml.Node{}
	var err error
	if isJSON(src) {
		doc, err = parseJSON(src)
	} else {
		err = yaml.Unmarshal(src, doc)
	}
	if err != nil {
		return nil, fmt.Errorf("annotate: %s: %w", api.File, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("annotate: %s: want a mapping at the document root", api.File)
	}
	json := isJSON(src)
	indent := yamlIndent(src)
	var before []byte
	if !json {
		// The document as the encoder writes it before any edit: the lines
		// annotate did not touch are found by comparing with it.
		if before, err = encodeYAML(doc, indent); err != nil {
			return nil, err
		}
	}
	a := &annotator{api: api, root: doc.Content[0], res: &Result{}}
	// Webhooks and callbacks are annotated like operations: their pointers
	// name their operation objects too.
	for _, ops := range [][]*model.Operation{api.Operations, api.Receivers()} {
		for _, op := range ops {
			if op.Idempotent() {
				a.operation(op)
			}
		}
	}
	if a.needProblem {
		a.ensureProblemSchema()
	}
	if json {
		var buf bytes.Buffer
		writeJSON(&buf, a.root, 0)
		buf.WriteByte('\n')
		a.res.Data = buf.Bytes()
		a.res.Reformatted = !bytes.Equal(a.res.Data, src)
		return a.res, nil
	}
	after, err := encodeYAML(doc, indent)
	if err != nil {
		return nil, err
	}
	a.res.Data = after
	if a.res.Changed == 0 && !a.needProblem {
		a.res.Data = src // nothing to add: the file as it is
	} else if kept := preserve(src, before, after); kept != nil {
		a.res.Data = kept
	} else {
		a.res.Reformatted = true
	}
	return a.res, nil
}

func encodeYAML(doc *yaml.Node, indent int) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(indent)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlIndent guesses the indentation step of a YAML file: the smallest
// indentation of a line (2 when none is indented, or the guess is odd).
func yamlIndent(src []byte) int {
	step := 0
	for _, line := range strings.Split(string(src), "\n") {
		t := strings.TrimLeft(line, " ")
		if n := len(line) - len(t); n > 0 && t != "" && !strings.HasPrefix(t, "#") && (step == 0 || n < step) {
			step = n
		}
	}
	if step < 2 || step > 8 {
		return 2
	}
	return step
}

// preserve keeps the source text of every node annotate did not change.
// before and after are the encoder's rendering of the document without and
// with the annotations. The lines of before are mapped to the source lines of
// the same nodes (by walking the source's and before's node trees together);
// where after continues an unchanged stretch of before, the source text of
// those nodes is written (with its blank lines, comments, flow style, quoting
// and spacing), and only added or changed nodes come from after. The result
// must mean the same as after, or preserve gives up (nil) and the caller keeps
// the re-encoded document.
func preserve(src, before, after []byte) []byte {
	var srcDoc, beforeDoc yaml.Node
	if yaml.Unmarshal(src, &srcDoc) != nil || yaml.Unmarshal(before, &beforeDoc) != nil {
		return nil
	}
	orig := splitLines(src)
	b0, b1 := splitLines(before), splitLines(after)

	// start[i] is the source line (0-based) of the first node on line i of
	// before, or -1; kept increasing so that segments do not overlap.
	start := make([]int, len(b0))
	for i := range start {
		start[i] = -1
	}
	var walk func(a, b *yaml.Node)
	walk = func(a, b *yaml.Node) {
		if a.Kind != b.Kind {
			return
		}
		if b.Line > 0 && b.Line <= len(b0) && start[b.Line-1] < 0 && a.Line > 0 {
			start[b.Line-1] = a.Line - 1
		}
		for i := 0; i < len(a.Content) && i < len(b.Content); i++ {
			walk(a.Content[i], b.Content[i])
		}
	}
	walk(&srcDoc, &beforeDoc)
	last := -1
	for i, st := range start {
		if st <= last {
			start[i] = -1
			continue
		}
		last = st
	}
	if len(start) > 0 {
		start[0] = 0 // the header comments and the first node
	}
	// unit[i] is the first line of the run of before's lines that line i
	// belongs to: a mapped line and the unmapped lines after it.
	unit := make([]int, len(b0))
	for i := range b0 {
		if start[i] >= 0 || i == 0 {
			unit[i] = i
		} else {
			unit[i] = unit[i-1]
		}
	}
	// segment returns the source lines of the unit starting at line u.
	segment := func(u int) []string {
		end := len(orig)
		for k := u + 1; k < len(b0); k++ {
			if start[k] >= 0 {
				end = start[k]
				break
			}
		}
		return orig[start[u]:end]
	}

	// Align before with after: match[j] is the line of before that line j of
	// after continues, or -1 for a line annotate added or changed.
	match, matched := align(b0, b1)
	// A unit is kept when all its lines are.
	unitKept := make([]bool, len(b0))
	for u := range b0 {
		if unit[u] != u {
			continue
		}
		ok := true
		for k := u; k < len(b0) && unit[k] == u; k++ {
			ok = ok && matched[k]
		}
		unitKept[u] = ok
	}
	var out []string
	for j, line := range b1 {
		m := match[j]
		switch {
		case m < 0 || !unitKept[unit[m]]:
			out = append(out, line)
		case unit[m] == m:
			out = append(out, segment(m)...)
		}
	}
	kept := []byte(strings.Join(out, "\n") + "\n")
	if !sameYAML(kept, after) {
		return nil
	}
	return kept
}

// align matches the lines of after with those of before (patience diff):
// common leading and trailing lines match; in between, lines that occur once
// in each are anchors (their longest run increasing in both), and the gaps
// between anchors are aligned the same way. match[j] is the line of before
// that line j of after is, or -1; matched[i] says whether line i of before has
// a match.
func align(before, after []string) (match []int, matched []bool) {
	match = make([]int, len(after))
	for j := range match {
		match[j] = -1
	}
	matched = make([]bool, len(before))
	link := func(i, j int) { match[j], matched[i] = i, true }
	var rec func(i0, i1, j0, j1, depth int)
	rec = func(i0, i1, j0, j1, depth int) {
		for i0 < i1 && j0 < j1 && before[i0] == after[j0] {
			link(i0, j0)
			i0, j0 = i0+1, j0+1
		}
		for i0 < i1 && j0 < j1 && before[i1-1] == after[j1-1] {
			link(i1-1, j1-1)
			i1, j1 = i1-1, j1-1
		}
		if i0 == i1 || j0 == j1 || depth > 64 {
			return
		}
		type count struct{ n0, n1, j int }
		counts := map[string]*count{}
		for i := i0; i < i1; i++ {
			c := counts[before[i]]
			if c == nil {
				c = &count{}
				counts[before[i]] = c
			}
			c.n0++
		}
		for j := j0; j < j1; j++ {
			if c := counts[after[j]]; c != nil {
				c.n1++
				c.j = j
			}
		}
		var pairs [][2]int
		for i := i0; i < i1; i++ {
			if c := counts[before[i]]; c.n0 == 1 && c.n1 == 1 {
				pairs = append(pairs, [2]int{i, c.j})
			}
		}
		if len(pairs) == 0 {
			return
		}
		pi, pj := i0, j0
		for _, a := range lis(pairs) {
			rec(pi, a[0], pj, a[1], depth+1)
			link(a[0], a[1])
			pi, pj = a[0]+1, a[1]+1
		}
		rec(pi, i1, pj, j1, depth+1)
	}
	rec(0, len(before), 0, len(after), 0)
	return match, matched
}

// lis returns the longest subsequence of pairs (sorted by [0]) increasing in
// [1].
func lis(pairs [][2]int) [][2]int {
	var tails []int // index into pairs of the smallest tail of each length
	prev := make([]int, len(pairs))
	for k, p := range pairs {
		n := sort.Search(len(tails), func(x int) bool { return pairs[tails[x]][1] >= p[1] })
		if n > 0 {
			prev[k] = tails[n-1]
		} else {
			prev[k] = -1
		}
		if n == len(tails) {
			tails = append(tails, k)
		} else {
			tails[n] = k
		}
	}
	out := make([][2]int, len(tails))
	for k, n := tails[len(tails)-1], len(tails)-1; n >= 0 && len(tails) > 0; k, n = prev[k], n-1 {
		out[n] = pairs[k]
	}
	return out
}

func splitLines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

// sameYAML reports whether a and b decode to the same value.
func sameYAML(a, b []byte) bool {
	var va, vb any
	if yaml.Unmarshal(a, &va) != nil || yaml.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func isJSON(src []byte) bool {
	t := bytes.TrimLeft(src, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '{'
}

type annotator struct {
	api         *model.API
	root        *yaml.Node
	res         *Result
	needProblem bool
	changed     bool
}

func (a *annotator) skip(op *model.Operation, format string, args ...any) {
	a.res.Skipped = append(a.res.Skipped, fmt.Sprintf("%s %s (%s): ", op.Method, op.Path, op.ID)+fmt.Sprintf(format, args...))
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return true
	}
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}

func (a *annotator) operation(op *model.Operation) {
	if !sameFile(op.Pos.File, a.api.File) {
		a.skip(op, "defined in %s, not in the root document", op.Pos.File)
		return
	}
	n := lookup(a.root, op.Pointer)
	if n == nil || n.Kind != yaml.MappingNode {
		a.skip(op, "no operation object at %s (a $ref'd path item?)", op.Pointer)
		return
	}
	a.changed = false
	p := op.Idempotency.Policy
	a.keyParam(op, n, p.Key)
	a.errorResponses(op, n, p)
	a.retryAfter(op, n)
	a.replayedHeader(op, n, p)
	a.description(n, p)
	if a.changed {
		a.res.Changed++
	}
}

type schemaDoc struct {
	Type      string `yaml:"type"`
	Format    string `yaml:"format,omitempty"`
	Pattern   string `yaml:"pattern,omitempty"`
	MinLength int    `yaml:"minLength,omitempty"`
	MaxLength int    `yaml:"maxLength,omitempty"`
}

type paramDoc struct {
	Name        string    `yaml:"name"`
	In          string    `yaml:"in"`
	Required    bool      `yaml:"required"`
	Description string    `yaml:"description"`
	Schema      schemaDoc `yaml:"schema"`
}

func keySchema(k idempotency.Key) schemaDoc {
	s := schemaDoc{Type: "string", MinLength: 1, MaxLength: policydoc.MaxLength(k)}
	switch k.Format {
	case idempotency.FormatUUID:
		s.Format = "uuid"
	case idempotency.FormatULID:
		s.Pattern = "^[0-9A-HJKMNP-TV-Z]{26}$"
	case idempotency.FormatPattern:
		s.Pattern = k.Pattern
	default:
		// Printable ASCII, as the runtime accepts.
		s.Pattern = "^[\\x21-\\x7E]+$"
	}
	return s
}

func (a *annotator) keyParam(op *model.Operation, n *yaml.Node, k idempotency.Key) {
	in, name := keyParam(k)
	if in == "" {
		return
	}
	for _, p := range op.Params {
		if p.In == in && (p.Name == name || (in == model.InHeader && strings.EqualFold(p.Name, name))) {
			return
		}
	}
	desc := "Idempotency key: a unique value per logical operation, reused on every retry of it (IETF draft-ietf-httpapi-idempotency-key-header)."
	if k.Optional {
		desc += " Without it the request is not deduplicated."
	}
	params := mapGet(n, "parameters")
	if params == nil {
		params = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		mapSet(n, "parameters", params)
	}
	if params.Kind != yaml.SequenceNode {
		a.skip(op, "parameters is not a list")
		return
	}
	params.Content = append(params.Content, encode(paramDoc{
		Name: name, In: string(in), Required: !k.Optional, Description: desc, Schema: keySchema(k),
	}))
	a.changed = true
}

type mediaDoc struct {
	Schema struct {
		Ref string `yaml:"$ref"`
	} `yaml:"schema"`
}

type headerDoc struct {
	Description string    `yaml:"description"`
	Schema      schemaDoc `yaml:"schema"`
}

type responseDoc struct {
	Description string               `yaml:"description"`
	Headers     map[string]headerDoc `yaml:"headers,omitempty"`
	Content     map[string]mediaDoc  `yaml:"content"`
}

var errorDescriptions = map[string]string{
	"400": "The idempotency key is missing or malformed.",
	"409": "A request with the same idempotency key is still in flight; retry after Retry-After seconds.",
	"422": "The idempotency key was already used with a different request.",
}

func problemMedia() mediaDoc {
	var m mediaDoc
	m.Schema.Ref = "#/components/schemas/" + ProblemSchema
	return m
}

func (a *annotator) errorResponses(op *model.Operation, n *yaml.Node, p idempotency.Policy) {
	resps := mapGet(n, "responses")
	if resps == nil {
		resps = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		mapSet(n, "responses", resps)
	}
	if resps.Kind != yaml.MappingNode {
		a.skip(op, "responses is not a mapping")
		return
	}
	for _, code := range lint.ErrorStatuses(p) {
		existing := mapGet(resps, code)
		if existing == nil {
			r := responseDoc{Description: errorDescriptions[code], Content: map[string]mediaDoc{lint.ProblemJSON: problemMedia()}}
			if code == "409" {
				r.Headers = map[string]headerDoc{retryAfterHeader: retryAfterDoc}
			}
			mapSet(resps, code, encode(r))
			a.needProblem, a.changed = true, true
			continue
		}
		if mapGet(existing, "$ref") != nil {
			if !hasProblem(op, code) {
				a.skip(op, "response %s is a $ref without %s; document it in the referenced response", code, lint.ProblemJSON)
			}
			continue
		}
		if hasProblem(op, code) {
			continue
		}
		content := mapGet(existing, "content")
		if content == nil {
			content = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			mapSet(existing, "content", content)
		}
		if content.Kind == yaml.MappingNode && mapGet(content, lint.ProblemJSON) == nil {
			mapSet(content, lint.ProblemJSON, encode(problemMedia()))
			a.needProblem, a.changed = true, true
		}
	}
}

func hasProblem(op *model.Operation, code string) bool {
	for _, r := range op.Responses {
		if r.Status != code {
			continue
		}
		for _, c := range r.Contents {
			if strings.EqualFold(c.MediaType, lint.ProblemJSON) {
				return true
			}
		}
	}
	return false
}

const retryAfterHeader = "Retry-After"

// retryAfterDoc declares the Retry-After header the runtime sends with a 409
// for a request still in flight.
var retryAfterDoc = headerDoc{Description: "Seconds to wait before retrying.", Schema: schemaDoc{Type: "integer"}}

// retryAfter declares Retry-After on a 409 response the spec already has
// (errorResponses declares it on a 409 it adds), which lint's doc-retry-after
// asks for.
func (a *annotator) retryAfter(op *model.Operation, n *yaml.Node) {
	for _, r := range op.Responses {
		if r.Status == "409" {
			a.declareHeader(op, n, r, retryAfterHeader, retryAfterDoc)
		}
	}
}

func (a *annotator) replayedHeader(op *model.Operation, n *yaml.Node, p idempotency.Policy) {
	for _, r := range op.Responses {
		if strings.HasPrefix(r.Status, "2") && lint.Cached(p, r.Status) {
			a.declareHeader(op, n, r, lint.ReplayedHeader, headerDoc{
				Description: "\"true\" when this response is a replay of an earlier request with the same idempotency key.",
				Schema:      schemaDoc{Type: "string", Pattern: "^true$"},
			})
		}
	}
}

// declareHeader adds header name to response r of the operation node n,
// unless r declares it already; a $ref'd response is skipped (the referenced
// one may be shared by operations of other policies).
func (a *annotator) declareHeader(op *model.Operation, n *yaml.Node, r *model.Response, name string, doc headerDoc) {
	if slices.ContainsFunc(r.Headers, func(h *model.Param) bool { return strings.EqualFold(h.Name, name) }) {
		return
	}
	rn := mapGet(mapGet(n, "responses"), r.Status)
	if rn == nil || rn.Kind != yaml.MappingNode {
		return
	}
	if mapGet(rn, "$ref") != nil {
		a.skip(op, "response %s is a $ref: declare %s in the referenced response", r.Status, name)
		return
	}
	headers := mapGet(rn, "headers")
	if headers == nil {
		headers = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		mapSet(rn, "headers", headers)
	}
	if headers.Kind != yaml.MappingNode {
		return
	}
	mapSet(headers, name, encode(doc))
	a.changed = true
}

func (a *annotator) description(n *yaml.Node, p idempotency.Policy) {
	d := mapGet(n, "description")
	old := ""
	if d != nil {
		old = d.Value
	}
	desc := policydoc.WithSentence(old, policydoc.Sentence(p))
	if desc == old {
		return
	}
	if d == nil {
		d = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str"}
		mapSet(n, "description", d)
	}
	d.Kind, d.Tag, d.Value = yaml.ScalarNode, "!!str", desc
	if strings.Contains(desc, "\n") {
		d.Style = yaml.LiteralStyle
	}
	a.changed = true
}

func (a *annotator) ensureProblemSchema() {
	components := mapGet(a.root, "components")
	if components == nil {
		components = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		mapSet(a.root, "components", components)
	}
	schemas := mapGet(components, "schemas")
	if schemas == nil {
		schemas = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		mapSet(components, "schemas", schemas)
	}
	if mapGet(schemas, ProblemSchema) != nil {
		return
	}
	type prop struct {
		Type        string `yaml:"type"`
		Format      string `yaml:"format,omitempty"`
		Description string `yaml:"description"`
	}
	type problem struct {
		Type        string `yaml:"type"`
		Description string `yaml:"description"`
		Properties  struct {
			Type     prop `yaml:"type"`
			Title    prop `yaml:"title"`
			Status   prop `yaml:"status"`
			Detail   prop `yaml:"detail"`
			Instance prop `yaml:"instance"`
		} `yaml:"properties"`
	}
	var pr problem
	pr.Type = "object"
	pr.Description = "An RFC 9457 problem detail, as the idempotency runtime writes it."
	pr.Properties.Type = prop{Type: "string", Format: "uri-reference", Description: "A URI identifying the problem type."}
	pr.Properties.Title = prop{Type: "string", Description: "A short summary of the problem type."}
	pr.Properties.Status = prop{Type: "integer", Description: "The HTTP status code."}
	pr.Properties.Detail = prop{Type: "string", Description: "An explanation of this occurrence."}
	pr.Properties.Instance = prop{Type: "string", Format: "uri-reference", Description: "A URI identifying this occurrence."}
	mapSet(schemas, ProblemSchema, encode(pr))
}
