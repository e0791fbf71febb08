package loader

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idemgen/idemgen/generator/model"
)

// Rule ids of the loader's own diagnostics (x-idempotent rules are in package
// extension).
const (
	// RuleOpenAPIInvalid: the document breaks an OpenAPI rule the generator
	// depends on, e.g. a path variable without a path parameter (error).
	RuleOpenAPIInvalid = "openapi-invalid"
	// RuleSchemaUntyped: a schema construct that cannot be typed precisely falls
	// back to KindAny (warning).
	RuleSchemaUntyped = "schema-untyped"
	// RuleSchemaFreeForm: an object schema that declares no properties (or
	// only an untyped additionalProperties) becomes map[string]json.RawMessage:
	// its members are not checked (warning).
	RuleSchemaFreeForm = "schema-free-form"
	// RuleSchemaAny: a schema with no type ({}, description only, type null)
	// becomes json.RawMessage: any JSON value is accepted (warning).
	RuleSchemaAny = "schema-any"
	// RuleOperationIDDuplicate: two operations share an operationId; the second
	// gets a suffixed ID (error).
	RuleOperationIDDuplicate = "operation-id-duplicate"
	// RuleOperationUnsupported: an operation the model cannot hold (the OpenAPI
	// 3.2 QUERY method, additionalOperations, a callback of a webhook or
	// callback) is skipped (warning).
	RuleOperationUnsupported = "operation-unsupported"
)

// Load reads the OpenAPI document at path and builds its model. It returns an
// error only when the document cannot be loaded at all (unreadable, not YAML or
// JSON, not OpenAPI 3, an unresolvable $ref); the error is located
// ("file:line:col: ...") when the place is known. Everything else, x-idempotent
// errors and warnings included, is reported in api.Diagnostics, and the model
// is complete as far as the document allows. Only local files are read: a $ref
// to a URL is an error.
func Load(ctx context.Context, path string) (*model.API, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("loader: %v", err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("loader: %v", err)
	}
	b := newBuilder(ctx, path, abs)
	b.files[abs] = data
	// The index also checks the syntax, with a better located error than
	// kin-openapi's.
	if _, err := b.indexOf(abs); err != nil {
		return nil, fmt.Errorf("loader: %v", err)
	}
	doc, err := b.loadKin(abs)
	if err != nil {
		return nil, fmt.Errorf("loader: %s", b.locateError(err))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	if err := b.build(doc); err != nil {
		return nil, err
	}
	return b.api, nil
}

// loadKin runs kin-openapi's loader, reading only local files (through the
// builder's cache, so each file is read once) and turning a panic on malformed
// input into an error.
func (b *builder) loadKin(abs string) (doc *openapi3.T, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%s: kin-openapi failed on this document: %v", b.api.File, r)
		}
	}()
	if err := b.checkVersion(abs); err != nil {
		return nil, err
	}
	l := openapi3.NewLoader()
	l.Context = b.ctx
	l.IsExternalRefsAllowed = true
	l.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if (u.Scheme != "" && u.Scheme != "file") || u.Host != "" {
			return nil, fmt.Errorf("$ref to %q: only local files are supported", u.String())
		}
		p := filepath.FromSlash(u.Path)
		if data, ok := b.files[p]; ok {
			return b.kinInput(p, data), nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		b.files[p] = data
		return b.kinInput(p, data), nil
	}
	return l.LoadFromFile(abs)
}

// checkVersion rejects documents that are not OpenAPI 3 before kin-openapi
// misreads them, with the position of the version field.
func (b *builder) checkVersion(abs string) error {
	ix, _ := b.indexOf(abs)
	pos := ix.pos("")
	if ix.has("/swagger") {
		return fmt.Errorf("%s: Swagger (OpenAPI 2.0) documents are not supported; convert it to OpenAPI 3 first", ix.pos("/swagger"))
	}
	if !ix.has("/openapi") {
		return fmt.Errorf("%s: not an OpenAPI document: want a top-level \"openapi: 3.x\" field", pos)
	}
	return nil
}

var (
	quoted   = regexp.MustCompile(`"((?:[^"\\]|\\.)+)"`)
	pathLike = regexp.MustCompile(`/[^\s:"]+\.(?:ya?ml|json)`)
)

// find returns the 1-based line and column of the first occurrence of needle in
// data, only on lines that contain "$ref" when refOnly is set.
func find(data []byte, needle string, refOnly bool) (line, col int, ok bool) {
	for n, l := range strings.Split(string(data), "\n") {
		if refOnly && !strings.Contains(l, "$ref") {
			continue
		}
		if i := strings.Index(l, needle); i >= 0 {
			return n + 1, i + 1, true
		}
	}
	return 0, 0, false
}

// locateError prefixes a kin-openapi error with the position of the first
// quoted value in it (typically a $ref) that occurs in one of the read files.
func (b *builder) locateError(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, b.api.File+":") {
		return msg
	}
	files := make([]string, 0, len(b.files))
	for f := range b.files {
		files = append(files, f)
	}
	slices.SortFunc(files, func(x, y string) int {
		// The root first, then the others by name.
		return cmp.Or(cmp.Compare(boolInt(x != b.abs), boolInt(y != b.abs)), cmp.Compare(x, y))
	})
	if located, ok := b.locateTypeError(msg, files); ok {
		return located
	}
	var needles []string
	for _, m := range quoted.FindAllStringSubmatch(msg, 8) {
		needles = append(needles, m[1])
	}
	for _, m := range pathLike.FindAllString(msg, 8) {
		needles = append(needles, filepath.Base(m))
	}
	// Prefer a line that holds a $ref: the error is almost always about one.
	for _, refOnly := range []bool{true, false} {
		for _, needle := range needles {
			for _, f := range files {
				if line, col, ok := find(b.files[f], needle, refOnly); ok {
					return fmt.Sprintf("%s:%d:%d: %s", b.display(f), line, col, msg)
				}
			}
		}
	}
	return b.api.File + ": " + msg
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// display is how diagnostics name a file: the root as the user gave it, other
// files relative to it.
func (b *builder) display(abs string) string {
	if abs == b.abs {
		return b.api.File
	}
	rel, err := filepath.Rel(filepath.Dir(b.abs), abs)
	if err != nil {
		return abs
	}
	return filepath.Join(filepath.Dir(b.api.File), rel)
}

// indexOf returns the position index of a file, building it on first use.
func (b *builder) indexOf(abs string) (*index, error) {
	if ix, ok := b.idx[abs]; ok {
		return ix, b.idxErr[abs]
	}
	data, ok := b.files[abs]
	if !ok {
		var err error
		data, err = os.ReadFile(abs)
		if err != nil {
			ix := &index{file: b.display(abs), nodes: map[string]node{}}
			b.idx[abs], b.idxErr[abs] = ix, err
			return ix, err
		}
		b.files[abs] = data
	}
	ix, err := buildIndex(b.display(abs), data)
	b.idx[abs], b.idxErr[abs] = ix, err
	return ix, err
}
