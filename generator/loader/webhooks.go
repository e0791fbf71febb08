package loader

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/model"
)

// Webhooks and callbacks are requests the API's provider sends to its users.
// They have no path of their own (a webhook is registered out of band, a
// callback's URL is a runtime expression), so each gets the default path the
// generated receiver serves it at: "/webhooks/{name}" and
// "/callbacks/{operationId}/{name}" (with "/{n}" after it when the callback
// has several expressions). The path's segments are the names, escaped.

// webhooks converts the OpenAPI 3.1 webhooks, by name then method.
func (b *builder) webhooks(doc *openapi3.T, root loc) error {
	for _, name := range sortedKeys(doc.Webhooks) {
		if err := b.ctx.Err(); err != nil {
			return fmt.Errorf("loader: %w", err)
		}
		pi := doc.Webhooks[name]
		if pi == nil {
			continue
		}
		wl := b.follow(root.at("webhooks", name), pi.Ref)
		path := "/webhooks/" + url.PathEscape(name)
		ops := b.receiverOps(pi, wl, path, name, fmt.Sprintf("webhook %q", name), func(m *model.Operation) {
			m.Kind, m.Webhook = model.OpWebhook, name
		})
		b.api.Webhooks = append(b.api.Webhooks, ops...)
	}
	return nil
}

// callbacks converts the callbacks of op (the spec's operation at ol, the
// model's parent), by name, expression, then method.
func (b *builder) callbacks(parent *model.Operation, op *openapi3.Operation, ol loc) {
	for _, name := range sortedKeys(op.Callbacks) {
		cr := op.Callbacks[name]
		if cr == nil || cr.Value == nil {
			continue
		}
		cl := b.follow(ol.at("callbacks", name), cr.Ref)
		exprs := sortedKeys(cr.Value.Map())
		for i, expr := range exprs {
			pi := cr.Value.Value(expr)
			if pi == nil {
				continue
			}
			pl := b.follow(cl.at(expr), pi.Ref)
			path := "/callbacks/" + url.PathEscape(parent.ID) + "/" + url.PathEscape(name)
			hint := ident(parent.ID) + ident(name)
			if len(exprs) > 1 {
				path += "/" + strconv.Itoa(i+1)
				hint += strconv.Itoa(i + 1)
			}
			ops := b.receiverOps(pi, pl, path, hint, fmt.Sprintf("callback %q of %s", name, parent.ID), func(m *model.Operation) {
				m.Kind = model.OpCallback
				m.Callback = &model.Callback{Name: name, Expression: expr, Parent: parent}
			})
			parent.Callbacks = append(parent.Callbacks, ops...)
		}
	}
}

// receiverOps converts the operations of a webhook's or callback's path item
// at pl, served at path. name is the stem of the Go name of an operation
// without operationId (the method is appended unless it is POST, the usual
// method of a delivery). label names the path item in messages; kind sets
// what makes each operation a webhook or a callback.
func (b *builder) receiverOps(pi *openapi3.PathItem, pl loc, path, name, label string, kind func(*model.Operation)) []*model.Operation {
	tmpl, _ := parseTemplate(path)
	if _, ok := pi.Extensions[extension.Name]; ok {
		b.report(model.Warning, extension.RuleMisplaced, pl.at(extension.Name), nil,
			"x-idempotent on the path item of %s has no effect: put it on each operation", label)
	}
	var out []*model.Operation
	for _, method := range methods {
		op := operationOf(pi, method)
		if op == nil {
			continue
		}
		m := b.operation(path, tmpl, method, pi, pl, op, kind)
		if op.OperationID == "" {
			gn := ident(name)
			if method != "POST" {
				gn += ident(strings.ToLower(method))
			}
			if _, over := op.Extensions["x-go-name"].(string); !over {
				b.opGoNames = append(b.opGoNames, opGoName{m, gn})
			}
		}
		b.callbacksUnsupported(m, op, pl.at(strings.ToLower(method)))
		out = append(out, m)
	}
	if pi.Query != nil {
		b.report(model.Warning, RuleOperationUnsupported, pl.at("query"), nil, "%s: the OpenAPI 3.2 QUERY method is not supported; the operation is skipped", label)
	}
	for _, m := range sortedKeys(pi.AdditionalOperations) {
		b.report(model.Warning, RuleOperationUnsupported, pl.at("additionalOperations", m), nil, "%s: additional operations are not supported; %s is skipped", label, m)
	}
	return out
}

// callbacksUnsupported reports the callbacks of a webhook or callback: a
// callback of a callback is not received.
func (b *builder) callbacksUnsupported(m *model.Operation, op *openapi3.Operation, ol loc) {
	for _, name := range sortedKeys(op.Callbacks) {
		b.report(model.Warning, RuleOperationUnsupported, ol.at("callbacks", name), m,
			"%s: callback %q of a webhook or callback is not generated; write its receiver by hand", m.Label(), name)
	}
}
