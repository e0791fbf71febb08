package loader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
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
	json  bool // the file was read as JSON (not YAML)
	// yaml is the parsed YAML document until kinInput has converted it for
	// kin-openapi (then nil, so that the tree can be collected).
	yaml *yaml.Node
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
			ix.json = true
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
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// The file ends inside a token (a string cut short): the
			// token's start is where the damage shows.
			l, c := lc.at(off)
			return fmt.Errorf("%s:%d:%d: unexpected end of JSON inside this value: %d object(s) or array(s) left open (is the file truncated?)", ix.file, l, c, len(stack))
		}
		if err != nil {
			return ix.jsonSyntaxError(data, off, err)
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

// jsonSyntaxError locates a tokenizer error. The offset of a Decoder's
// SyntaxError is not always absolute (it can count from the start of the
// value being read), so the place comes from a scan of the whole input, whose
// offsets are (json.Unmarshal checks the syntax before it decodes anything); a
// string that is not closed on its line is located at its
// opening quote, off.
func (ix *index) jsonSyntaxError(data []byte, off int, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("%s: %v", ix.file, err)
	}
	var scan *json.SyntaxError
	if errors.As(json.Unmarshal(data, &struct{}{}), &scan) {
		se = scan
	}
	at := int(se.Offset)
	msg := se.Error()
	if strings.HasPrefix(msg, "invalid character") && at > 0 {
		at-- // the offset counts the offending byte itself
	}
	if strings.HasSuffix(msg, "in string literal") && off < len(data) && data[off] == '"' && at > off {
		at = off
		msg += " (this string is not closed on its line)"
	}
	lc := &lineCounter{data: data, line: 1, col: 1}
	l, c := lc.at(at)
	return fmt.Errorf("%s:%d:%d: %s", ix.file, l, c, msg)
}

// indexYAML walks the yaml.v3 node tree of data. Aliases are indexed where they
// are written and not expanded, so an alias bomb costs nothing.
func (ix *index) indexYAML(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s:%s", ix.file, locateYAMLError(err, data))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	ix.yaml = &doc
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
// "7:12: did not find ...", so that the caller's "file:" prefix makes a located
// error; an unlocated message gets a leading space.
//
// yaml.v3 reports the line where the enclosing block started (its "context
// mark"), often far above the fault, and no column; its parser keeps the exact
// place private. The place comes from syntaxPos instead, trusted only when it
// is not above yaml.v3's line (both parsers then agree the fault is there);
// otherwise it is yaml.v3's line at its first non-blank character.
func locateYAMLError(err error, data []byte) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return " " + msg
	}
	i := strings.IndexByte(rest, ':')
	if i <= 0 {
		return " " + msg
	}
	line, err := strconv.Atoi(rest[:i])
	if err != nil {
		return " " + msg
	}
	text := rest[i+1:]
	if l, c, why, ok := syntaxPos(data); ok && l >= line {
		if strings.Contains(text, "unexpected end of stream") {
			// yaml.v3 says only that the file ended; the other parser
			// says what was left open (a quote, mostly).
			text += " (" + why + ")"
		}
		return fmt.Sprintf("%d:%d:%s", l, c, text)
	}
	return fmt.Sprintf("%d:%d:%s", line, firstNonBlank(data, line), text)
}

// firstNonBlank is the 1-based column of the first character of a line that
// is not a space or a tab (1 for a blank or missing line): where yaml.v3's
// line-only errors most likely point.
func firstNonBlank(data []byte, line int) int {
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return 1
		}
		data = data[i+1:]
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	for col, c := range data {
		if c != ' ' && c != '\t' && c != '\r' {
			return col + 1
		}
	}
	return 1
}

// syntaxPos returns the position of the first syntax error of data as
// goccy/go-yaml's parser finds it (a position, unlike yaml.v3's, at the
// offending token). It runs only after yaml.v3 has rejected data, so a valid
// spec never pays for a second parse.
func syntaxPos(data []byte) (line, col int, msg string, ok bool) {
	defer func() {
		if recover() != nil { // a bug of the second parser must not crash the load
			ok = false
		}
	}()
	_, err := goccyparser.ParseBytes(data, 0)
	var se *goccy.SyntaxError
	if !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil {
		return 0, 0, "", false
	}
	return se.Token.Position.Line, se.Token.Position.Column, se.Message, se.Token.Position.Line > 0
}
