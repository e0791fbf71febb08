package diff

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// webhook returns a webhook operation named name, idempotent with p (nil: no
// x-idempotent).
func webhook(name string, p *idempotency.Policy) *model.Operation {
	o := op("", "POST", "/webhooks/"+name, p)
	o.ID, o.Kind, o.Webhook = "postWebhooks"+name, model.OpWebhook, name
	return o
}

// TestWebhookRegressions: a webhook or callback losing x-idempotent, or its
// ttl shortened, is reported like an operation's, and a new webhook without
// x-idempotent too.
func TestWebhookRegressions(t *testing.T) {
	p := &idempotency.Policy{Key: idempotency.Key{Header: "webhook-id"}, TTL: 72 * time.Hour}
	short := &idempotency.Policy{Key: idempotency.Key{Header: "webhook-id"}, TTL: time.Hour}
	parent := func(cb *model.Operation) *model.Operation {
		o := op("subscribe", "POST", "/subscriptions", &idempotency.Policy{})
		cb.Kind, cb.Callback = model.OpCallback, &model.Callback{Name: "onEvent", Parent: o}
		o.Callbacks = []*model.Operation{cb}
		return o
	}
	base := apiOf(parent(op("onEvent", "POST", "/callbacks/subscribe/onEvent", p)))
	base.Webhooks = []*model.Operation{webhook("paid", p), webhook("shipped", p)}
	head := apiOf(parent(op("onEvent", "POST", "/callbacks/subscribe/onEvent", nil)))
	head.Webhooks = []*model.Operation{webhook("paid", nil), webhook("shipped", short), webhook("refunded", nil)}
	fs := Diff(base, head)
	if got, want := rules(fs), []string{RuleRemoved, RuleRemoved, RuleNewUnsafe, RuleTTLShortened}; !slices.Equal(got, want) {
		t.Fatalf("rules = %v, want %v", got, want)
	}
	var msgs []string
	for _, f := range fs {
		msgs = append(msgs, f.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"webhook paid (POST) was idempotent", "callback onEvent of subscribe (POST) was idempotent", "new operation webhook refunded (POST)"} {
		if !strings.Contains(all, want) {
			t.Errorf("no finding says %q:\n%s", want, all)
		}
	}
}
