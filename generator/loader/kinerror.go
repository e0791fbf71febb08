package loader

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// kin-openapi decodes documents with encoding/json, whose type errors name the
// kind found and the Go field or type expected, but no position ("cannot
// unmarshal array into value of type openapi3.Schema"). The position is
// recovered from our own index: the first value, in document order, of that
// kind under that key.
var typeError = regexp.MustCompile(`cannot unmarshal (\w+)(?: (\S+))? into (?:Go struct )?(?:field ([\w.$-]+)|(?:Go )?value) of type ([\w.\[\]*]+)`)

// schemaKeys are the keys whose value is one schema; schemaMaps the keys whose
// members are schemas; schemaLists the keys whose items are schemas.
var (
	schemaKeys = map[string]bool{
		"schema": true, "items": true, "not": true, "additionalProperties": true,
		"additionalItems": true, "contains": true, "if": true, "then": true, "else": true,
		"propertyNames": true, "unevaluatedItems": true, "unevaluatedProperties": true,
		"contentSchema": true,
	}
	schemaMaps  = map[string]bool{"properties": true, "patternProperties": true, "schemas": true, "$defs": true, "definitions": true, "dependentSchemas": true}
	schemaLists = map[string]bool{"allOf": true, "anyOf": true, "oneOf": true, "prefixItems": true}
)

// locateTypeError returns a located message for a kin-openapi type error, or
// false when msg is not one or no value of the document matches it.
func (b *builder) locateTypeError(msg string, files []string) (string, bool) {
	m := typeError.FindStringSubmatch(msg)
	if m == nil {
		return "", false
	}
	kind, ok := kindNames[m[1]]
	if !ok {
		return "", false
	}
	detail, key, goType := m[2], "", m[4]
	if m[3] != "" {
		key = m[3][strings.LastIndexByte(m[3], '.')+1:]
	}
	for _, f := range files {
		ix, err := b.indexOf(f)
		if err != nil || ix == nil {
			continue
		}
		best, found := "", false
		var bn node
		for ptr, n := range ix.nodes {
			if n.kind != kind || !typeErrorCandidate(ptr, key, goType) {
				continue
			}
			if !found || n.keyLine < bn.keyLine || (n.keyLine == bn.keyLine && n.keyCol < bn.keyCol) ||
				(n.keyLine == bn.keyLine && n.keyCol == bn.keyCol && ptr < best) {
				best, bn, found = ptr, n, true
			}
		}
		if !found {
			continue
		}
		name := ptrLast(best)
		want := strings.TrimPrefix(goType, "openapi3.")
		got := article(kind) + " " + kind.String()
		if detail != "" {
			got += " (" + detail + ")"
		}
		text := fmt.Sprintf("%q holds %s where kin-openapi expects %s", name, got, describeGoType(want))
		return fmt.Sprintf("%s: %s", ix.pos(best), text), true
	}
	return "", false
}

// typeErrorCandidate reports whether the value at ptr could be the one a type
// error is about: under the named key, or, when the error names only the Go
// type, where a value of that type lives.
func typeErrorCandidate(ptr, key, goType string) bool {
	last := ptrLast(ptr)
	if key != "" {
		return last == key
	}
	if !strings.HasSuffix(goType, "Schema") {
		return false
	}
	parent := ptrLast(ptr[:max(strings.LastIndexByte(ptr, '/'), 0)])
	if schemaKeys[last] || schemaMaps[parent] {
		return true
	}
	if _, err := strconv.Atoi(last); err == nil {
		return schemaLists[parent]
	}
	return false
}

func describeGoType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["):
		return "an object"
	case strings.HasPrefix(t, "uint"):
		return "a non-negative integer"
	case strings.HasPrefix(t, "int"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool":
		return "a boolean"
	}
	return "an object (" + t + ")"
}

func article(k valueKind) string {
	if k == kindObject || k == kindArray {
		return "an"
	}
	return "a"
}

// ptrLast is the unescaped last token of a JSON Pointer ("" for the root).
func ptrLast(ptr string) string {
	if ptr == "" {
		return ""
	}
	return lastToken(loc{ptr: ptr})
}
