package loader

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/model"
)

// kinInput returns the bytes kin-openapi decodes for the file abs: the file as
// it is, or a copy with the constructs real specs use but kin cannot decode
// rewritten to their OpenAPI 3.1 form. Positions still come from the original
// file's index; only kin sees the copy.
//
// Rewritten: "items: [a, b]" (the draft-04 tuple form, which kin rejects with
// an unlocated type error) becomes "prefixItems: [a, b]".
//
// JSON is handed over compacted. kin decodes every object once per level of
// nesting (its UnmarshalJSON methods re-validate and re-decode their whole
// subtree, once for the fields and once for the extensions), so the
// indentation of a pretty-printed spec, 40% of the bytes of the large corpus
// specs, was scanned over and over; kin keeps no JSON positions, so nothing
// is lost.
func (b *builder) kinInput(abs string, data []byte) []byte {
	ix, err := b.indexOf(abs)
	if err != nil || ix == nil {
		return data
	}
	if out := b.rewriteTuples(abs, data, ix); out != nil {
		return out
	}
	if ix.json {
		var buf bytes.Buffer
		buf.Grow(len(data))
		if json.Compact(&buf, data) == nil {
			return buf.Bytes()
		}
	}
	return data
}

// rewriteTuples returns data with tuple "items" renamed to "prefixItems" (see
// kinInput), or nil when it has none.
func (b *builder) rewriteTuples(abs string, data []byte, ix *index) []byte {
	tuples := map[string]bool{}
	for ptr, n := range ix.nodes {
		if n.kind == kindArray && ptrLast(ptr) == "items" && inSchemaContext(ptr) && !ix.has(parentPtr(ptr)+"/prefixItems") {
			tuples[ptr] = true
		}
	}
	if len(tuples) == 0 {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	renameKeys(doc.Content[0], "", tuples, "prefixItems")
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil
	}
	ptrs := make([]string, 0, len(tuples))
	for p := range tuples {
		ptrs = append(ptrs, p)
	}
	slices.Sort(ptrs)
	for _, p := range ptrs {
		b.report(model.Warning, RuleSchemaUntyped, loc{file: abs, ptr: p}, nil,
			"schema: items as an array (the draft-04 tuple form) is read as prefixItems")
	}
	return out
}

// inSchemaContext reports whether ptr can be a schema keyword: not inside
// example data, defaults, enums, consts or extensions, where "items" is data.
func inSchemaContext(ptr string) bool {
	for _, tok := range strings.Split(ptr, "/") {
		switch {
		case tok == "example", tok == "examples", tok == "default", tok == "enum", tok == "const",
			strings.HasPrefix(tok, "x-"):
			return false
		}
	}
	return true
}

// renameKeys renames the mapping keys whose value's pointer is in at.
func renameKeys(n *yaml.Node, ptr string, at map[string]bool, to string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := ptr + "/" + escapeToken(k.Value)
			if at[p] {
				k.Value = to
			}
			renameKeys(v, p, at, to)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			renameKeys(c, ptr+"/"+strconv.Itoa(i), at, to)
		}
	}
}
