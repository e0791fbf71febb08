package loader

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
	if doc := ix.yaml; doc != nil {
		ix.yaml = nil
		if out, ok := yamlToJSON(doc, make([]byte, 0, len(data))); ok {
			return out
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

// yamlToJSON appends to dst the JSON form of a parsed YAML document, as
// kin-openapi would produce it from the same bytes: kin tries JSON first and
// otherwise decodes the YAML into generic values (timestamps kept as strings),
// turns keys into strings and marshals that to JSON, a second YAML parse of
// the whole spec plus a generic tree and a JSON encoding, most of the cost of
// loading a large YAML spec. Here the tree the index already parsed is
// written out directly. Members keep their document order (kin decodes them
// into maps and structs, so order is not observable).
//
// It reports false for what it does not convert exactly like kin (aliases,
// merge keys, duplicate keys, custom tags, binary, NaN and infinities, keys
// that are not scalars or are null): the caller then passes the file as it is
// and kin decides, as before.
func yamlToJSON(doc *yaml.Node, dst []byte) ([]byte, bool) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, false
	}
	return appendYAMLJSON(dst, doc.Content[0])
}

func appendYAMLJSON(dst []byte, n *yaml.Node) ([]byte, bool) {
	ok := true
	switch n.Kind {
	case yaml.MappingNode:
		dst = append(dst, '{')
		var seen map[string]bool
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, ok := yamlKey(n.Content[i])
			if !ok {
				return nil, false
			}
			if n.Content[i].ShortTag() == "!!merge" {
				return nil, false
			}
			if len(n.Content) > 16 {
				if seen == nil {
					seen = make(map[string]bool, len(n.Content)/2)
				}
				if seen[k] {
					return nil, false
				}
				seen[k] = true
			} else {
				for j := 0; j < i; j += 2 {
					if pk, _ := yamlKey(n.Content[j]); pk == k {
						return nil, false
					}
				}
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			if dst, ok = appendYAMLJSON(dst, n.Content[i+1]); !ok {
				return nil, false
			}
		}
		return append(dst, '}'), true
	case yaml.SequenceNode:
		dst = append(dst, '[')
		for i, c := range n.Content {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendYAMLJSON(dst, c); !ok {
				return nil, false
			}
		}
		return append(dst, ']'), true
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return appendJSONString(dst, n.Value), true
		case "!!null":
			return append(dst, "null"...), true
		case "!!bool", "!!int", "!!float":
			var v any
			if n.Decode(&v) != nil {
				return nil, false
			}
			if f, isFloat := v.(float64); isFloat && (math.IsNaN(f) || math.IsInf(f, 0)) {
				return nil, false
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, false
			}
			return append(dst, b...), true
		}
	}
	return nil, false // aliases, custom tags, binary
}

// yamlKey is the JSON member name of a mapping key, as kin's YAML conversion
// makes it.
func yamlKey(k *yaml.Node) (string, bool) {
	if k.Kind != yaml.ScalarNode {
		return "", false
	}
	switch k.ShortTag() {
	case "!!str", "!!merge":
		return k.Value, true
	case "!!int", "!!float", "!!bool":
		var v any
		if k.Decode(&v) != nil {
			return "", false
		}
		switch v := v.(type) {
		case int:
			return strconv.Itoa(v), true
		case int64:
			return strconv.FormatInt(v, 10), true
		case float64:
			return strconv.FormatFloat(v, 'g', -1, 64), true
		case bool:
			return strconv.FormatBool(v), true
		}
	}
	return "", false
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD,
// as encoding/json writes it.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
