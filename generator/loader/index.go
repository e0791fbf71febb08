package loader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/model"
)

// node is the position of one value in a file: where its key starts (for a
// mapping entry) and where the value itself starts.
type node struct {
	keyLine, keyCol int32
	valLine, valCol int32
	kind            valueKind
}

// valueKind is the JSON kind of a value, as encoding/json names it in its
// "cannot unmarshal <kind> into ..." errors.
type valueKind uint8

const (
	kindUnknown valueKind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindBool
	kindNull
)

var kindNames = map[string]valueKind{
	"object": kindObject, "array": kindArray, "string": kindString,
	"number": kindNumber, "bool": kindBool, "null": kindNull,
}

func (k valueKind) String() string {
	for name, v := range kindNames {
		if v == k {
			return name
		}
	}
	return "value"
}

// jsonKind is the kind of a token of encoding/json's tokenizer.
func jsonKind(tok json.Token) valueKind {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('{') {
			return kindObject
		}
		return kindArray
	case string:
		return kindString
	case json.Number, float64:
		return kindNumber
	case bool:
		return kindBool
	}
	return kindNull
}

// yamlKind is the JSON kind a YAML node becomes.
func yamlKind(n *yaml.Node) valueKind {
	switch n.Kind {
	case yaml.MappingNode:
		return kindObject
	case yaml.SequenceNode:
		return kindArray
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return kindNumber
		case "!!bool":
			return kindBool
		case "!!null":
			return kindNull
		}
		return kindString
	}
	return kindUnknown
}

// index maps the JSON Pointer of every value of one file to its position. It is
// built in one linear pass over the file, because kin-openapi records no
// positions for JSON documents nor for anything inside an extension value.
type index struct {
	file  string // as shown in diagnostics
	nodes map[string]node
}

// pos returns the position of the node at ptr, or of its nearest ancestor that
// exists, finally of the file alone. A mapping entry is located at its key (where
// a reader looks, and where "ttl: 10s" or "post:" begins), a sequence item or the
// document root at its value.
func (ix *index) pos(ptr string) model.Pos {
	if ix == nil {
		return model.Pos{}
	}
	for {
		if n, ok := ix.nodes[ptr]; ok {
			if n.keyLine > 0 {
				return model.Pos{File: ix.file, Line: int(n.keyLine), Col: int(n.keyCol)}
			}
			return model.Pos{File: ix.file, Line: int(n.valLine), Col: int(n.valCol)}
		}
		if ptr == "" {
			return model.Pos{File: ix.file}
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			ptr = ""
			continue
		}
		ptr = ptr[:i]
	}
}

// has reports whether ptr names a value of the file.
func (ix *index) has(ptr string) bool {
	_, ok := ix.nodes[ptr]
	return ok
}

// escapeToken escapes one JSON Pointer reference token (RFC 6901).
func escapeToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// buildIndex indexes data, a YAML or JSON document. JSON is read with a JSON
// tokenizer (faster than a YAML parser and exact about JSON's escapes); anything
// else with yaml.v3. The error is located ("file:line:col: ...").
func buildIndex(file string, data []byte) (*index, error) {
	ix := &index{file: file, nodes: make(map[string]node, bytes.Count(data, []byte("\n"))+1)}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		jerr := ix.indexJSON(data)
		if jerr == nil {
			return ix, nil
		}
		// Not JSON after all? YAML flow style starts the same way.
		clear(ix.nodes)
		if ix.indexYAML(data) == nil {
			return ix, nil
		}
		clear(ix.nodes)
		return ix, jerr
	}
	return ix, ix.indexYAML(data)
}

// lineCounter converts increasing byte offsets to 1-based line and column in
// amortised constant time.
type lineCounter struct {
	data      []byte
	off       int
	line, col int
}

func (lc *lineCounter) at(off int) (int32, int32) {
	if off < lc.off { // never happens with a tokenizer; stay correct anyway
		lc.off, lc.line, lc.col = 0, 1, 1
	}
	for ; lc.off < off && lc.off < len(lc.data); lc.off++ {
		if lc.data[lc.off] == '\n' {
			lc.line++
			lc.col = 1
		} else if lc.data[lc.off]&0xC0 != 0x80 { // count runes, not bytes
			lc.col++
		}
	}
	return int32(lc.line), int32(lc.col)
}

// indexJSON walks data with encoding/json's tokenizer, iteratively (a deeply
// nested document cannot exhaust the goroutine stack).
func (ix *index) indexJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	lc := &lineCounter{data: data, line: 1, col: 1}
	start := func() int {
		off := int(dec.InputOffset())
		for off < len(data) {
			switch data[off] {
			case ' ', '\t', '\r', '\n', ',', ':':
				off++
				continue
			}
			break
		}
		return off
	}
	type frame struct {
		ptr       string
		object    bool
		wantValue bool // in an object: the next token is a value, not a key
		n         int  // in an array: the next index
	}
	var stack []frame
	var key string
	var kl, kc int32
	for {
		off := start()
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 {
				l, c := lc.at(len(data))
				return fmt.Errorf("%s:%d:%d: unexpected end of JSON: %d object(s) or array(s) left open (is the file truncated?)", ix.file, l, c, len(stack))
			}
			return nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				l, c := lc.at(int(se.Offset))
				return fmt.Errorf("%s:%d:%d: %v", ix.file, l, c, err)
			}
			return fmt.Errorf("%s: %v", ix.file, err)
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		line, col := lc.at(off)
		var ptr string
		var n node
		if len(stack) == 0 {
			n = node{valLine: line, valCol: col}
		} else {
			top := &stack[len(stack)-1]
			if top.object {
				if !top.wantValue {
					key, _ = tok.(string)
					kl, kc = line, col
					top.wantValue = true
					continue
				}
				top.wantValue = false
				ptr = top.ptr + "/" + escapeToken(key)
				n = node{keyLine: kl, keyCol: kc, valLine: line, valCol: col}
			} else {
				ptr = top.ptr + "/" + strconv.Itoa(top.n)
				top.n++
				n = node{valLine: line, valCol: col}
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{ptr: ptr, object: true})
		case json.Delim('['):
			stack = append(stack, frame{ptr: ptr})
		}
		n.kind = jsonKind(tok)
		ix.nodes[ptr] = n
	}
}

// indexYAML walks the yaml.v3 node tree of data. Aliases are indexed where they
// are written and not expanded, so an alias bomb costs nothing.
func (ix *index) indexYAML(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s:%s", ix.file, locateYAMLError(err))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	type item struct {
		ptr    string
		n      *yaml.Node
		kl, kc int
	}
	stack := []item{{n: doc.Content[0]}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v := it.n
		ix.nodes[it.ptr] = node{
			keyLine: int32(it.kl), keyCol: int32(it.kc),
			valLine: int32(v.Line), valCol: int32(v.Column),
			kind: yamlKind(v),
		}
		switch v.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(v.Content); i += 2 {
				k := v.Content[i]
				stack = append(stack, item{ptr: it.ptr + "/" + escapeToken(k.Value), n: v.Content[i+1], kl: k.Line, kc: k.Column})
			}
		case yaml.SequenceNode:
			for i, c := range v.Content {
				stack = append(stack, item{ptr: it.ptr + "/" + strconv.Itoa(i), n: c})
			}
		}
	}
	return nil
}

// locateYAMLError turns yaml.v3's "yaml: line 5: did not find ..." into
// "5:1: did not find ...", so that the caller's "file:" prefix makes a located
// error; an unlocated message gets a leading space.
func locateYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if _, err := strconv.Atoi(rest[:i]); err == nil {
				return rest[:i] + ":1:" + rest[i+1:]
			}
		}
	}
	return " " + msg
}
