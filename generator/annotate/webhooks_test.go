package annotate_test

import (
	"context"
	"os"
	"testing"

	"github.com/idemgen/idemgen/generator/annotate"
	"github.com/idemgen/idemgen/generator/loader"
)

// TestAnnotateWebhooksAndCallbacks: a webhook's and a callback's key header
// parameter and error responses are added in place, as an operation's.
func TestAnnotateWebhooksAndCallbacks(t *testing.T) {
	spec := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /subs:
    post:
      operationId: subscribe
      x-idempotent: {enabled: false, reason: test}
      callbacks:
        onEvent:
          '{$request.body#/url}':
            post:
              x-idempotent: {key: {header: X-Event-Id}}
              responses:
                '204': {description: ok}
      responses:
        '201': {description: ok}
webhooks:
  paid:
    post:
      x-idempotent: {key: {header: webhook-id}}
      responses:
        '200': {description: ok}
`
	ctx := context.Background()
	path, api := loadSpec(t, spec)
	res, err := annotate.Annotate(api, []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	report := annotate.Report(api)
	if len(report.Policies) != 2 || report.Policies[0].OperationID != "postWebhooksPaid" || report.Policies[1].Path != "/callbacks/subscribe/onEvent" {
		t.Errorf("policy report rows = %+v, want the webhook and the callback", report.Policies)
	}
	if res.Changed != 2 {
		t.Errorf("changed %d operations, want the webhook and the callback", res.Changed)
	}
	if err := os.WriteFile(path, res.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := loader.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range after.Receivers() {
		key := op.Idempotency.Policy.Key.Header
		declared := false
		for _, p := range op.Params {
			declared = declared || p.Name == key
		}
		statuses := map[string]bool{}
		for _, r := range op.Responses {
			statuses[r.Status] = true
		}
		if !declared || !statuses["409"] || !statuses["422"] {
			t.Errorf("%s after annotate: key %q declared=%v, responses %v\n%s", op.Label(), key, declared, statuses, res.Data)
		}
	}
}
