package emit

import (
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

const idempotencyPkg = "github.com/idemgen/idemgen/runtime/idempotency"

// emitPolicies emits the policy table: Policies (every idempotent operation's
// compiled policy, by operationId) and Waivers (operations marked
// x-idempotent: false, with their reason).
func (g *generator) emitPolicies() (*jen.File, error) {
	f := g.newFile()
	f.Add(docText("Policies is the compiled x-idempotent policy of every idempotent operation,\n" +
		"by operationId. NewServer wraps each of these operations with it; operations\n" +
		"that are not in the table are not wrapped. Tests and tools may read it; it is\n" +
		"not meant to be changed at run time." + g.webhookPoliciesDoc()))
	f.Var().Id("Policies").Op("=").Map(jen.String()).Qual(idempotencyPkg, "Policy").Values(jen.DictFunc(func(d jen.Dict) {
		for _, op := range g.all {
			if !op.Idempotent() {
				continue
			}
			p := op.Idempotency.Policy
			p.Operation = op.ID
			d[jen.Lit(op.ID)] = policyLiteral(reflect.ValueOf(p), true)
		}
	}))
	f.Add(docText("Waivers lists the operations deliberately marked not idempotent\n" +
		"(x-idempotent: false), by operationId, with the reason given in the spec."))
	f.Var().Id("Waivers").Op("=").Map(jen.String()).String().Values(jen.DictFunc(func(d jen.Dict) {
		for _, op := range g.all {
			if op.Idempotency != nil && !op.Idempotency.Enabled {
				d[jen.Lit(op.ID)] = jen.Lit(op.Idempotency.Reason)
			}
		}
	}))
	return f, nil
}

// policyConstants names the exported constants of the runtime's enumerations,
// so the table reads as code a person would write.
var policyConstants = map[any]string{
	idempotency.ConcurrentReject: "ConcurrentReject",
	idempotency.ConcurrentWait:   "ConcurrentWait",
	idempotency.FormatAny:        "FormatAny",
	idempotency.FormatUUID:       "FormatUUID",
	idempotency.FormatULID:       "FormatULID",
	idempotency.FormatPattern:    "FormatPattern",
}

var durationType = reflect.TypeFor[time.Duration]()

// policyLiteral prints v (a Policy or one of its field values) as a Go
// expression. It walks the struct by reflection, so fields added to Policy
// later are emitted without a change here; zero fields are left out (zero
// means the extension's default). elided drops the type of a composite literal
// (inside a slice or map literal).
func policyLiteral(v reflect.Value, elided bool) jen.Code {
	t := v.Type()
	if t.Kind() == reflect.String {
		if name, ok := policyConstants[v.Interface()]; ok {
			return jen.Qual(t.PkgPath(), name)
		}
	}
	if t == durationType {
		return durationLiteral(time.Duration(v.Int()))
	}
	switch t.Kind() {
	case reflect.Struct:
		typ := jen.Qual(t.PkgPath(), t.Name())
		// Fields in declaration order (a jen.Dict would sort them).
		values := func(gr *jen.Group) {
			for i := 0; i < t.NumField(); i++ {
				if !t.Field(i).IsExported() || v.Field(i).IsZero() {
					continue
				}
				gr.Line().Id(t.Field(i).Name).Op(":").Add(policyLiteral(v.Field(i), false))
			}
			gr.Line()
		}
		if elided {
			return jen.ValuesFunc(values)
		}
		return typ.ValuesFunc(values)
	case reflect.Pointer:
		return jen.Op("&").Add(policyLiteral(v.Elem(), false))
	case reflect.Slice:
		return jen.Index().Add(typeExpr(t.Elem())).ValuesFunc(func(gr *jen.Group) {
			for i := 0; i < v.Len(); i++ {
				gr.Add(policyLiteral(v.Index(i), true))
			}
		})
	case reflect.String:
		if t.PkgPath() != "" {
			return jen.Qual(t.PkgPath(), t.Name()).Call(jen.Lit(v.String()))
		}
		return jen.Lit(v.String())
	case reflect.Bool:
		return jen.Lit(v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		if t.PkgPath() != "" {
			return jen.Qual(t.PkgPath(), t.Name()).Call(jen.Lit(int(v.Int())))
		}
		return jen.Lit(int(v.Int()))
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		return jen.Add(typeExpr(t)).Call(jen.Lit(v.Uint()))
	case reflect.Float64, reflect.Float32:
		return jen.Add(typeExpr(t)).Call(jen.Lit(v.Float()))
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		return jen.Map(typeExpr(t.Key())).Add(typeExpr(t.Elem())).ValuesFunc(func(gr *jen.Group) {
			for _, k := range keys {
				gr.Line().Add(policyLiteral(k, true)).Op(":").Add(policyLiteral(v.MapIndex(k), true))
			}
			gr.Line()
		})
	}
	panic(fmt.Sprintf("emit: policy field of unsupported kind %s", t))
}

// typeExpr is the Go type expression of t (a field type of Policy).
func typeExpr(t reflect.Type) jen.Code {
	switch {
	case t.Kind() == reflect.Pointer:
		return jen.Op("*").Add(typeExpr(t.Elem()))
	case t.Kind() == reflect.Slice:
		return jen.Index().Add(typeExpr(t.Elem()))
	case t.Kind() == reflect.Map:
		return jen.Map(typeExpr(t.Key())).Add(typeExpr(t.Elem()))
	case t.PkgPath() != "":
		return jen.Qual(t.PkgPath(), t.Name())
	}
	return jen.Id(t.Name())
}

// durationLiteral prints d in the largest whole unit ("24 * time.Hour").
func durationLiteral(d time.Duration) jen.Code {
	units := []struct {
		d    time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}}
	for _, u := range units {
		if d%u.d == 0 {
			n := int64(d / u.d)
			if n == 1 {
				return jen.Qual("time", u.name)
			}
			return jen.Lit(int(n)).Op("*").Qual("time", u.name)
		}
	}
	return jen.Qual("time", "Duration").Call(jen.Lit(int64(d)))
}
