package webhooks

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/runtime/serverkit"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// receiver implements the generated WebhookHandler and counts how often each
// delivery really ran, so the tests can tell a replay from a second run.
type receiver struct {
	settled, pings, progress atomic.Int64
	mu                       sync.Mutex
	ids                      []string // webhook-id of each settled delivery that ran
}

func (r *receiver) PaymentSettled(ctx context.Context, req PaymentSettledRequestObject) (PaymentSettledResponseObject, error) {
	n := r.settled.Add(1)
	r.mu.Lock()
	r.ids = append(r.ids, req.WebhookID)
	r.mu.Unlock()
	if req.Body.ID == "unknown" {
		return PaymentSettled422Response{}, nil
	}
	return PaymentSettled200JSONResponse{Body: Seen{Count: int(n)}}, nil
}

func (r *receiver) Ping(ctx context.Context, req PingRequestObject) (PingResponseObject, error) {
	r.pings.Add(1)
	return Ping204Response{}, nil
}

func (r *receiver) SubscriptionProgress(ctx context.Context, req SubscriptionProgressRequestObject) (SubscriptionProgressResponseObject, error) {
	return SubscriptionProgress200JSONResponse{Body: Seen{Count: int(r.progress.Add(1))}}, nil
}

func serve(t *testing.T, h WebhookHandler, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	wh, err := NewWebhookHandler(h, serverkit.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		wh = wrap(wh)
	}
	ts := httptest.NewServer(wh)
	t.Cleanup(ts.Close)
	return ts
}

type reply = gentest.Reply

// deliver posts a delivery by hand, as a provider does.
var deliver = gentest.Post

func TestRedeliveredWebhookReplays(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, nil)
	url := ts.URL + "/webhooks/payment.settled"
	first := deliver(t, url, map[string]string{"webhook-id": "evt_1"}, `{"id":"pay_1","amount":5}`)
	if first.Status != 200 || first.Body != `{"count":1}` {
		t.Fatalf("first delivery: %d %q", first.Status, first.Body)
	}
	again := deliver(t, url, map[string]string{"webhook-id": "evt_1"}, `{"id":"pay_1","amount":5}`)
	if again.Status != 200 || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("redelivery: %d %q replayed=%q, want the first response replayed", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	if n := r.settled.Load(); n != 1 {
		t.Fatalf("handler ran %d times for one event, want 1", n)
	}
	other := deliver(t, url, map[string]string{"webhook-id": "evt_2"}, `{"id":"pay_2","amount":5}`)
	if other.Status != 200 || other.Body != `{"count":2}` || r.settled.Load() != 2 {
		t.Fatalf("another event: %d %q ran=%d", other.Status, other.Body, r.settled.Load())
	}
	if strings.Join(r.ids, ",") != "evt_1,evt_2" {
		t.Fatalf("the handler saw delivery ids %v, want the webhook-id headers", r.ids)
	}
}

func TestRedeliveryWithAnotherBodyConflicts(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, nil)
	url := ts.URL + "/webhooks/payment.settled"
	deliver(t, url, map[string]string{"webhook-id": "evt_1"}, `{"id":"pay_1","amount":5}`)
	got := deliver(t, url, map[string]string{"webhook-id": "evt_1"}, `{"id":"pay_1","amount":6}`)
	if got.Status != 422 && got.Status != 409 {
		t.Fatalf("same delivery id, other payload: %d %q, want a conflict", got.Status, got.Body)
	}
	if r.settled.Load() != 1 {
		t.Fatalf("handler ran %d times", r.settled.Load())
	}
}

func TestInvalidDeliveryLeavesNoRecord(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, nil)
	url := ts.URL + "/webhooks/payment.settled"
	bad := deliver(t, url, map[string]string{"webhook-id": "evt_1"}, `{"id":"pay_1","amount":0}`)
	if bad.Status != 400 || !strings.Contains(bad.Body, "amount") {
		t.Fatalf("invalid delivery: %d %q, want 400 naming amount", bad.Status, bad.Body)
	}
	missing := deliver(t, url, nil, `{"id":"pay_1","amount":5}`)
	if missing.Status != 400 {
		t.Fatalf("delivery without webhook-id: %d %q, want 400", missing.Status, missing.Body)
	}
	long := deliver(t, url, map[string]string{"webhook-id": strings.Repeat("x", 65)}, `{"id":"pay_1","amount":5}`)
	if long.Status != 400 {
		t.Fatalf("delivery id over key.maxLength: %d %q, want 400", long.Status, long.Body)
	}
	good := deliver(t, url, map[string]string{"webhook-id": "evt_1"}, `{"id":"pay_1","amount":5}`)
	if good.Status != 200 || r.settled.Load() != 1 {
		t.Fatalf("valid delivery after an invalid one with the same id: %d %q ran=%d", good.Status, good.Body, r.settled.Load())
	}
}

func TestConcurrentRedeliveriesRunOnce(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, nil)
	url := ts.URL + "/webhooks/payment.settled"
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"id":"pay_1","amount":5}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("webhook-id", "evt_race")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if n := r.settled.Load(); n != 1 {
		t.Fatalf("8 concurrent deliveries of one event ran the handler %d times, want 1", n)
	}
}

func TestWaivedWebhookRunsEveryTime(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, nil)
	for range 2 {
		if got := deliver(t, ts.URL+"/webhooks/ping", nil, ""); got.Status != 204 {
			t.Fatalf("ping: %d %q", got.Status, got.Body)
		}
	}
	if r.pings.Load() != 2 {
		t.Fatalf("ping ran %d times, want 2 (not idempotent)", r.pings.Load())
	}
	if _, ok := Waivers["postWebhooksPing"]; !ok {
		t.Fatalf("Waivers = %v, want the ping webhook's waiver", Waivers)
	}
}

func TestCallbackReplays(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, nil)
	url := ts.URL + "/callbacks/subscribe/progress"
	for range 2 {
		got := deliver(t, url, map[string]string{"X-Progress-Id": "p1"}, `{"percent":50}`)
		if got.Status != 200 || got.Body != `{"count":1}` {
			t.Fatalf("callback: %d %q", got.Status, got.Body)
		}
	}
	if r.progress.Load() != 1 {
		t.Fatalf("callback handler ran %d times, want 1", r.progress.Load())
	}
	if got := deliver(t, url, map[string]string{"X-Progress-Id": "p2"}, `{"percent":101}`); got.Status != 400 {
		t.Fatalf("percent 101: %d %q, want 400", got.Status, got.Body)
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/hooks/", http.StripPrefix("/hooks", h))
		return mux
	})
	got := deliver(t, ts.URL+"/hooks/webhooks/payment.settled", map[string]string{"webhook-id": "e"}, `{"id":"p","amount":1}`)
	if got.Status != 200 {
		t.Fatalf("under a prefix: %d %q", got.Status, got.Body)
	}
	unknown := deliver(t, ts.URL+"/hooks/webhooks/nope", nil, "")
	var problem struct{ Status int }
	if unknown.Status != 404 || json.Unmarshal([]byte(unknown.Body), &problem) != nil || problem.Status != 404 {
		t.Fatalf("unknown webhook: %d %q, want a 404 problem", unknown.Status, unknown.Body)
	}
}

func TestUnimplementedWebhook(t *testing.T) {
	ts := serve(t, UnimplementedWebhookHandler{}, nil)
	if got := deliver(t, ts.URL+"/webhooks/ping", nil, ""); got.Status != 501 {
		t.Fatalf("unimplemented: %d %q, want 501", got.Status, got.Body)
	}
	if _, err := NewWebhookHandler(nil); err == nil {
		t.Fatal("NewWebhookHandler(nil) succeeded")
	}
}

// TestSenderRedelivery: the generated WebhookSender delivers to the generated
// receiver with the request's delivery id as the key; a second delivery of
// the event is answered from the record, and says so.
func TestSenderRedelivery(t *testing.T) {
	r := &receiver{}
	ts := serve(t, r, nil)
	s, err := NewWebhookSender(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := PaymentSettledRequestObject{WebhookID: "evt_9", Body: Payment{ID: "pay_9", Amount: 3}}
	first, raw, err := s.PaymentSettled(ctx, req)
	if err != nil || raw.Result.Replayed {
		t.Fatalf("first delivery: %v replayed=%v", err, raw != nil && raw.Result.Replayed)
	}
	again, raw, err := s.PaymentSettled(ctx, req)
	if err != nil || !raw.Result.Replayed || raw.Result.Key != "evt_9" {
		t.Fatalf("redelivery: %v %+v", err, raw.Result)
	}
	if first.(PaymentSettled200JSONResponse).Body != again.(PaymentSettled200JSONResponse).Body || r.settled.Load() != 1 {
		t.Fatalf("redelivery answered %+v after %+v, handler ran %d times", again, first, r.settled.Load())
	}
	if r.ids[0] != "evt_9" {
		t.Fatalf("the receiver saw delivery id %q", r.ids[0])
	}
	if _, _, err := s.SubscriptionProgress(ctx, SubscriptionProgressRequestObject{XProgressId: "p", Body: SubscriptionProgressRequest{Percent: 10}}); err != nil {
		t.Fatalf("callback: %v", err)
	}
}
