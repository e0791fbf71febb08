package loader

import (
	"cmp"
	"context"
	"fmt"
	"go/token"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/model"
)

// ValidateExtension is the operation extension that turns the generated
// request validation off for one operation (x-idemgen-validate: false).
const ValidateExtension = "x-idemgen-validate"

// loc is where a node lives: an absolute file path and a JSON Pointer in it.
type loc struct {
	file string
	ptr  string
}

// at returns the location of a descendant.
func (l loc) at(tokens ...string) loc {
	var sb strings.Builder
	sb.WriteString(l.ptr)
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(escapeToken(t))
	}
	return loc{l.file, sb.String()}
}

func (l loc) key() string { return l.file + "#" + l.ptr }

// builder holds the state of one Load.
type builder struct {
	ctx    context.Context
	abs    string // the root document
	api    *model.API
	files  map[string][]byte
	idx    map[string]*index
	idxErr map[string]error
	diags  []model.Diagnostic

	schemas   map[string]*model.Schema // by loc.key(): each location converted once
	named     []*model.Schema          // schemas that get a Go type name, in discovery order
	goNames   map[*model.Schema]string // x-go-name overrides
	inAllOf   map[string]bool          // allOf merges in progress (cycle guard)
	opGoNames []opGoName               // x-go-name overrides of operations
	// derivedIDs are the operations without an operationId.
	derivedIDs map[*model.Operation]bool
}

func newBuilder(ctx context.Context, path, abs string) *builder {
	return &builder{
		ctx:     ctx,
		abs:     abs,
		api:     &model.API{File: path},
		files:   map[string][]byte{},
		idx:     map[string]*index{},
		idxErr:  map[string]error{},
		schemas: map[string]*model.Schema{},
		goNames: map[*model.Schema]string{},
		inAllOf: map[string]bool{},

		derivedIDs: map[*model.Operation]bool{},
	}
}

// pos returns the position of l.
func (b *builder) pos(l loc) model.Pos {
	ix, _ := b.indexOf(l.file)
	return ix.pos(l.ptr)
}

// follow returns the location a $ref (written at from) points to. A ref to
// another file is resolved against the directory of from's file.
func (b *builder) follow(from loc, ref string) loc {
	if ref == "" {
		return from
	}
	file, frag, _ := strings.Cut(ref, "#")
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if file == "" {
		return loc{from.file, frag}
	}
	if u, err := url.Parse(file); err == nil && u.Scheme != "" && u.Scheme != "file" {
		return loc{file, frag} // never read: kin-openapi already refused it
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(from.file), filepath.FromSlash(file))
	}
	return loc{filepath.Clean(file), frag}
}

func (b *builder) report(sev model.Severity, rule string, l loc, op *model.Operation, format string, args ...any) {
	b.diags = append(b.diags, model.Diagnostic{
		Pos:       b.pos(l),
		Severity:  sev,
		Rule:      rule,
		Pointer:   l.ptr,
		Message:   fmt.Sprintf(format, args...),
		Operation: op,
	})
}

// methods in the model's order.
var methods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

func operationOf(pi *openapi3.PathItem, method string) *openapi3.Operation {
	switch method {
	case "GET":
		return pi.Get
	case "PUT":
		return pi.Put
	case "POST":
		return pi.Post
	case "DELETE":
		return pi.Delete
	case "OPTIONS":
		return pi.Options
	case "HEAD":
		return pi.Head
	case "PATCH":
		return pi.Patch
	case "TRACE":
		return pi.Trace
	}
	return nil
}

func (b *builder) build(doc *openapi3.T) error {
	root := loc{b.abs, ""}
	api := b.api
	api.OpenAPI = doc.OpenAPI
	if doc.Info != nil {
		api.Title, api.Version, api.Description = doc.Info.Title, doc.Info.Version, doc.Info.Description
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return fmt.Errorf("loader: %s: want OpenAPI 3.0 or 3.1, got openapi %q", b.pos(root.at("openapi")), doc.OpenAPI)
	}
	// kin-openapi's doc.Validate is not run: it re-validates every referenced
	// schema from each use (quadratic on chains of $refs, measured), and what the
	// generator needs is checked here in linear passes instead.
	b.security(doc)

	if _, ok := doc.Extensions[extension.Name]; ok {
		b.report(model.Warning, extension.RuleMisplaced, root.at(extension.Name), nil,
			"x-idempotent at the document root has no effect: put it on operations, and defaults in x-idempotent-defaults")
	}
	if v, ok := doc.Extensions[extension.DefaultsName]; ok {
		dl := root.at(extension.DefaultsName)
		ext, diags := extension.ParseDefaults(b.extInput(v, dl))
		api.Defaults = ext
		b.diags = append(b.diags, diags...)
	}

	// Component schemas first, by name, so they keep their own names.
	if doc.Components != nil {
		for _, name := range sortedKeys(doc.Components.Schemas) {
			l := root.at("components", "schemas", name)
			s := b.convert(doc.Components.Schemas[name], l, ident(name), name)
			if s != nil && s.Name == "" {
				s.Name = name
				b.named = append(b.named, s)
			}
		}
	}
	if doc.Paths != nil {
		if err := b.operations(doc, root); err != nil {
			return err
		}
	}
	if err := b.webhooks(doc, root); err != nil {
		return err
	}
	b.nameSchemas()
	b.nameOperations()
	AssignGoNames(api)
	for _, op := range api.Operations {
		b.idempotency(op)
	}
	for _, op := range api.Receivers() {
		b.idempotency(op)
	}
	b.finishDiagnostics()
	return nil
}

// sortedKeys gives a deterministic order to a map's keys.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// extInput wraps an extension value found at l for package extension.
func (b *builder) extInput(v any, l loc) extension.Input {
	ix, _ := b.indexOf(l.file)
	return extension.Input{
		Value:   v,
		Pointer: l.ptr,
		Pos:     func(rel string) model.Pos { return ix.pos(l.ptr + rel) },
	}
}

func (b *builder) operations(doc *openapi3.T, root loc) error {
	paths := doc.Paths.Map()
	for _, path := range sortedKeys(paths) {
		if err := b.ctx.Err(); err != nil {
			return fmt.Errorf("loader: %w", err)
		}
		pi := paths[path]
		if pi == nil {
			continue
		}
		pl := b.follow(root.at("paths", path), pi.Ref)
		tmpl := b.template(path, root.at("paths", path))
		if _, ok := pi.Extensions[extension.Name]; ok {
			b.report(model.Warning, extension.RuleMisplaced, pl.at(extension.Name), nil,
				"x-idempotent on the path item %s has no effect: put it on each operation", path)
		}
		for _, method := range methods {
			op := operationOf(pi, method)
			if op == nil {
				continue
			}
			m := b.operation(path, tmpl, method, pi, pl, op, nil)
			b.api.Operations = append(b.api.Operations, m)
			b.callbacks(m, op, pl.at(strings.ToLower(method)))
		}
		// OpenAPI 3.2 methods have no net/http route pattern support here yet.
		if pi.Query != nil {
			b.report(model.Warning, RuleOperationUnsupported, pl.at("query"), nil, "QUERY %s: the OpenAPI 3.2 QUERY method is not supported; the operation is skipped", path)
		}
		for _, m := range sortedKeys(pi.AdditionalOperations) {
			b.report(model.Warning, RuleOperationUnsupported, pl.at("additionalOperations", m), nil, "%s %s: additional operations are not supported; the operation is skipped", m, path)
		}
	}
	return nil
}

// template parses a path template (the key at l), reporting its problems once
// for all the path's operations.
func (b *builder) template(path string, l loc) model.Route {
	tmpl, problems := parseTemplate(path)
	if !strings.HasPrefix(path, "/") {
		b.report(model.Warning, RuleOpenAPIInvalid, l, nil, "path %q does not start with /: it is served as %q", path, "/"+path)
	}
	for _, p := range problems {
		b.report(model.Error, RuleOpenAPIInvalid, l, nil, "%s", p)
	}
	return tmpl
}

// operation converts one operation of the path item at pl; the caller adds
// it to the model. setup, when not nil, makes it a webhook or callback
// before its parts are converted.
func (b *builder) operation(path string, tmpl model.Route, method string, pi *openapi3.PathItem, pl loc, op *openapi3.Operation, setup func(*model.Operation)) *model.Operation {
	ol := pl.at(strings.ToLower(method))
	m := &model.Operation{
		ID:          op.OperationID,
		Method:      method,
		Path:        path,
		Summary:     op.Summary,
		Description: op.Description,
		Deprecated:  op.Deprecated,
		Tags:        slices.Clone(op.Tags),
		Pos:         b.pos(ol),
		Pointer:     ol.ptr,
	}
	if m.ID == "" {
		m.ID = deriveID(method, path)
		b.derivedIDs[m] = true
	}
	if setup != nil {
		setup(m)
	}
	b.operationSecurity(op, m, ol)
	if s, ok := op.Extensions["x-go-name"].(string); ok && token.IsIdentifier(s) {
		b.opGoNames = append(b.opGoNames, opGoName{m, s})
	}
	switch v := op.Extensions[ValidateExtension].(type) {
	case nil:
	case bool:
		m.NoValidate = !v
	default:
		b.report(model.Error, RuleOpenAPIInvalid, ol.at(ValidateExtension), m, "%s must be true or false, not %v", ValidateExtension, v)
	}
	base := ident(m.ID)
	b.params(m, pi, pl, op, ol, base)
	b.route(m, tmpl, ol)
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		b.body(m, op.RequestBody, ol.at("requestBody"), base)
	}
	if op.Responses != nil {
		b.responses(m, op.Responses, ol.at("responses"), base)
	}
	if v, ok := op.Extensions[extension.Name]; ok {
		ext, diags := extension.Parse(b.extInput(v, ol.at(extension.Name)))
		for i := range diags {
			diags[i].Operation = m
		}
		b.diags = append(b.diags, diags...)
		m.Idempotency = ext
	}
	return m
}

type opGoName struct {
	op   *model.Operation
	name string
}

// idempotency merges the defaults into an operation's parsed x-idempotent and
// checks it, once names and IDs are final.
func (b *builder) idempotency(op *model.Operation) {
	if op.Idempotency == nil {
		return
	}
	op.Idempotency = extension.Merge(b.api.Defaults, op.Idempotency)
	op.Idempotency.Policy.Operation = op.ID
	b.diags = append(b.diags, extension.Check(b.api, op)...)
}

// params merges path-level and operation-level parameters (the operation's win,
// by name and location) in declaration order.
func (b *builder) params(m *model.Operation, pi *openapi3.PathItem, pl loc, op *openapi3.Operation, ol loc, base string) {
	type entry struct {
		ref *openapi3.ParameterRef
		l   loc
	}
	var list []entry
	where := map[string]int{}
	add := func(refs openapi3.Parameters, at loc) {
		for i, pr := range refs {
			if pr == nil || pr.Value == nil {
				continue
			}
			l := b.follow(at.at("parameters", strconv.Itoa(i)), pr.Ref)
			k := pr.Value.In + "\x00" + pr.Value.Name
			if pr.Value.In == "header" {
				k = "header\x00" + strings.ToLower(pr.Value.Name)
			}
			if j, ok := where[k]; ok {
				list[j] = entry{pr, l}
				continue
			}
			where[k] = len(list)
			list = append(list, entry{pr, l})
		}
	}
	add(pi.Parameters, pl)
	add(op.Parameters, ol)
	names := newNameSet()
	for _, e := range list {
		p := b.param(e.ref.Value, e.l, base)
		if p == nil {
			b.report(model.Error, RuleOpenAPIInvalid, e.l.at("in"), m, "parameter %q: want in: path, query, header or cookie, got %q", e.ref.Value.Name, e.ref.Value.In)
			continue
		}
		if gn, ok := e.ref.Value.Extensions["x-go-name"].(string); ok && token.IsIdentifier(gn) {
			p.GoName = names.unique(gn)
		} else {
			p.GoName = names.unique(ident(p.Name), ident(p.Name)+ident(string(p.In)))
		}
		m.Params = append(m.Params, p)
	}
}

// param converts a parameter or (with in "header" forced by the caller) a
// response header.
func (b *builder) param(v *openapi3.Parameter, l loc, base string) *model.Param {
	in := model.ParamIn(v.In)
	switch in {
	case model.InPath, model.InQuery, model.InHeader, model.InCookie:
	default:
		return nil
	}
	p := &model.Param{
		Name:        v.Name,
		In:          in,
		Required:    v.Required || in == model.InPath,
		Style:       v.Style,
		Description: v.Description,
		Deprecated:  v.Deprecated,
		Pos:         b.pos(l),
	}
	if p.Style == "" {
		switch in {
		case model.InQuery, model.InCookie:
			p.Style = "form"
		default:
			p.Style = "simple"
		}
	}
	if v.Explode != nil {
		p.Explode = *v.Explode
	} else {
		p.Explode = p.Style == "form"
	}
	hint := base + ident(v.Name)
	if v.Schema != nil {
		p.Schema = b.schema(v.Schema, l.at("schema"), hint)
	} else if len(v.Content) > 0 {
		mt := sortedKeys(v.Content)[0]
		if mtv := v.Content[mt]; mtv != nil {
			p.Schema = b.schema(mtv.Schema, l.at("content", mt, "schema"), hint)
		}
	}
	return p
}

func (b *builder) body(m *model.Operation, rb *openapi3.RequestBodyRef, at loc, base string) {
	bl := b.follow(at, rb.Ref)
	hint := base + "Request"
	if rb.Ref != "" {
		hint = ident(lastToken(bl)) + "Request"
	}
	v := rb.Value
	m.Body = &model.Body{
		Required:    v.Required,
		Description: v.Description,
		Pos:         b.pos(bl),
		Contents:    b.contents(v.Content, bl, hint),
	}
}

// contents converts a content map, JSON first then by media type. The first
// media type's schema gets the name hint; others get it with their kind.
func (b *builder) contents(content openapi3.Content, l loc, hint string) []*model.Content {
	mts := sortedKeys(content)
	slices.SortStableFunc(mts, func(x, y string) int {
		return cmp.Compare(boolInt(bodyKind(x) != model.BodyJSON), boolInt(bodyKind(y) != model.BodyJSON))
	})
	var out []*model.Content
	for i, mt := range mts {
		mtv := content[mt]
		c := &model.Content{MediaType: mt, Kind: bodyKind(mt)}
		if mtv != nil && mtv.Schema != nil {
			h := hint
			if i > 0 {
				h = withKind(hint, c.Kind)
			}
			c.Schema = b.schema(mtv.Schema, l.at("content", mt, "schema"), h)
		}
		if mtv != nil && c.Kind == model.BodyMultipart {
			c.PartTypes = partTypes(mtv.Encoding)
		}
		if mtv != nil && c.Kind == model.BodyForm {
			c.Delimiters = delimiters(mtv.Encoding)
		}
		out = append(out, c)
	}
	return out
}

// partTypes are the content types a multipart encoding object declares, by
// property name.
func partTypes(enc map[string]*openapi3.Encoding) map[string][]string {
	var out map[string][]string
	for name, e := range enc {
		if e == nil || strings.TrimSpace(e.ContentType) == "" {
			continue
		}
		var types []string
		for _, t := range strings.Split(e.ContentType, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
		if out == nil {
			out = make(map[string][]string)
		}
		out[name] = types
	}
	return out
}

// delimiters are the delimiters of the urlencoded fields an encoding object
// sends unexploded (OpenAPI's explode defaults to true for style form).
func delimiters(enc map[string]*openapi3.Encoding) map[string]string {
	var out map[string]string
	for name, e := range enc {
		if e == nil || e.Explode == nil || *e.Explode {
			continue
		}
		sep := ","
		switch e.Style {
		case "spaceDelimited":
			sep = " "
		case "pipeDelimited":
			sep = "|"
		}
		if out == nil {
			out = make(map[string]string)
		}
		out[name] = sep
	}
	return out
}

// withKind inserts a body kind before a hint's Request/Response suffix:
// "CreateSongRequest" -> "CreateSongFormRequest".
func withKind(hint string, k model.BodyKind) string {
	for _, suffix := range []string{"Request", "Response"} {
		if stem, ok := strings.CutSuffix(hint, suffix); ok {
			return stem + ident(string(k)) + suffix
		}
	}
	return hint + ident(string(k))
}

// bodyKind classifies a media type.
func bodyKind(mt string) model.BodyKind {
	base, _, _ := strings.Cut(strings.ToLower(mt), ";")
	base = strings.TrimSpace(base)
	switch {
	case base == "application/json" || strings.HasSuffix(base, "+json") || base == "text/json":
		return model.BodyJSON
	case base == "application/x-www-form-urlencoded":
		return model.BodyForm
	case strings.HasPrefix(base, "multipart/"):
		return model.BodyMultipart
	case strings.HasPrefix(base, "text/"):
		return model.BodyText
	}
	return model.BodyBinary
}

// statusOrder sorts "200" < "2XX" < "300" ... < "default".
// validStatus reports whether s is a responses key OpenAPI allows: a status code
// from 100 to 599, a range 1XX to 5XX, or default.
func validStatus(s string) bool {
	if s == "default" {
		return true
	}
	if len(s) != 3 || s[0] < '1' || s[0] > '5' {
		return false
	}
	if s[1:] == "XX" || s[1:] == "xx" {
		return true
	}
	return s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}

func statusOrder(s string) (int, int) {
	if s == "default" {
		return 1000, 0
	}
	if len(s) == 3 && (s[1] == 'X' || s[1] == 'x') {
		return int(s[0]-'0') * 100, 1
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 999, 0
	}
	return n, 0
}

func (b *builder) responses(m *model.Operation, rs *openapi3.Responses, at loc, base string) {
	statuses := sortedKeys(rs.Map())
	slices.SortFunc(statuses, func(x, y string) int {
		xa, xb := statusOrder(x)
		ya, yb := statusOrder(y)
		return cmp.Or(cmp.Compare(xa, ya), cmp.Compare(xb, yb), cmp.Compare(x, y))
	})
	for _, status := range statuses {
		rr := rs.Value(status)
		if rr == nil || rr.Value == nil {
			continue
		}
		if !validStatus(status) {
			// The key names Go types and a status the server writes: anything
			// but a code, a range or default cannot be served.
			b.report(model.Error, RuleOpenAPIInvalid, at.at(status), m,
				"response key %q is not a status code (100-599), a range such as 4XX, or default", status)
			continue
		}
		rl := b.follow(at.at(status), rr.Ref)
		hint := base + identSuffix(status) + "Response"
		if rr.Ref != "" {
			hint = ident(lastToken(rl)) + "Response"
		}
		v := rr.Value
		r := &model.Response{Status: status, Pos: b.pos(rl)}
		if v.Description != nil {
			r.Description = *v.Description
		}
		for _, name := range sortedKeys(v.Headers) {
			hr := v.Headers[name]
			if hr == nil || hr.Value == nil {
				continue
			}
			hl := b.follow(rl.at("headers", name), hr.Ref)
			pv := hr.Value.Parameter
			pv.Name, pv.In = name, "header"
			if p := b.param(&pv, hl, strings.TrimSuffix(hint, "Response")); p != nil {
				p.GoName = ident(name)
				r.Headers = append(r.Headers, p)
			}
		}
		names := newNameSet()
		for _, h := range r.Headers {
			h.GoName = names.unique(h.GoName)
		}
		r.Contents = b.contents(v.Content, rl, hint)
		m.Responses = append(m.Responses, r)
	}
}

// lastToken is the unescaped last JSON Pointer token of l, or the file's base
// name without extension for a whole-file $ref.
func lastToken(l loc) string {
	if l.ptr == "" {
		base := filepath.Base(l.file)
		return strings.TrimSuffix(base, filepath.Ext(base))
	}
	t := l.ptr[strings.LastIndexByte(l.ptr, '/')+1:]
	return strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
}

// deriveID names an operation without operationId: "post /songs/{id}/plays" ->
// "postSongsIdPlays".
func deriveID(method, path string) string {
	id := ident(path)
	if id == "" || id == "X" {
		id = "Root"
	}
	return strings.ToLower(method) + id
}

// nameOperations gives every operation, then every webhook and callback, a
// unique ID (Policies and the store key them) and a unique GoName (the
// handler and client methods, and the client's decode functions, which are
// package-level), in model order.
func (b *builder) nameOperations() {
	over := map[*model.Operation]string{}
	for _, g := range b.opGoNames {
		over[g.op] = g.name
	}
	ids := map[string]*model.Operation{}
	goNames := newNameSet()
	for _, ops := range [][]*model.Operation{b.api.Operations, b.api.Receivers()} {
		for _, op := range ops {
			if first, dup := ids[op.ID]; dup {
				orig := op.ID
				n := 2
				for ids[orig+strconv.Itoa(n)] != nil {
					n++
				}
				op.ID = orig + strconv.Itoa(n)
				if op.Kind != model.OpPath && b.derivedIDs[op] {
					// A receiver's derived ID (its default path) is no one's
					// choice: renaming it is not the spec's error.
					ids[op.ID] = op
					name := ident(op.ID)
					if o, ok := over[op]; ok {
						name = o
					}
					op.GoName = goNames.unique(name)
					continue
				}
				b.diags = append(b.diags, model.Diagnostic{
					Pos: op.Pos, Severity: model.Error, Rule: RuleOperationIDDuplicate,
					Pointer: op.Pointer, Operation: op,
					Message: fmt.Sprintf("operationId %q is also used by %s; this operation is called %q", orig, first.Label(), op.ID),
				})
			}
			ids[op.ID] = op
			name := ident(op.ID)
			if o, ok := over[op]; ok {
				name = o
			}
			op.GoName = goNames.unique(name)
		}
	}
}

// finishDiagnostics sorts by position and drops exact repeats (a field inherited
// from the defaults can fail the same way for every operation).
func (b *builder) finishDiagnostics() {
	d := b.diags
	slices.SortStableFunc(d, func(x, y model.Diagnostic) int {
		return cmp.Or(cmp.Compare(x.Pos.File, y.Pos.File), cmp.Compare(x.Pos.Line, y.Pos.Line),
			cmp.Compare(x.Pos.Col, y.Pos.Col), cmp.Compare(x.Rule, y.Rule), cmp.Compare(x.Message, y.Message))
	})
	out := d[:0]
	for _, x := range d {
		if n := len(out); n > 0 {
			p := out[n-1]
			if p.Pos == x.Pos && p.Rule == x.Rule && p.Message == x.Message {
				continue
			}
		}
		out = append(out, x)
	}
	b.api.Diagnostics = slices.Clip(out)
}
