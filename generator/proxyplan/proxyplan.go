// Package proxyplan builds the route table of the gateway (runtime/gateway)
// from a loaded spec: each operation's parsed route (model.Route, the one the
// generated server and client are built from) and its validated policy.
package proxyplan

import (
	"fmt"
	"slices"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/gateway"
)

// Routes returns the gateway's route table of api: every operation, with its
// policy when it has an enabled x-idempotent, in the order the gateway tries
// them: by precedence (model.ComparePrecedence, as in the generated server),
// else in spec order. It fails on a spec with errors: the table would not be
// what the spec says.
func Routes(api *model.API) ([]gateway.Route, error) {
	for _, d := range api.Diagnostics {
		if d.Severity == model.Error {
			return nil, fmt.Errorf("gateway: the spec has errors, first: %s", d.Error())
		}
	}
	ops := slices.Clone(api.Operations)
	slices.SortStableFunc(ops, func(a, b *model.Operation) int { return model.ComparePrecedence(a.Route, b.Route) })
	routes := make([]gateway.Route, 0, len(ops))
	for _, op := range ops {
		r := gateway.Route{
			Method:    op.Method,
			Path:      op.Path,
			Operation: op.ID,
			Source:    op.Pos.String(),
			Segments:  make([][]gateway.Part, len(op.Route.Segments)),
		}
		for i, seg := range op.Route.Segments {
			parts := make([]gateway.Part, len(seg.Parts))
			for j, p := range seg.Parts {
				parts[j] = gateway.Part{Literal: p.Literal, Param: p.Name}
			}
			r.Segments[i] = parts
		}
		if op.Idempotent() {
			p := op.Idempotency.Policy
			if p.Operation == "" {
				p.Operation = op.ID
			}
			r.Policy = &p
		}
		routes = append(routes, r)
	}
	return routes, nil
}
