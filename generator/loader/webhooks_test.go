package loader

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idemgen/idemgen/generator/model"
)

const receiversSpec = `openapi: 3.1.0
info: {title: t, version: "1"}
x-idempotent-defaults:
  ttl: 48h
paths:
  /subscriptions:
    post:
      operationId: subscribe
      x-idempotent: true
      parameters:
        - {name: Idempotency-Key, in: header, required: true, schema: {type: string}}
      callbacks:
        onEvent:
          '{$request.body#/url}':
            post:
              x-idempotent: {key: {header: X-Event-Id}}
              parameters:
                - {name: X-Event-Id, in: header, required: true, schema: {type: string}}
              responses:
                '204': {description: ok}
      responses:
        '201': {description: ok}
webhooks:
  order.shipped:
    post:
      x-idempotent: {key: {header: webhook-id}, ttl: 72h}
      parameters:
        - {name: webhook-id, in: header, required: true, schema: {type: string}}
      responses:
        '200': {description: ok}
    put:
      operationId: subscribe
      responses:
        '200': {description: ok}
`

// TestWebhooksAndCallbacks: webhooks and callbacks are operations of the
// model with their kind, default path, names and merged, checked policy; an
// operationId they share with an operation is renamed with an error.
func TestWebhooksAndCallbacks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(path, []byte(receiversSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	api := load(t, path)
	if len(api.Webhooks) != 2 {
		t.Fatalf("webhooks = %d, want 2", len(api.Webhooks))
	}
	post, put := api.Webhooks[1], api.Webhooks[0] // model order: PUT before POST
	if post.Kind != model.OpWebhook || post.Webhook != "order.shipped" || post.Path != "/webhooks/order.shipped" ||
		post.ID != "postWebhooksOrderShipped" || post.GoName != "OrderShipped" || post.Pos.Line != 25 {
		t.Errorf("webhook POST = %+v", post)
	}
	if !post.Idempotent() || post.Idempotency.Policy.Key.Header != "webhook-id" || post.Idempotency.Policy.TTL != 72*time.Hour ||
		post.Idempotency.Policy.Operation != post.ID {
		t.Errorf("webhook policy = %+v", post.Idempotency)
	}
	if put.ID != "subscribe2" || put.GoName != "Subscribe2" {
		t.Errorf("webhook PUT: ID %q GoName %q, want subscribe2 (the operation has subscribe)", put.ID, put.GoName)
	}
	dup := false
	for _, d := range api.Diagnostics {
		dup = dup || d.Rule == RuleOperationIDDuplicate && d.Operation == put
		if d.Rule == RuleOperationUnsupported {
			t.Errorf("unexpected %s", d.Error())
		}
	}
	if !dup {
		t.Error("no operation-id-duplicate for the webhook reusing subscribe")
	}
	sub := findOp(t, api, "subscribe")
	if len(sub.Callbacks) != 1 {
		t.Fatalf("callbacks = %d", len(sub.Callbacks))
	}
	cb := sub.Callbacks[0]
	if cb.Kind != model.OpCallback || cb.Callback.Name != "onEvent" || cb.Callback.Expression != "{$request.body#/url}" ||
		cb.Callback.Parent != sub || cb.Path != "/callbacks/subscribe/onEvent" || cb.GoName != "SubscribeOnEvent" {
		t.Errorf("callback = %+v %+v", cb, cb.Callback)
	}
	if !cb.Idempotent() || cb.Idempotency.Policy.TTL != 48*time.Hour {
		t.Errorf("callback policy (ttl from the defaults) = %+v", cb.Idempotency)
	}
	if got := api.Receivers(); len(got) != 3 || got[2] != cb {
		t.Errorf("Receivers = %v", got)
	}
	if cb.Label() != "callback onEvent of subscribe (POST)" || post.Label() != "webhook order.shipped (POST)" {
		t.Errorf("labels %q %q", cb.Label(), post.Label())
	}
}

// TestReceiverDerivedIDAndPathParam: a webhook whose derived ID (from its
// default path) is an operation's operationId is renamed without an error,
// and a path parameter, which a webhook cannot receive, is no load error
// (generate warns).
func TestReceiverDerivedIDAndPathParam(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.yaml")
	spec := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /webhooks/x:
    post:
      operationId: postWebhooksX
      responses:
        '200': {description: ok}
webhooks:
  x:
    post:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        '200': {description: ok}
`
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	api := load(t, path)
	for _, d := range api.Diagnostics {
		if d.Severity == model.Error {
			t.Errorf("unexpected error %s", d.Error())
		}
	}
	if wh := api.Webhooks[0]; wh.ID != "postWebhooksX2" || wh.GoName != "X" {
		t.Errorf("webhook ID %q GoName %q, want postWebhooksX2 and X", wh.ID, wh.GoName)
	}
}

// TestReceiverSecurity: a webhook or callback has only its own security
// requirement; the root's protects the operations.
func TestReceiverSecurity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.yaml")
	spec := `openapi: 3.1.0
info: {title: t, version: "1"}
security: [{bearer: []}]
paths:
  /subscriptions:
    post:
      operationId: subscribe
      responses: {'201': {description: ok}}
      callbacks:
        progress:
          '{$request.body#/url}':
            post:
              operationId: progress
              security: [{basic: []}]
              responses: {'204': {description: ok}}
webhooks:
  plain:
    post:
      responses: {'204': {description: ok}}
  signed:
    post:
      security: [{secret: []}]
      responses: {'204': {description: ok}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    basic: {type: http, scheme: basic}
    secret: {type: apiKey, in: header, name: X-Secret}
`
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	api := load(t, path)
	schemes := func(op *model.Operation) []string {
		var out []string
		for _, alt := range op.Security {
			for _, u := range alt.Schemes {
				out = append(out, u.Scheme.Name)
			}
		}
		return out
	}
	sub := api.Operations[0]
	if !sub.Secured || len(schemes(sub)) != 1 || schemes(sub)[0] != "bearer" {
		t.Errorf("operation: Secured %v, schemes %v; want the root's bearer", sub.Secured, schemes(sub))
	}
	plain, signed := api.Webhooks[0], api.Webhooks[1]
	if plain.Secured || plain.Security != nil {
		t.Errorf("webhook plain: Secured %v, Security %v; want none (the root's is not inherited)", plain.Secured, schemes(plain))
	}
	if got := schemes(signed); !signed.Secured || len(got) != 1 || got[0] != "secret" {
		t.Errorf("webhook signed: Secured %v, schemes %v; want its own secret", signed.Secured, got)
	}
	if got := schemes(sub.Callbacks[0]); !sub.Callbacks[0].Secured || len(got) != 1 || got[0] != "basic" {
		t.Errorf("callback: schemes %v, want its own basic", got)
	}
}
