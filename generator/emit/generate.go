package emit

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
)

// Options chooses what Generate emits.
type Options struct {
	// Package is the Go package name of the generated files (required).
	Package string
	// Models, Server and Client select models_gen.go, server_gen.go and
	// client_gen.go. policies_gen.go is emitted with the server or the client.
	Models, Server, Client bool
	// Version is written in the header of every file ("v0.1.0"); empty means
	// "(devel)".
	Version string
	// Progress, when set, is called before each file is emitted with its name,
	// its 1-based number and the number of files (for a progress line).
	Progress func(name string, n, of int)
}

// File is one generated file.
type File struct {
	// Name is the base name ("server_gen.go").
	Name string
	// Content is the formatted Go source.
	Content []byte
}

// Result is what Generate produced.
type Result struct {
	// Files in a stable order (models, policies, server, client).
	Files []File
	// Diagnostics are warnings about constructs emitted as a general type or
	// skipped, each located in the spec.
	Diagnostics []model.Diagnostic
}

// Generate emits the Go files of api. It does not check api.Diagnostics: the
// caller decides whether a spec with errors is generated. An error means a
// generated file could not be formatted (a bug of the emitter); its text shows
// the source with line numbers.
func Generate(api *model.API, opts Options) (*Result, error) {
	if api == nil {
		return nil, errors.New("emit: no model")
	}
	if opts.Package == "" {
		return nil, errors.New("emit: no package name")
	}
	if !token.IsIdentifier(opts.Package) {
		return nil, fmt.Errorf("emit: package name %q is not a Go identifier", opts.Package)
	}
	if opts.Version == "" {
		opts.Version = "(devel)"
	}
	g := newGenerator(api, opts)
	res := &Result{}
	type part struct {
		name string
		emit func() (*jen.File, error)
	}
	var parts []part
	if opts.Models {
		parts = append(parts, part{name: "models_gen.go", emit: g.emitModels})
	}
	if opts.Server || opts.Client {
		parts = append(parts, part{name: "policies_gen.go", emit: g.emitPolicies})
	}
	if opts.Server {
		parts = append(parts, part{name: "server_gen.go", emit: g.emitServer})
		if g.anyValidation() {
			parts = append(parts, part{name: "validate_gen.go", emit: g.emitValidate})
		}
	}
	if opts.Server && len(g.receivers) > 0 {
		parts = append(parts, part{name: "webhooks_gen.go", emit: g.emitWebhooks})
	}
	if opts.Client {
		parts = append(parts, part{name: "client_gen.go", emit: g.emitClient})
		if len(g.receivers) > 0 {
			parts = append(parts, part{name: "webhooks_client_gen.go", emit: g.emitWebhookSender})
		}
	}
	for i, p := range parts {
		if opts.Progress != nil {
			opts.Progress(p.name, i+1, len(parts))
		}
		f, err := safeEmit(p.name, p.emit)
		if err != nil {
			return nil, err
		}
		src, err := render(f, p.name)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, File{Name: p.name, Content: src})
	}
	// A construct emitted in several files is reported once.
	seen := make(map[string]bool, len(g.diags))
	for _, d := range g.diags {
		if k := d.Pos.String() + "\x00" + d.Rule + "\x00" + d.Message; !seen[k] {
			seen[k] = true
			res.Diagnostics = append(res.Diagnostics, d)
		}
	}
	return res, nil
}

// safeEmit runs one emitter, turning a panic (a model the emitter did not
// expect) into an error instead of crashing the command.
func safeEmit(name string, emit func() (*jen.File, error)) (f *jen.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("emit: %s: internal error: %v", name, r)
		}
	}()
	return emit()
}

// generator holds the state of one Generate call.
type generator struct {
	api  *model.API
	opts Options
	// schemaNames is the Go type name of every named schema (its GoName).
	schemaNames map[*model.Schema]string
	// byPointer are the properties that must be pointers to break a cycle of
	// struct values.
	byPointer map[*model.Property]bool
	// visiting guards typeOf against cycles of anonymous schemas.
	visiting map[*model.Schema]bool
	ops      map[*model.Operation]*opNames
	// valid is what the request validation needs (see validation); loops
	// counts the nested loops of the validation being emitted.
	valid *validation
	loops int
	// files are the schemas of multipart file parts (see fileSchema).
	files map[*model.Schema]bool
	// uses says how the request-body schemas are used (bodyUses).
	uses  map[*model.Schema]int
	diags []model.Diagnostic
	// receivers are the webhooks and callbacks (api.Receivers); all the
	// operations and then them. recv is the receiver type of the handle,
	// decode and admit methods being emitted ("" is the server's).
	receivers, all []*model.Operation
	recv           string
}

func newGenerator(api *model.API, opts Options) *generator {
	g := &generator{
		api:         api,
		opts:        opts,
		schemaNames: make(map[*model.Schema]string, len(api.Schemas)),
		visiting:    make(map[*model.Schema]bool),
		ops:         make(map[*model.Operation]*opNames, len(api.Operations)),
	}
	for _, s := range api.Schemas {
		g.schemaNames[s] = s.GoName
	}
	g.byPointer = cyclicProperties(api.Schemas)
	g.receivers = api.Receivers()
	g.all = append(append(make([]*model.Operation, 0, len(api.Operations)+len(g.receivers)), api.Operations...), g.receivers...)
	for _, op := range g.all {
		g.ops[op] = newOpNames(op)
	}
	return g
}

// Rule ids of the warnings Generate reports in Result.Diagnostics.
const (
	// RulePathParamMissing: a path parameter that its path template does not
	// contain; requests for it are rejected.
	RulePathParamMissing = "path-param-missing"
	// RuleParamStyleUnsupported: a parameter style or explode the generated
	// code does not implement.
	RuleParamStyleUnsupported = "param-style-unsupported"
)

// warn records a located warning.
func (g *generator) warn(pos model.Pos, pointer, rule, format string, args ...any) {
	g.diags = append(g.diags, model.Diagnostic{
		Pos: pos, Severity: model.Warning, Rule: rule, Pointer: pointer,
		Message: fmt.Sprintf(format, args...),
	})
}

// newFile starts a generated file with its header.
func (g *generator) newFile() *jen.File {
	f := jen.NewFile(g.opts.Package)
	f.HeaderComment("Code generated by idemgen " + g.opts.Version + ". DO NOT EDIT.")
	f.NoFormat = true
	f.ImportName(idempotencyPkg, "idempotency")
	f.ImportName(memstorePkg, "memstore")
	f.ImportName(serverkitPkg, "serverkit")
	f.ImportName(nullablePkg, "nullable")
	return f
}

// render prints f and formats the result. A formatting failure is reported with
// the lines around the error.
//
// format.Source, not parser.ParseFile and format.Node: Node treats every
// parenthesised import block as unsorted and then prints the file, parses the
// output again and prints it a second time (to sort the imports on a copy of
// the AST), which made up a third of Generate's CPU time on large specs.
// Source parses once, sorts the imports in place and prints once; the output
// is the same bytes.
func render(f *jen.File, name string) ([]byte, error) {
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return nil, fmt.Errorf("emit: %s: %w", name, err)
	}
	src := buf.Bytes()
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("emit: %s does not parse (an idemgen bug: please report it with the spec): %w\n%s", name, err, excerpt(src, errorLine(err)))
	}
	return groupImports(name, out)
}

// groupImports rewrites the import block of formatted src in two groups, the
// standard library first, as goimports does.
func groupImports(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.ImportsOnly|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("emit: %s: %w", name, err)
	}
	var decl *ast.GenDecl
	for _, d := range file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			if decl != nil {
				return src, nil // several import declarations: leave them
			}
			decl = gd
		}
	}
	if decl == nil || len(decl.Specs) < 2 {
		return src, nil
	}
	var std, other []string
	for _, spec := range decl.Specs {
		is := spec.(*ast.ImportSpec)
		line := is.Path.Value
		if is.Name != nil {
			line = is.Name.Name + " " + line
		}
		path := strings.Trim(is.Path.Value, `"`)
		if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
			other = append(other, line)
		} else {
			std = append(std, line)
		}
	}
	var b bytes.Buffer
	b.WriteString("import (\n")
	for _, l := range std {
		b.WriteString("\t" + l + "\n")
	}
	if len(std) > 0 && len(other) > 0 {
		b.WriteString("\n")
	}
	for _, l := range other {
		b.WriteString("\t" + l + "\n")
	}
	b.WriteString(")")
	start, end := fset.Position(decl.Pos()).Offset, fset.Position(decl.End()).Offset
	out := append([]byte(nil), src[:start]...)
	out = append(out, b.Bytes()...)
	return append(out, src[end:]...), nil
}

// excerpt returns the numbered lines of src around line (five either side, the
// line itself marked), so that an emitter bug on a large spec prints a window
// rather than the whole file.
func excerpt(src []byte, line int) string {
	const context = 5
	lines := strings.Split(string(src), "\n")
	if line < 1 || line > len(lines) {
		line = 1
	}
	from, to := max(line-context, 1), min(line+context, len(lines))
	var b strings.Builder
	for i := from; i <= to; i++ {
		mark := "  "
		if i == line {
			mark = "> "
		}
		fmt.Fprintf(&b, "%s%5d  %s\n", mark, i, lines[i-1])
	}
	return b.String()
}

// errorLine is the line of the first error of a parse error, 0 when unknown.
func errorLine(err error) int {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return list[0].Pos.Line
	}
	var one *scanner.Error
	if errors.As(err, &one) {
		return one.Pos.Line
	}
	return 0
}
