package lint

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/generator/loader"
)

// receiversSpec has a webhook without x-idempotent (line 7), a webhook waived
// without a reason (line 12) and a callback whose key header is not declared
// (its x-idempotent at line 24).
const receiversSpec = `openapi: 3.1.0
info: {title: t, version: "1"}
security: []
webhooks:
  order.created:
    post:
      responses:
        '200': {description: ok}
  ping:
    post:
      x-idempotent:
        enabled: false
      responses:
        '204': {description: ok}
paths:
  /subscriptions:
    post:
      operationId: subscribe
      x-idempotent: {enabled: false, reason: test}
      callbacks:
        onEvent:
          '{$request.body#/url}':
            post:
              x-idempotent:
                key: {header: X-Event-Id}
              responses:
                '204': {description: ok}
      responses:
        '201': {description: ok}
`

// TestWebhooksAndCallbacksLinted: the operation rules run on webhooks and
// callbacks, each finding located in the webhook or callback.
func TestWebhooksAndCallbacksLinted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(path, []byte(receiversSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	api, err := loader.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Lint(context.Background(), api, nil) {
		got = append(got, fmt.Sprintf("%d %s %s", f.Pos.Line, f.Rule, f.OperationID()))
	}
	for _, want := range []string{
		"6 " + RuleMissing + " postWebhooksOrderCreated",
		"11 " + RuleWaiverNoReason + " postWebhooksPing",
		"25 " + RuleKeyUndeclared + " postCallbacksSubscribeOnEvent",
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("missing finding %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, f := range Lint(context.Background(), api, nil) {
		if f.Rule == RuleMissing && !strings.Contains(f.Message, `webhook order.created (POST)`) {
			t.Errorf("idempotency-missing does not name the webhook: %s", f.Message)
		}
		// A receiver's Path is only the default path generated code serves it
		// at: a message names the webhook or callback as the spec does.
		if f.Rule == RuleWaiverNoReason && !strings.Contains(f.Message, "of webhook ping (POST) ") {
			t.Errorf("waiver-no-reason does not name the webhook: %s", f.Message)
		}
		if f.Rule == RuleKeyUndeclared && !strings.Contains(f.Message, "of callback onEvent of subscribe (POST) ") {
			t.Errorf("key-param-undeclared does not name the callback: %s", f.Message)
		}
		if strings.Contains(f.Message, "/webhooks/") || strings.Contains(f.Message, "/callbacks/") {
			t.Errorf("message names a receiver by its default path: %s", f.Message)
		}
	}
	var sum strings.Builder
	if err := writeTextSummary(&sum, Lint(context.Background(), api, nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "webhook ping (POST) (postWebhooksPing)") || strings.Contains(sum.String(), "/webhooks/") {
		t.Errorf("the summary does not name receivers as messages do:\n%s", sum.String())
	}
}
