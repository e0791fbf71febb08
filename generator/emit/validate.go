package emit

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/generator/model"
)

const validatePkg = "github.com/idemgen/idemgen/runtime/validate"

// validation is what the generated request validation needs to know about the
// spec: which schemas hold a check, which get a validate method, and the
// patterns compiled once at package init.
type validation struct {
	// needs are the schemas whose values hold at least one check (their own or
	// a member's, at any depth), in a request or a JSON response.
	needs map[*model.Schema]bool
	// patterns maps a pattern to the package variable holding it compiled.
	patterns     map[string]string
	patternOrder []string
	// badPattern are the patterns Go's regexp cannot compile; they are not
	// checked (and reported once).
	badPattern map[string]bool
	// shaped are the schemas below which a request body must carry required
	// members (see shapes); shapeNames the variables of the named ones.
	shaped     map[*model.Schema]bool
	shapeNames map[*model.Schema]string
}

// validation computes (once) what the generated validation of g's spec needs.
func (g *generator) validation() *validation {
	if g.valid != nil {
		return g.valid
	}
	v := &validation{needs: map[*model.Schema]bool{}, patterns: map[string]string{}, badPattern: map[string]bool{}}
	g.valid = v
	var roots []*model.Schema
	for _, op := range g.all {
		if op.NoValidate {
			continue
		}
		for _, p := range op.Params {
			roots = append(roots, p.Schema)
		}
		roots = append(roots, jsonBodies(op)...)
		roots = append(roots, g.formBodies(op)...) // form.go
		for _, rt := range g.ops[op].Responses {
			if c := rt.Content; c != nil && c.Kind == model.BodyJSON {
				roots = append(roots, c.Schema)
			}
		}
	}
	v.needs = holders(roots, g.children, g.ownChecks, g.directedMember)
	return v
}

// children are the schemas the generated validation walks into from s.
func (g *generator) children(s *model.Schema) []*model.Schema {
	var out []*model.Schema
	switch s.Kind {
	case model.KindObject:
		for _, p := range s.Properties {
			out = append(out, p.Schema)
		}
		if len(s.Properties) > 0 && s.AdditionalProperties != nil {
			out = append(out, s.AdditionalProperties)
		}
	case model.KindMap:
		out = append(out, s.AdditionalProperties)
	case model.KindArray:
		out = append(out, s.Items)
	case model.KindUnion:
		if s.Discriminator != nil || g.rawUnion(s) { // unnamed raw unions are json.RawMessage
			for _, v := range g.variants(s) {
				out = append(out, v.schema)
			}
		}
	}
	var kept []*model.Schema
	for _, c := range out {
		if c != nil && c.GoType == "" {
			kept = append(kept, c)
		}
	}
	return kept
}

// directedMember reports whether c is an optional readOnly or writeOnly
// property of object s that a value can be seen to carry (a request must not
// send a readOnly one, a response must not carry a writeOnly one).
func (g *generator) directedMember(s, c *model.Schema) bool {
	if s.Kind != model.KindObject {
		return false
	}
	for _, p := range s.Properties {
		if p.Schema == c && (c.ReadOnly || c.WriteOnly) && !p.Required && g.present(s, p, nil) != nil {
			return true
		}
	}
	return false
}

// present is the expression telling whether field (the Go field of property
// p of s) holds a member that was sent, or nil when the field cannot tell (a
// required value): a Nullable is set, a pointer or a nilable value not nil.
func (g *generator) present(s *model.Schema, p *model.Property, field func() *jen.Statement) *jen.Statement {
	if field == nil {
		field = func() *jen.Statement { return jen.Id("x") }
	}
	if p.Schema != nil && g.tristate(s, p) {
		return field().Dot("IsSet").Call()
	}
	if p.Schema != nil {
		if _, ptr := g.fieldShape(p.Schema, p.Required, g.byPointer[p]); !ptr && !g.nilable(p.Schema) {
			return nil
		}
	}
	return field().Op("!=").Nil()
}

// fieldShape reports how a field of schema s is held: nilable (nil means
// absent) or a pointer to the value.
func (g *generator) fieldShape(s *model.Schema, required, byPointer bool) (nilable, ptr bool) {
	if g.nilable(s) {
		return true, false
	}
	return false, !required || byPointer || (s != nil && s.Nullable)
}

// scalarValue reports whether values of s are held as a plain Go string or
// number (not time.Time or []byte), so that value checks apply to them.
func scalarValue(s *model.Schema) bool {
	switch s.Kind {
	case model.KindString:
		return s.Format != "date-time" && s.Format != "byte" && s.Format != "binary"
	case model.KindInteger, model.KindNumber:
		return true
	}
	return false
}

// ownChecks reports whether s has a check of its own (not its members').
func (g *generator) ownChecks(s *model.Schema) bool {
	if s.GoType != "" {
		return false
	}
	if scalarValue(s) {
		if len(s.Enum) > 0 {
			return true
		}
		if s.Kind == model.KindString {
			return s.MinLength > 0 || s.MaxLength != nil || g.pattern(s) != "" || formatChecked(s.Format)
		}
		return s.Minimum != nil || s.Maximum != nil || s.MultipleOf != nil
	}
	switch s.Kind {
	case model.KindArray:
		return s.MinItems > 0 || s.MaxItems != nil || s.UniqueItems
	case model.KindMap:
		return s.MinProperties > 0 || s.MaxProperties != nil
	case model.KindUnion:
		return g.rawUnion(s)
	}
	return false
}

// rawUnion reports a named oneOf/anyOf without a discriminator: its value is
// the raw JSON, checked against every variant (oneOf: exactly one matches,
// anyOf: at least one).
func (g *generator) rawUnion(s *model.Schema) bool {
	_, named := g.schemaNames[s]
	return named && s.Kind == model.KindUnion && s.Discriminator == nil && len(g.variants(s)) > 0
}

// formatChecked reports the string formats the validation checks (date-time,
// byte and the integer formats are checked by decoding into their Go type).
func formatChecked(format string) bool {
	switch format {
	case "date", "time", "uuid", "email", "hostname", "uri", "ipv4", "ipv6":
		return true
	}
	return false
}

// pattern returns the name of the compiled variable of s's pattern, or "" when
// s has none or Go's regexp cannot compile it (reported once).
func (g *generator) pattern(s *model.Schema) string {
	if s.Pattern == "" {
		return ""
	}
	v := g.valid
	if name, ok := v.patterns[s.Pattern]; ok {
		return name
	}
	if v.badPattern[s.Pattern] {
		return ""
	}
	if _, err := regexp.Compile(s.Pattern); err != nil {
		v.badPattern[s.Pattern] = true
		g.warn(s.Pos, s.Pointer, "pattern-unsupported", "schema: pattern %q is not checked: Go's regexp cannot compile it (%v)", s.Pattern, err)
		return ""
	}
	// Unexported and numbered: no other package-level name of the generated
	// code starts with "pattern".
	name := "pattern" + strconv.Itoa(len(v.patternOrder)+1)
	v.patterns[s.Pattern] = name
	v.patternOrder = append(v.patternOrder, s.Pattern)
	return name
}

// hasMethod reports whether a named schema gets a validate method (objects,
// unions, arrays and maps; scalar checks are written where the value is used).
func (g *generator) hasMethod(s *model.Schema) bool {
	if _, named := g.schemaNames[s]; !named || s.GoType != "" || !g.valid.needs[s] {
		return false
	}
	switch s.Kind {
	case model.KindObject, model.KindMap, model.KindArray:
		return true
	case model.KindUnion:
		return true // tagged, or raw (needs holds only the named ones)
	}
	return false
}

// structReceiver reports a named schema emitted as a struct (its validate
// method has a pointer receiver).
func structReceiver(s *model.Schema) bool {
	return s.Kind == model.KindObject && (len(s.Properties) > 0 || s.AdditionalProperties == nil) || s.Kind == model.KindUnion
}

// needsValidation reports whether a request of op has anything to validate.
func (g *generator) needsValidation(op *model.Operation) bool {
	if op.NoValidate {
		return false
	}
	for _, p := range op.Params {
		if g.paramValidated(op, p) {
			return true
		}
	}
	if op.Body != nil {
		for _, c := range op.Body.Contents {
			if g.validatedBody(c) {
				return true
			}
		}
	}
	return false
}

// paramValidated reports whether parameter p of op is checked against its
// schema. The header of op's idempotency key is not: the key's syntax is the
// runtime's (bare or a structured-field string, key.maxLength), checked while
// decoding.
func (g *generator) paramValidated(op *model.Operation, p *model.Param) bool {
	if p.Schema == nil || !g.validation().needs[p.Schema] {
		return false
	}
	key := policyKeyHeader(op)
	return !(p.In == model.InHeader && key != "" && strings.EqualFold(p.Name, key))
}

// validatedBody reports whether the body content c is checked against its
// schema: a JSON body, or a form body decoded into a struct, with something
// to check.
func (g *generator) validatedBody(c *model.Content) bool {
	if c.Schema == nil || !g.validation().needs[c.Schema] {
		return false
	}
	return c.Kind == model.BodyJSON || g.typedForm(c)
}

// emitValidate emits validate_gen.go: a validate method per named schema that
// needs one and the compiled patterns. It returns nil when no request of the
// spec has anything to validate.
func (g *generator) emitValidate() (*jen.File, error) {
	v := g.validation()
	var methods []*model.Schema
	for _, s := range g.api.Schemas {
		if g.hasMethod(s) {
			methods = append(methods, s)
		}
	}
	f := g.newFile()
	f.ImportName(validatePkg, "validate")
	for _, op := range g.all {
		if g.needsValidation(op) {
			g.emitRequestValidate(f, op)
		}
	}
	responses := false
	for _, op := range g.api.Operations {
		for _, rt := range g.validatedResponses(op) {
			g.emitResponseValidate(f, rt)
			responses = true
		}
	}
	if responses {
		f.Comment("validator is a response whose body has a schema to check.")
		f.Type().Id("validator").Interface(jen.Id("validate").Params().Error())
	}
	for _, s := range methods {
		name := g.schemaNames[s]
		f.Commentf("validate adds to v every way x breaks the %q schema.", s.Name)
		recv := jen.Id("x").Id(name)
		if structReceiver(s) {
			recv = jen.Id("x").Op("*").Id(name)
		}
		f.Func().Params(recv).Id("validate").Params(jen.Id("v").Op("*").Qual(validatePkg, "Errors")).BlockFunc(func(gr *jen.Group) {
			x := func() *jen.Statement { return jen.Id("x") }
			g.checkOwn(gr, x, s, tok{}, x)
			g.checkMembers(gr, func() *jen.Statement { return jen.Id("x") }, s)
		})
	}
	g.emitShapes(f)
	// Patterns after the methods: pattern names are taken while they are emitted.
	if len(v.patternOrder) > 0 {
		f.Comment("The schemas' patterns, compiled once.")
		f.Var().DefsFunc(func(gr *jen.Group) {
			for _, p := range v.patternOrder {
				gr.Id(v.patterns[p]).Op("=").Qual(validatePkg, "MustPattern").Call(jen.Lit(p))
			}
		})
	}
	return f, nil
}

// emitRequestValidate emits the validate method of op's request type: every
// parameter, then the JSON body, checked against its schema.
func (g *generator) emitRequestValidate(f *jen.File, op *model.Operation) {
	n := g.ops[op]
	f.Add(docText(fmt.Sprintf("validate checks the parameters and body of a %s request against their\nschemas, listing every violation.", opLabel(op))))
	f.Func().Params(jen.Id("req").Op("*").Id(n.Request)).Id("validate").Params().Error().BlockFunc(func(gr *jen.Group) {
		gr.Id("v").Op(":=").New(jen.Qual(validatePkg, "Errors"))
		in := ""
		for i, p := range op.Params {
			if !g.paramValidated(op, p) {
				continue
			}
			if in != string(p.In) {
				in = string(p.In)
				gr.Id("v").Dot("In").Call(jen.Lit(in))
			}
			_, ptr := g.fieldShape(p.Schema, p.Required, false)
			g.checkValue(gr, func() *jen.Statement { return jen.Id("req").Dot(n.Params[i]) }, p.Schema, tok{name: p.Name}, ptr)
		}
		if in != "" {
			gr.Id("v").Dot("In").Call(jen.Lit(""))
		}
		if op.Body != nil {
			single := len(op.Body.Contents) == 1
			for i, c := range op.Body.Contents {
				if !g.validatedBody(c) {
					continue
				}
				_, ptr := g.fieldShape(c.Schema, single && op.Body.Required, false)
				g.checkValue(gr, func() *jen.Statement { return jen.Id("req").Dot(n.Bodies[i]) }, c.Schema, tok{}, ptr)
			}
		}
		gr.Return(jen.Id("v").Dot("Err").Call())
	})
}

// validatedResponses are the responses of op whose JSON body has something to
// check (for serverkit.WithResponseValidation).
func (g *generator) validatedResponses(op *model.Operation) []*respType {
	var out []*respType
	for _, rt := range g.ops[op].Responses {
		if c := rt.Content; c != nil && c.Kind == model.BodyJSON && c.Schema != nil && g.validation().needs[c.Schema] {
			out = append(out, rt)
		}
	}
	return out
}

// emitResponseValidate emits the validate method of a response type: its body
// checked against its schema, as a response (writeOnly members refused,
// readOnly ones allowed).
func (g *generator) emitResponseValidate(f *jen.File, rt *respType) {
	f.Commentf("validate checks the body of a %s against its schema (serverkit.WithResponseValidation).", rt.Name)
	f.Func().Params(jen.Id("r").Id(rt.Name)).Id("validate").Params().Error().BlockFunc(func(gr *jen.Group) {
		gr.Id("v").Op(":=").Op("&").Qual(validatePkg, "Errors").Values(jen.Dict{jen.Id("Response"): jen.True()})
		g.checkValue(gr, func() *jen.Statement { return jen.Id("r").Dot("Body") }, rt.Content.Schema, tok{}, false)
		gr.Return(jen.Id("v").Dot("Err").Call())
	})
}

// checkResponse is the statement of handleX that, with
// serverkit.WithResponseValidation, reports the violations of the response
// the Handler returned; nil when no response of op has anything to check.
func (g *generator) checkResponse(op *model.Operation) jen.Code {
	if len(g.validatedResponses(op)) == 0 {
		return jen.Null()
	}
	return jen.If(jen.Err().Op("==").Nil().Op("&&").Id("s").Dot("kit").Dot("ValidatesResponses").Call()).Block(
		jen.If(jen.List(jen.Id("c"), jen.Id("ok")).Op(":=").Id("resp").Assert(jen.Id("validator")), jen.Id("ok")).Block(
			jen.Id("s").Dot("kit").Dot("CheckResponse").Call(jen.Id("r").Dot("Context").Call(), jen.Lit(op.ID), jen.Id("c").Dot("validate").Call()),
		),
	)
}

// tok is where a value sits relative to the current location of the
// validate.Errors: the value itself (zero tok), a member (name), an array item
// (index) or a map value (key, a variable).
type tok struct {
	name  string
	index string // variable of an array index
	key   string // variable of a map key
}

func (t tok) none() bool { return t.name == "" && t.index == "" && t.key == "" }

// add is the statement recording a violation of the value at t.
func (t tok) add(detail string) *jen.Statement {
	switch {
	case t.index != "":
		return jen.Id("v").Dot("AddIndex").Call(jen.Id(t.index), jen.Lit(detail))
	case t.key != "":
		return jen.Id("v").Dot("Add").Call(jen.Id(t.key), jen.Lit(detail))
	}
	return jen.Id("v").Dot("Add").Call(jen.Lit(t.name), jen.Lit(detail))
}

// enter and leave move the location to the value at t and back.
func (t tok) enter() *jen.Statement {
	switch {
	case t.index != "":
		return jen.Id("v").Dot("EnterIndex").Call(jen.Id(t.index))
	case t.key != "":
		return jen.Id("v").Dot("Enter").Call(jen.Id(t.key))
	}
	return jen.Id("v").Dot("Enter").Call(jen.Lit(t.name))
}

// checkValue emits the checks of a value of s, held by expr at t; ptr says
// expr is a pointer (nil when absent or null), nilable values are skipped
// when nil.
func (g *generator) checkValue(gr *jen.Group, expr func() *jen.Statement, s *model.Schema, t tok, ptr bool) {
	if s == nil || !g.valid.needs[s] {
		return
	}
	if ptr {
		gr.If(expr().Op("!=").Nil()).BlockFunc(func(ig *jen.Group) {
			if scalarValue(s) {
				// Methods (an enum's Valid) are called on the pointer.
				g.checkOwn(ig, func() *jen.Statement { return jen.Op("*").Add(expr()) }, s, t, expr)
				return
			}
			g.checkValue(ig, expr, s, t, false)
		})
		return
	}
	if scalarValue(s) {
		g.checkOwn(gr, expr, s, t, expr)
		return
	}
	inner := func(ig *jen.Group) {
		if g.hasMethod(s) {
			ig.Add(expr().Dot("validate").Call(jen.Id("v")))
			return
		}
		g.checkOwn(ig, expr, s, tok{}, expr)
		g.checkMembers(ig, expr, s)
	}
	if t.none() {
		inner(gr)
		return
	}
	gr.Add(t.enter())
	inner(gr)
	gr.Id("v").Dot("Leave").Call()
}

// checkOwn emits the checks of s's own keywords on the value expr at t; recv
// is what methods are called on (expr, or the pointer expr dereferences).
func (g *generator) checkOwn(gr *jen.Group, expr func() *jen.Statement, s *model.Schema, t tok, recv func() *jen.Statement) {
	_, named := g.schemaNames[s]
	check := func(bad *jen.Statement, detail string) {
		gr.If(bad).Block(t.add(detail))
	}
	str := func() *jen.Statement {
		if named {
			return jen.String().Call(expr())
		}
		return expr()
	}
	if scalarValue(s) && len(s.Enum) > 0 {
		if named && g.enumType(s) {
			check(jen.Op("!").Add(recv()).Dot("Valid").Call(), enumDetail(s))
		} else if lits := enumLits(s); len(lits) > 0 {
			gr.Switch(expr()).Block(
				jen.Case(lits...),
				jen.Default().Block(t.add(enumDetail(s))),
			)
		}
	}
	switch {
	case s.Kind == model.KindString && scalarValue(s):
		if s.MinLength > 0 {
			check(jen.Op("!").Qual(validatePkg, "MinLength").Call(str(), jen.Lit(s.MinLength)),
				"must be at least "+count(s.MinLength, "character")+" long")
		}
		if s.MaxLength != nil {
			check(jen.Op("!").Qual(validatePkg, "MaxLength").Call(str(), jen.Lit(*s.MaxLength)),
				"must be at most "+count(*s.MaxLength, "character")+" long")
		}
		if re := g.pattern(s); re != "" {
			check(jen.Op("!").Id(re).Dot("MatchString").Call(str()), "must match the pattern "+s.Pattern)
		}
		if formatChecked(s.Format) {
			fn := map[string]string{"date": "Date", "time": "Time", "uuid": "UUID", "email": "Email",
				"hostname": "Hostname", "uri": "URI", "ipv4": "IPv4", "ipv6": "IPv6"}[s.Format]
			check(jen.Op("!").Qual(validatePkg, fn).Call(str()), "must be a valid "+s.Format)
		}
	case s.Kind == model.KindInteger || s.Kind == model.KindNumber:
		num := func(x float64) (*jen.Statement, string) {
			switch {
			case s.Kind == model.KindInteger && x == math.Trunc(x) && math.Abs(x) < 1<<31:
				return expr(), strconv.FormatInt(int64(x), 10)
			case s.Kind == model.KindNumber:
				return expr(), strconv.FormatFloat(x, 'g', -1, 64)
			}
			return jen.Float64().Call(expr()), strconv.FormatFloat(x, 'g', -1, 64)
		}
		lit := func(x float64) jen.Code {
			if s.Kind == model.KindInteger && x == math.Trunc(x) && math.Abs(x) < 1<<31 {
				return jen.Lit(int(x))
			}
			return jen.Lit(x)
		}
		if s.Minimum != nil {
			e, text := num(*s.Minimum)
			if s.ExclusiveMinimum {
				check(e.Op("<=").Add(lit(*s.Minimum)), "must be > "+text)
			} else {
				check(e.Op("<").Add(lit(*s.Minimum)), "must be >= "+text)
			}
		}
		if s.Maximum != nil {
			e, text := num(*s.Maximum)
			if s.ExclusiveMaximum {
				check(e.Op(">=").Add(lit(*s.Maximum)), "must be < "+text)
			} else {
				check(e.Op(">").Add(lit(*s.Maximum)), "must be <= "+text)
			}
		}
		if m := s.MultipleOf; m != nil {
			text := strconv.FormatFloat(*m, 'g', -1, 64)
			if s.Kind == model.KindInteger && *m == math.Trunc(*m) && *m < 1<<31 {
				check(expr().Op("%").Lit(int(*m)).Op("!=").Lit(0), "must be a multiple of "+text)
			} else {
				check(jen.Op("!").Qual(validatePkg, "MultipleOf").Call(jen.Float64().Call(expr()), jen.Lit(*m)), "must be a multiple of "+text)
			}
		}
	case s.Kind == model.KindArray:
		if s.MinItems > 0 {
			check(jen.Len(expr()).Op("<").Lit(s.MinItems), "must have at least "+count(s.MinItems, "item"))
		}
		if s.MaxItems != nil {
			check(jen.Len(expr()).Op(">").Lit(*s.MaxItems), "must have at most "+count(*s.MaxItems, "item"))
		}
		if s.UniqueItems && s.Items != nil {
			fn := "UniqueJSON"
			if scalarValue(s.Items) || s.Items.Kind == model.KindBoolean {
				fn = "Unique"
			}
			// The duplicate item is the location (the walk is at the array).
			gr.If(jen.Id("i").Op(":=").Qual(validatePkg, fn).Call(expr()), jen.Id("i").Op(">=").Lit(0)).Block(
				jen.Id("v").Dot("AddIndex").Call(jen.Id("i"), jen.Lit("repeats an earlier item (uniqueItems)")),
			)
		}
	case s.Kind == model.KindMap:
		if s.MinProperties > 0 {
			check(jen.Len(expr()).Op("<").Lit(s.MinProperties), "must have at least "+count(s.MinProperties, "property"))
		}
		if s.MaxProperties != nil {
			check(jen.Len(expr()).Op(">").Lit(*s.MaxProperties), "must have at most "+count(*s.MaxProperties, "property"))
		}
	}
}

// checkMembers emits the checks of the members of the value expr of s (the
// current location): properties, items, map values, the set variant.
func (g *generator) checkMembers(gr *jen.Group, expr func() *jen.Statement, s *model.Schema) {
	needs := g.valid.needs
	switch s.Kind {
	case model.KindObject:
		names := fieldNames(s)
		for i, p := range s.Properties {
			field := func() *jen.Statement { return expr().Dot(names[i]) }
			if p.Schema != nil && (p.Schema.ReadOnly || p.Schema.WriteOnly) && !p.Required { // required: refused by the JSON scan
				if sent := g.present(s, p, field); sent != nil {
					check := "ReadOnly"
					if p.Schema.WriteOnly {
						check = "WriteOnly"
					}
					gr.If(sent).Block(jen.Id("v").Dot(check).Call(jen.Lit(p.Name)))
					continue
				}
			}
			if p.Schema == nil || !needs[p.Schema] || p.Schema.GoType != "" {
				continue
			}
			if g.tristate(s, p) {
				// Only a value is checked: absent and null are the schema's.
				val := g.loopVar("val")
				gr.If(jen.List(jen.Id(val), jen.Id("ok")).Op(":=").Add(field()).Dot("Get").Call(), jen.Id("ok")).BlockFunc(func(ig *jen.Group) {
					g.checkValue(ig, func() *jen.Statement { return jen.Id(val) }, p.Schema, tok{name: p.Name}, false)
				})
				g.loopDone()
				continue
			}
			_, ptr := g.fieldShape(p.Schema, p.Required, g.byPointer[p])
			g.checkValue(gr, field, p.Schema, tok{name: p.Name}, ptr)
		}
		if ap := s.AdditionalProperties; len(s.Properties) > 0 && ap != nil && needs[ap] && s.ExtraGoName != "" {
			// The undeclared members, in the map emitOpenStruct adds.
			extra := s.ExtraGoName
			k := g.loopVar("k")
			val := "val" + strings.TrimPrefix(k, "k")
			defer g.loopDone()
			gr.For(jen.List(jen.Id(k), jen.Id(val)).Op(":=").Range().Add(expr().Dot(extra))).BlockFunc(func(fg *jen.Group) {
				g.checkValue(fg, func() *jen.Statement { return jen.Id(val) }, ap, tok{key: k}, false)
			})
		}
	case model.KindArray:
		if s.Items == nil || !needs[s.Items] {
			return
		}
		i := g.loopVar("i")
		defer g.loopDone()
		gr.For(jen.Id(i).Op(":=").Range().Add(expr())).BlockFunc(func(fg *jen.Group) {
			g.checkValue(fg, func() *jen.Statement { return expr().Index(jen.Id(i)) }, s.Items, tok{index: i}, false)
		})
	case model.KindMap:
		if s.AdditionalProperties == nil || !needs[s.AdditionalProperties] {
			return
		}
		k := g.loopVar("k")
		val := "val" + strings.TrimPrefix(k, "k")
		defer g.loopDone()
		gr.For(jen.List(jen.Id(k), jen.Id(val)).Op(":=").Range().Add(expr())).BlockFunc(func(fg *jen.Group) {
			g.checkValue(fg, func() *jen.Statement { return jen.Id(val) }, s.AdditionalProperties, tok{key: k}, false)
		})
	case model.KindUnion:
		if s.Discriminator == nil {
			g.checkVariants(gr, expr, s)
			return
		}
		for _, vr := range g.variants(s) {
			if !needs[vr.schema] {
				continue
			}
			// Each variant is a pointer; the value sits at the union's location.
			g.checkValue(gr, func() *jen.Statement { return expr().Dot(vr.name) }, vr.schema, tok{}, true)
		}
	}
}

// checkVariants emits the count of the variants the raw JSON of union s
// (expr) matches: it decodes as the variant's type, carries the members the
// variant requires (and no other, when closed), and breaks none of its
// keywords.
func (g *generator) checkVariants(gr *jen.Group, expr func() *jen.Statement, s *model.Schema) {
	gr.If(jen.Qual(validatePkg, "Null").Call(expr().Dot("raw"))).Block(jen.Return()) // absent or null: not a variant's business
	gr.Id("matched").Op(":=").Lit(0)
	shaped := g.shapes()
	for _, vr := range g.variants(s) {
		as := expr().Dot("As" + vr.name).Call()
		checked := g.valid.needs[vr.schema]
		if !checked && !shaped[vr.schema] {
			gr.If(jen.List(jen.Id("_"), jen.Err()).Op(":=").Add(as), jen.Err().Op("==").Nil()).Block(jen.Id("matched").Op("++"))
			continue
		}
		val := "_"
		if checked {
			val = g.loopVar("val")
			g.loopDone() // the variable lives in this if statement only
		}
		var shape jen.Code = jen.Nil()
		if shaped[vr.schema] {
			shape = g.shapeExpr(vr.schema)
		}
		var check jen.Code = jen.Nil()
		switch {
		case checked && g.hasMethod(vr.schema):
			check = jen.Id(val).Dot("validate") // a method value
		case checked:
			check = jen.Func().Params(jen.Id("v").Op("*").Qual(validatePkg, "Errors")).BlockFunc(func(fg *jen.Group) {
				g.checkValue(fg, func() *jen.Statement { return jen.Id(val) }, vr.schema, tok{}, false)
			})
		}
		gr.If(jen.List(jen.Id(val), jen.Err()).Op(":=").Add(as), jen.Err().Op("==").Nil().Op("&&").Qual(validatePkg, "Matches").Call(expr().Dot("raw"), shape, check)).Block(jen.Id("matched").Op("++"))
	}
	gr.Id("v").Dot("Matched").Call(jen.Id("matched"), jen.Lit(!s.AnyOf))
}

// loopVar names the variable of a loop nested in g.loops others: "i", then
// "i2", "i3"... so that inner loops do not shadow the outer ones.
func (g *generator) loopVar(base string) string {
	g.loops++
	if g.loops == 1 {
		return base
	}
	return base + strconv.Itoa(g.loops)
}

// loopDone ends the innermost loop variable.
func (g *generator) loopDone() { g.loops-- }

// enumType reports whether the named schema s is emitted with a Valid method.
func (g *generator) enumType(s *model.Schema) bool { return len(s.EnumValues) > 0 }

// enumLits are the Go literals of s's enum values that fit its kind.
func enumLits(s *model.Schema) []jen.Code {
	var out []jen.Code
	seen := map[string]bool{}
	for _, e := range s.Enum {
		var lit jen.Code
		switch x := e.(type) {
		case string:
			if s.Kind == model.KindString {
				lit = jen.Lit(x)
			}
		case int64:
			if s.Kind == model.KindInteger || s.Kind == model.KindNumber {
				lit = jen.Lit(int(x))
			}
		case int:
			if s.Kind == model.KindInteger || s.Kind == model.KindNumber {
				lit = jen.Lit(x)
			}
		case float64:
			if s.Kind == model.KindNumber || s.Kind == model.KindInteger && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				lit = jen.Lit(x)
				if s.Kind == model.KindInteger {
					lit = jen.Lit(int(x))
				}
			}
		}
		if raw := fmt.Sprint(e); lit != nil && !seen[raw] {
			seen[raw] = true
			out = append(out, lit)
		}
	}
	return out
}

// enumDetail is the detail of a value outside s's enum (or const).
func enumDetail(s *model.Schema) string {
	if len(s.Enum) == 1 {
		return "must be " + enumList(s)
	}
	return "must be one of " + enumList(s)
}

// enumList spells the allowed values for a violation's detail (at most ten).
func enumList(s *model.Schema) string {
	var vals []string
	for _, e := range s.Enum {
		if len(vals) == 10 {
			vals = append(vals, "...")
			break
		}
		if str, ok := e.(string); ok {
			vals = append(vals, strconv.Quote(str))
		} else {
			vals = append(vals, fmt.Sprint(e))
		}
	}
	return strings.Join(vals, ", ")
}

// anyValidation reports whether some operation has something to validate.
func (g *generator) anyValidation() bool {
	for _, op := range g.all {
		if op.Body != nil {
			for _, c := range op.Body.Contents {
				if !op.NoValidate && c.Kind == model.BodyJSON && g.bodyShaped(c.Schema) {
					return true
				}
			}
		}
		if g.needsValidation(op) || len(g.validatedResponses(op)) > 0 {
			return true
		}
	}
	return false
}

// writeRequestError is the statement answering a request that could not be
// decoded or is invalid (400 problem+json; with an errors list for a
// *validate.Error).
func writeRequestError() jen.Code {
	return jen.Id("s").Dot("kit").Dot("RequestError").Call(jen.Id("w"), jen.Id("r"), jen.Err())
}

// decodeAndValidate are the statements that decode a request of op into req
// (a pointer when asPointer) and validate it, answering a failure.
func (g *generator) decodeAndValidate(op *model.Operation, asPointer bool) jen.Code {
	n := g.ops[op]
	reqArg := jen.Op("&").Id("req")
	first := jen.Var().Id("req").Id(n.Request)
	if asPointer {
		reqArg = jen.Id("req")
		first = jen.Id("req").Op(":=").New(jen.Id(n.Request))
	}
	decode := jen.Id("s").Dot("decode"+n.Method).Call(jen.Id("r"), reqArg)
	if g.needsValidation(op) {
		// One 400 lists the absent members (found while decoding) with the
		// other violations.
		decode = jen.Qual(validatePkg, "Request").Call(decode, jen.Id("req").Dot("validate"))
	}
	return jen.Add(first).Line().
		If(jen.Err().Op(":=").Add(decode), jen.Err().Op("!=").Nil()).Block(
		writeRequestError(), jen.Return(),
	)
}

// admitted are the first statements of handleX: decoding and validating the
// request, or, for an idempotent operation, taking the request admitX
// decoded before the idempotency middleware.
func (g *generator) admitted(op *model.Operation) jen.Code {
	n := g.ops[op]
	if !op.Idempotent() {
		return g.decodeAndValidate(op, false)
	}
	return jen.List(jen.Id("req"), jen.Id("ok")).Op(":=").Qual(validatePkg, "Admitted").Types(jen.Id(n.Request)).Call(jen.Id("r")).Line().
		If(jen.Op("!").Id("ok")).Block(
		jen.Id("s").Dot("kit").Dot("Fail").Call(jen.Id("w"), jen.Id("r"), jen.Lit(op.ID), jen.Qual("errors", "New").Call(jen.Lit("handle"+n.Method+": the request was not decoded by admit"+n.Method))),
		jen.Return(),
	)
}

// emitAdmit emits admitX of an idempotent operation: the decoding and
// validation of its requests before the idempotency middleware, so that an
// invalid request is answered 400 without claiming its key or leaving a
// record, and the same key with a valid request then runs the handler.
func (g *generator) emitAdmit(f *jen.File, op *model.Operation) {
	n := g.ops[op]
	f.Add(docText(fmt.Sprintf("admit%s decodes and validates a %s request before next (the\n"+
		"idempotency middleware) claims its key: an invalid request is answered 400\n"+
		"and leaves no record. next finds the decoded request with validate.Admitted.", n.Method, opLabel(op))))
	f.Func().Params(jen.Id("s").Op("*").Id(g.serverType())).Id("admit"+n.Method).Params(jen.Id("next").Qual(httpPkg, "Handler")).Qual(httpPkg, "Handler").Block(
		jen.Return(jen.Qual(httpPkg, "HandlerFunc").Call(jen.Func().Params(jen.Id("w").Qual(httpPkg, "ResponseWriter"), jen.Id("r").Op("*").Qual(httpPkg, "Request")).Block(
			g.decodeAndValidate(op, true),
			jen.Id("next").Dot("ServeHTTP").Call(jen.Id("w"), jen.Qual(validatePkg, "Admit").Call(jen.Id("r"), jen.Id("req"))),
		))),
	)
}

// count spells n things: "1 item", "3 items", "2 properties".
func count(n int, thing string) string {
	switch {
	case n == 1:
	case strings.HasSuffix(thing, "y"):
		thing = strings.TrimSuffix(thing, "y") + "ies"
	default:
		thing += "s"
	}
	return strconv.Itoa(n) + " " + thing
}

// shapes computes (once) the schemas below which a request must carry
// required members, and names the shape variable of each named one.
func (g *generator) shapes() map[*model.Schema]bool {
	v := g.validation()
	if v.shaped != nil {
		return v.shaped
	}
	v.shapeNames = map[*model.Schema]string{}
	var roots []*model.Schema
	for _, op := range g.all {
		if !op.NoValidate {
			roots = append(roots, jsonBodies(op)...)
		}
	}
	for _, s := range g.api.Schemas {
		if g.rawUnion(s) && v.needs[s] {
			// A variant matches only with the members it requires.
			for _, vr := range g.variants(s) {
				roots = append(roots, vr.schema)
			}
		}
	}
	v.shaped = holders(roots, shapeChildren, shapeOwn, nil)
	for _, s := range g.api.Schemas {
		if v.shaped[s] {
			// Unexported: no other package-level name starts with "shape".
			v.shapeNames[s] = "shape" + g.schemaNames[s]
		}
	}
	return v.shaped
}

// shapeOwn reports whether the JSON text of a value of s is checked by
// validate.Required: required members, additionalProperties: false, or a
// struct's number of members (the decoded struct cannot tell).
func shapeOwn(s *model.Schema) bool {
	if len(requiredProps(s)) > 0 || len(requiredReadOnly(s)) > 0 {
		return true
	}
	return s.GoType == "" && s.Kind == model.KindObject && len(s.Properties) > 0 &&
		(s.Closed || s.MinProperties > 0 || s.MaxProperties != nil)
}

// requiredReadOnly are the required readOnly properties of s: a request must
// not send them, and their Go values (not pointers: a response always has
// them) cannot tell, so the JSON scan refuses them.
func requiredReadOnly(s *model.Schema) map[*model.Property]bool {
	out := map[*model.Property]bool{}
	if s == nil || s.GoType != "" || s.Kind != model.KindObject {
		return out
	}
	for _, p := range s.Properties {
		if p.Required && p.Schema != nil && p.Schema.ReadOnly {
			out[p] = true
		}
	}
	return out
}

// shapeChildren are the schemas below s that validate.Required descends into.
func shapeChildren(s *model.Schema) []*model.Schema {
	var out []*model.Schema
	switch s.Kind {
	case model.KindObject:
		for _, p := range s.Properties {
			if p.Schema != nil && p.Schema.GoType == "" {
				out = append(out, p.Schema)
			}
		}
		if s.AdditionalProperties != nil && len(s.Properties) > 0 {
			out = append(out, s.AdditionalProperties)
		}
	case model.KindMap:
		out = append(out, s.AdditionalProperties)
	case model.KindArray:
		out = append(out, s.Items)
	case model.KindUnion:
		if s.Discriminator != nil {
			out = append(out, s.Variants...)
		}
	}
	return out
}

// tagValues are the discriminator values of each variant of the tagged union
// s: its mapping, or else the variants' schema names (the OpenAPI implicit
// mapping), each value once.
func tagValues(s *model.Schema) map[*model.Schema][]string {
	cases := make(map[*model.Schema][]string)
	seen := make(map[string]bool)
	add := func(v *model.Schema, value string) {
		if !seen[value] {
			seen[value] = true
			cases[v] = append(cases[v], value)
		}
	}
	for _, c := range s.Discriminator.Mapping {
		add(c.Schema, c.Value)
	}
	if len(s.Discriminator.Mapping) == 0 {
		for _, v := range s.Variants {
			if v != nil && v.Name != "" {
				add(v, v.Name)
			}
		}
	}
	return cases
}

// shapeExpr is the validate.Shape of s: its variable when s is named, an
// inline literal otherwise.
func (g *generator) shapeExpr(s *model.Schema) jen.Code {
	if name, ok := g.valid.shapeNames[s]; ok {
		return jen.Id(name)
	}
	return jen.Op("&").Add(g.shapeLit(s))
}

// shapeLit is the validate.Shape literal of s.
func (g *generator) shapeLit(s *model.Schema) jen.Code {
	shaped := g.valid.shaped
	d := jen.Dict{}
	switch s.Kind {
	case model.KindObject:
		if names := requiredProps(s); len(names) > 0 {
			d[jen.Id("Required")] = jen.Index().String().ValuesFunc(func(vg *jen.Group) {
				for _, n := range names {
					vg.Lit(n)
				}
			})
		}
		open := s.AdditionalProperties != nil && shaped[s.AdditionalProperties]
		closed := s.Closed && len(s.Properties) > 0
		props := jen.Dict{}
		readOnly := requiredReadOnly(s)
		for _, p := range s.Properties {
			switch {
			case readOnly[p]:
				props[jen.Lit(p.Name)] = jen.Values(jen.Dict{jen.Id("Name"): jen.Lit(p.Name), jen.Id("ReadOnly"): jen.True()})
			case p.Schema != nil && shaped[p.Schema]:
				props[jen.Lit(p.Name)] = jen.Values(jen.Dict{jen.Id("Name"): jen.Lit(p.Name), jen.Id("Shape"): g.shapeExpr(p.Schema)})
			case open || closed:
				props[jen.Lit(p.Name)] = jen.Nil() // declared: not one of the Values, nor refused
			}
		}
		if len(props) > 0 {
			d[jen.Id("Props")] = jen.Map(jen.String()).Op("*").Qual(validatePkg, "Member").Values(props)
		}
		if open {
			d[jen.Id("Values")] = g.shapeExpr(s.AdditionalProperties)
		}
		if closed {
			d[jen.Id("Closed")] = jen.True()
		}
		if len(s.Properties) > 0 {
			if s.MinProperties > 0 {
				d[jen.Id("MinProps")] = jen.Lit(s.MinProperties)
			}
			if s.MaxProperties != nil {
				d[jen.Id("MaxProps")] = jen.Qual(validatePkg, "Bound").Call(jen.Lit(*s.MaxProperties))
			}
		}
	case model.KindMap:
		d[jen.Id("Values")] = g.shapeExpr(s.AdditionalProperties)
	case model.KindArray:
		d[jen.Id("Items")] = g.shapeExpr(s.Items)
	case model.KindUnion:
		cases := tagValues(s)
		variants := jen.Dict{}
		for _, v := range s.Variants {
			if v == nil || !shaped[v] {
				continue
			}
			for _, value := range cases[v] {
				variants[jen.Lit(value)] = g.shapeExpr(v)
			}
		}
		d[jen.Id("Tag")] = jen.Lit(s.Discriminator.Property)
		d[jen.Id("Variants")] = jen.Map(jen.String()).Op("*").Qual(validatePkg, "Shape").Values(variants)
	}
	return jen.Qual(validatePkg, "Shape").Values(d)
}

// emitShapes emits the shape variables of the named schemas and the init
// function that fills them (they may refer to each other in cycles).
func (g *generator) emitShapes(f *jen.File) {
	shaped := g.shapes()
	var named []*model.Schema
	for _, s := range g.api.Schemas {
		if shaped[s] {
			named = append(named, s)
		}
	}
	if len(named) == 0 {
		return
	}
	f.Comment("The members a request body must carry, per schema, for validate.Required.")
	f.Var().DefsFunc(func(gr *jen.Group) {
		for _, s := range named {
			gr.Id(g.valid.shapeNames[s]).Op("=").New(jen.Qual(validatePkg, "Shape"))
		}
	})
	f.Func().Id("init").Params().BlockFunc(func(gr *jen.Group) {
		for _, s := range named {
			gr.Op("*").Id(g.valid.shapeNames[s]).Op("=").Add(g.shapeLit(s))
		}
	})
}

// bodyShaped reports whether the JSON body schema s has required members
// below it, checked with validate.CheckRequired.
func (g *generator) bodyShaped(s *model.Schema) bool {
	return s != nil && s.GoType == "" && g.shapes()[s]
}

// checkRequired emits the check that a JSON body carries every required
// member at every depth (encoding/json decodes an absent member as its zero
// value), with one scan of the body.
func (g *generator) checkRequired(gr *jen.Group, op *model.Operation, s *model.Schema) {
	if op.NoValidate || !g.bodyShaped(s) {
		return
	}
	gr.If(jen.Err().Op(":=").Qual(validatePkg, "CheckRequired").Call(jen.Id("body"), g.shapeExpr(s)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))
}

// jsonBodies are the schemas of op's JSON request bodies.
func jsonBodies(op *model.Operation) []*model.Schema {
	var out []*model.Schema
	if op.Body != nil {
		for _, c := range op.Body.Contents {
			if c.Kind == model.BodyJSON {
				out = append(out, c.Schema)
			}
		}
	}
	return out
}

// holders returns the schemas reachable from roots (through children; x-go-type
// schemas are opaque) that have a property of their own (own), or hold, at any
// depth, a schema that has it, or a child for which edge(parent, child) holds.
// It walks the "is held by" edges backwards from the schemas with the property,
// visiting each schema and edge once: linear in the spec, cycles included.
func holders(roots []*model.Schema, children func(*model.Schema) []*model.Schema,
	own func(*model.Schema) bool, edge func(parent, child *model.Schema) bool) map[*model.Schema]bool {
	parents := map[*model.Schema][]*model.Schema{}
	seen := map[*model.Schema]bool{}
	out := map[*model.Schema]bool{}
	var queue []*model.Schema
	mark := func(s *model.Schema) {
		if !out[s] {
			out[s] = true
			queue = append(queue, s)
		}
	}
	var visit func(s *model.Schema)
	visit = func(s *model.Schema) {
		if s == nil || seen[s] || s.GoType != "" {
			return
		}
		seen[s] = true
		if own(s) {
			mark(s)
		}
		for _, c := range children(s) {
			if c == nil {
				continue
			}
			if edge != nil && edge(s, c) {
				mark(s)
			}
			parents[c] = append(parents[c], s)
			visit(c)
		}
	}
	for _, r := range roots {
		visit(r)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, p := range parents[s] {
			mark(p)
		}
	}
	return out
}
