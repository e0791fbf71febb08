package annotate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/generator/policydoc"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

const specYAML = `openapi: 3.0.3
info: {title: Pay, version: "1"}
paths:
  /payments:
    post:
      operationId: create
      description: Creates a payment.
      responses:
        "201":
          description: created
    get:
      operationId: list
      responses:
        "200": {description: ok}
`

// modelFor is the model the loader builds for specYAML, before and after
// annotation (the parts annotate reads).
func modelFor(src []byte) *model.API {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		panic(err)
	}
	op := &model.Operation{ID: "create", Method: "POST", Path: "/payments", Pointer: "/paths/~1payments/post"}
	opNode := lookup(doc.Content[0], op.Pointer)
	var params []*yaml.Node
	if n := mapGet(opNode, "parameters"); n != nil {
		params = n.Content
	}
	for _, p := range params {
		op.Params = append(op.Params, &model.Param{Name: mapGet(p, "name").Value, In: model.ParamIn(mapGet(p, "in").Value)})
	}
	resps := mapGet(opNode, "responses")
	for i := 0; i+1 < len(resps.Content); i += 2 {
		r := &model.Response{Status: resps.Content[i].Value}
		rn := resps.Content[i+1]
		if h := mapGet(rn, "headers"); h != nil {
			for j := 0; j < len(h.Content); j += 2 {
				r.Headers = append(r.Headers, &model.Param{Name: h.Content[j].Value, In: model.InHeader})
			}
		}
		if c := mapGet(rn, "content"); c != nil {
			for j := 0; j < len(c.Content); j += 2 {
				r.Contents = append(r.Contents, &model.Content{MediaType: c.Content[j].Value})
			}
		}
		op.Responses = append(op.Responses, r)
	}
	op.Idempotency = &model.Extension{Enabled: true, Policy: idempotency.Policy{
		Operation: "create", TTL: 2 * time.Hour, Scope: []string{"principal"}, Key: idempotency.Key{Format: idempotency.FormatUUID},
	}}
	list := &model.Operation{ID: "list", Method: "GET", Path: "/payments", Pointer: "/paths/~1payments/get"}
	return &model.API{File: "", Operations: []*model.Operation{list, op}}
}

func TestAnnotateYAML(t *testing.T) {
	src := []byte(specYAML)
	res, err := Annotate(modelFor(src), src)
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Data)
	for _, want := range []string{
		"name: Idempotency-Key", "in: header", "required: true", "format: uuid", "maxLength: 255",
		`"400":`, `"409":`, `"422":`, "application/problem+json", "$ref: '#/components/schemas/IdempotencyProblem'",
		"Retry-After", "Idempotent-Replayed:", "IdempotencyProblem:",
		"Creates a payment.", "**Idempotency:** Send a unique `Idempotency-Key` header (required; at most 255 characters, a UUID); a retry with the same key within 2h replays",
		"scoped per the authenticated caller", "different method, path, query or body gets 422.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if res.Changed != 1 || len(res.Skipped) != 0 {
		t.Errorf("changed %d, skipped %v", res.Changed, res.Skipped)
	}
	// The GET operation is untouched.
	if strings.Count(out, "Idempotency-Key") != 2 { // parameter + sentence
		t.Errorf("Idempotency-Key appears %d times:\n%s", strings.Count(out, "Idempotency-Key"), out)
	}
	// Running it on its own output changes nothing.
	again, err := Annotate(modelFor(res.Data), res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data, res.Data) || again.Changed != 0 {
		t.Fatalf("second run changed the document (changed=%d):\n%s\n---\n%s", again.Changed, res.Data, again.Data)
	}
}

func TestAnnotateJSONKeepsJSONAndOrder(t *testing.T) {
	var v any
	yaml.Unmarshal([]byte(specYAML), &v)
	src, _ := json.MarshalIndent(v, "", "  ")
	res, err := Annotate(modelFor(src), src)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(res.Data) {
		t.Fatalf("not JSON:\n%s", res.Data)
	}
	if !strings.Contains(string(res.Data), `"in": "header"`) || !strings.Contains(string(res.Data), `"required": true`) || !strings.Contains(string(res.Data), `"maxLength": 255`) {
		t.Errorf("JSON output lacks the key parameter:\n%s", res.Data)
	}
	again, err := Annotate(modelFor(res.Data), res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data, res.Data) {
		t.Fatalf("second run changed the JSON document")
	}
}

func TestSentenceVariants(t *testing.T) {
	cases := []struct {
		p    idempotency.Policy
		want []string
	}{
		{idempotency.Policy{Key: idempotency.Key{Derive: []string{"/user_id", "/bill_date"}}, Fingerprint: []string{}},
			[]string{"derives the idempotency key from /user_id, /bill_date", "within 24h", "shared by all callers", "not compared"}},
		{idempotency.Policy{Key: idempotency.Key{Query: "rid", Optional: true}, TTL: 90 * time.Minute, Scope: []string{"header:X-Tenant"}, Fingerprint: []string{"/amount"}},
			[]string{"`rid` query parameter (optional", "within 1h30m", "scoped per header X-Tenant", "different /amount gets 422"}},
	}
	for _, tc := range cases {
		s := policydoc.Sentence(tc.p)
		if !strings.HasPrefix(s, policydoc.DescriptionMarker+" ") || strings.Count(s, ". ") > 0 {
			t.Errorf("not one marked sentence: %q", s)
		}
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("Sentence lacks %q: %q", w, s)
			}
		}
	}
	if got := policydoc.WithSentence("Intro.\n\n**Idempotency:** old.\n\nMore.", "**Idempotency:** new."); got != "Intro.\n\nMore.\n\n**Idempotency:** new." {
		t.Errorf("withSentence = %q", got)
	}
}

func TestMarkdown(t *testing.T) {
	api := modelFor([]byte(specYAML))
	api.Title = "Pay"
	api.Operations = append(api.Operations,
		&model.Operation{ID: "audit", Method: "POST", Path: "/audit", Idempotency: &model.Extension{Reason: "append-only | harmless"}},
		&model.Operation{ID: "raw", Method: "PATCH", Path: "/raw"})
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, api); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# Idempotency policies of Pay",
		"| `create` | POST | `/payments` | header Idempotency-Key | yes | 2h | principal | method, path, query, body | reject | 2xx, 3xx, 4xx | 400, 409, 422 |",
		"| `audit` | POST | `/audit` | append-only \\| harmless |",
		"- PATCH /raw (raw)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestAnnotateSkipsWhatItCannotEdit(t *testing.T) {
	src := []byte(`openapi: 3.0.3
info: {title: Pay, version: "1"}
paths:
  /payments:
    post:
      operationId: create
      responses:
        "201": {$ref: "#/components/responses/Created"}
  /other:
    $ref: "other.yaml#/paths/~1other"
components:
  responses:
    Created: {description: created}
`)
	op := &model.Operation{ID: "create", Method: "POST", Path: "/payments", Pointer: "/paths/~1payments/post",
		Responses:   []*model.Response{{Status: "201"}},
		Idempotency: &model.Extension{Enabled: true}}
	other := &model.Operation{ID: "other", Method: "POST", Path: "/other", Pointer: "/paths/~1other/post",
		Pos: model.Pos{File: "other.yaml", Line: 3}, Idempotency: &model.Extension{Enabled: true}}
	res, err := Annotate(&model.API{File: "api.yaml", Operations: []*model.Operation{op, other}}, src)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(res.Skipped, "\n")
	for _, want := range []string{"POST /payments (create): response 201 is a $ref", "POST /other (other): defined in other.yaml"} {
		if !strings.Contains(got, want) {
			t.Errorf("skipped lacks %q:\n%s", want, got)
		}
	}
	// The referenced component is not edited (other operations share it).
	if !strings.Contains(string(res.Data), "Created: {description: created}") {
		t.Errorf("a shared $ref'd response was edited:\n%s", res.Data)
	}
	if res.Changed != 1 {
		t.Errorf("changed = %d, want 1 (the parameter, errors and description of create)", res.Changed)
	}
}

// TestAnnotateKeepsTheAuthorsFormatting: annotating in place must make a small
// pull request. Every line of the source outside the annotated operation's
// description survives byte for byte, in order: flow mappings keep their
// spaces, quotes stay as written, comments stay, and 4-space indentation
// is kept for the added nodes too. (A node annotate adds to, such as a
// response written as a flow mapping, is written anew.)
func TestAnnotateKeepsTheAuthorsFormatting(t *testing.T) {
	for name, src := range map[string]string{
		"two spaces": `openapi: 3.0.3
info: { title: Payments, version: '1' }   # a comment
tags: [ 'header:X', "double" ]
paths:
  /payments:
    post:
      operationId: create
      description: Creates a payment.
      responses:
        '201':
          description: created
        '400':
          description:   'bad'
    get:
      operationId: list
      responses:
        "200": {description: ok}
`,
		"four spaces": `openapi: 3.0.3
info:
    title: Payments
    version: "1"
paths:
    /payments:
        post:
            operationId: create
            description: Creates a payment.
            responses:
                '201':
                    description: created
        get:
            operationId: list
            responses:
                "200": {description: ok}
`,
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Annotate(modelFor([]byte(src)), []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			out := strings.Split(string(res.Data), "\n")
			k := 0
			for _, line := range strings.Split(src, "\n") {
				if strings.Contains(line, "description: Creates a payment.") {
					continue // the description is annotate's to rewrite
				}
				for k < len(out) && out[k] != line {
					k++
				}
				if k == len(out) {
					t.Fatalf("source line %q is not kept (in order) in the output:\n%s", line, res.Data)
				}
				k++
			}
			if !strings.Contains(string(res.Data), "Idempotent-Replayed") {
				t.Errorf("not annotated:\n%s", res.Data)
			}
			again, err := Annotate(modelFor(res.Data), res.Data)
			if err != nil || !bytes.Equal(again.Data, res.Data) {
				t.Errorf("second run changed the document: %v\n%s", err, again.Data)
			}
		})
	}
}
