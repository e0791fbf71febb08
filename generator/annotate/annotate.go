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
	a := &annotator{api: api, root: doc.Content[0], res: &Result{}}
	for _, op := range api.Operations {
		if op.Idempotent() {
			a.operation(op)
		}
	}
	if a.needProblem {
		a.ensureProblemSchema()
	}
	var buf bytes.Buffer
	if isJSON(src) {
		writeJSON(&buf, a.root, 0)
		buf.WriteByte('\n')
	} else {
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("annotate: %w", err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("annotate: %w", err)
		}
	}
	a.res.Data = buf.Bytes()
	return a.res, nil
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
				r.Headers = map[string]headerDoc{"Retry-After": {Description: "Seconds to wait before retrying.", Schema: schemaDoc{Type: "integer"}}}
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

func (a *annotator) replayedHeader(op *model.Operation, n *yaml.Node, p idempotency.Policy) {
	resps := mapGet(n, "responses")
	for _, r := range op.Responses {
		if !strings.HasPrefix(r.Status, "2") || !lint.Cached(p, r.Status) {
			continue
		}
		declared := false
		for _, h := range r.Headers {
			declared = declared || strings.EqualFold(h.Name, lint.ReplayedHeader)
		}
		if declared {
			continue
		}
		rn := mapGet(resps, r.Status)
		if rn == nil || rn.Kind != yaml.MappingNode {
			continue
		}
		if mapGet(rn, "$ref") != nil {
			a.skip(op, "response %s is a $ref: declare %s in the referenced response", r.Status, lint.ReplayedHeader)
			continue
		}
		headers := mapGet(rn, "headers")
		if headers == nil {
			headers = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			mapSet(rn, "headers", headers)
		}
		if headers.Kind != yaml.MappingNode {
			continue
		}
		mapSet(headers, lint.ReplayedHeader, encode(headerDoc{
			Description: "\"true\" when this response is a replay of an earlier request with the same idempotency key.",
			Schema:      schemaDoc{Type: "string", Pattern: "^true$"},
		}))
		a.changed = true
	}
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
