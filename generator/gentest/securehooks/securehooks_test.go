package securehooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/idemgen/idemgen/generator/gentest"
	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/serverkit"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// receiver implements WebhookHandler with no code about principals beyond
// echoing serverkit.Principal: scoping keys by the sender is the generated
// receiver's job.
type receiver struct {
	shipped, progress, pings atomic.Int64
	cancelled                atomic.Int64
	cancelledBy              atomic.Value // the principal of the last OrderCancelled
}

func (r *receiver) OrderCancelled(ctx context.Context, req OrderCancelledRequestObject) (OrderCancelledResponseObject, error) {
	r.cancelled.Add(1)
	r.cancelledBy.Store(serverkit.Principal(ctx))
	return OrderCancelled204Response{}, nil
}

func (r *receiver) OrderShipped(ctx context.Context, req OrderShippedRequestObject) (OrderShippedResponseObject, error) {
	return OrderShipped200JSONResponse{Body: Seen{Count: int(r.shipped.Add(1)), Sender: serverkit.Principal(ctx)}}, nil
}

func (r *receiver) SubscriptionProgress(ctx context.Context, req SubscriptionProgressRequestObject) (SubscriptionProgressResponseObject, error) {
	return SubscriptionProgress200JSONResponse{Body: Seen{Count: int(r.progress.Add(1)), Sender: serverkit.Principal(ctx)}}, nil
}

func (r *receiver) Ping(ctx context.Context, req PingRequestObject) (PingResponseObject, error) {
	r.pings.Add(1)
	return Ping204Response{}, nil
}

// senders is the receiver's WebhookSecurityHandler: the shared secrets it
// gave its providers (two for acme, the old and the rotated one), and one
// basic account. The principal is the provider, not the secret.
type senders struct{}

var secrets = map[string]string{"acme-old": "acme", "acme-new": "acme", "globex-1": "globex"}

func (senders) HandleSecret(ctx context.Context, key string, info serverkit.AuthInfo) (string, error) {
	if p, ok := secrets[key]; ok {
		return p, nil
	}
	return "", errors.New("unknown webhook secret")
}

func (senders) HandleBasic(ctx context.Context, username, password string, info serverkit.AuthInfo) (string, error) {
	if username == "initech" && password == "pw" {
		return "initech", nil
	}
	return "", errors.New("bad basic credentials")
}

// seenHeaders records the headers of every request the receiver got.
type seenHeaders struct {
	mu sync.Mutex
	h  []http.Header
}

func (s *seenHeaders) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.h = append(s.h, r.Header.Clone())
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (s *seenHeaders) last() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h[len(s.h)-1]
}

func serve(t *testing.T, r *receiver) (*httptest.Server, *seenHeaders) {
	t.Helper()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	wh, err := NewWebhookHandler(r, senders{}, serverkit.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	seen := &seenHeaders{}
	ts := httptest.NewServer(seen.wrap(wh))
	t.Cleanup(ts.Close)
	return ts, seen
}

type reply = gentest.Reply

// deliver posts a delivery by hand, as a provider does.
var deliver = gentest.Post

func seen(t *testing.T, r reply) Seen {
	t.Helper()
	var s Seen
	if r.Status != 200 {
		t.Fatalf("status %d %q, want 200", r.Status, r.Body)
	}
	if err := json.Unmarshal([]byte(r.Body), &s); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return s
}

// wantUnauthorized checks a 401 problem+json with the challenge.
func wantUnauthorized(t *testing.T, r reply, challenge string) {
	t.Helper()
	if r.Status != 401 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("got %d %q (Content-Type %q), want 401 problem+json", r.Status, r.Body, r.Header.Get("Content-Type"))
	}
	if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, challenge) {
		t.Fatalf("WWW-Authenticate %q, want a %s challenge", got, challenge)
	}
	var p struct{ Status int }
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil || p.Status != 401 {
		t.Fatalf("problem %q: %v", r.Body, err)
	}
}

// TestRejectedDeliveryLeavesNoRecord: a delivery without the secret, or with
// a wrong one, is answered 401 before its key is claimed; the same delivery
// id with the secret then runs the handler, once.
func TestRejectedDeliveryLeavesNoRecord(t *testing.T) {
	r := &receiver{}
	ts, _ := serve(t, r)
	url := ts.URL + "/webhooks/order.shipped"
	body := `{"order":"o_1"}`
	missing := deliver(t, url, map[string]string{"webhook-id": "evt_1"}, body)
	wantUnauthorized(t, missing, `ApiKey realm="securehooks", in="header", name="X-Webhook-Secret"`)
	wrong := deliver(t, url, map[string]string{"webhook-id": "evt_1", "X-Webhook-Secret": "guess"}, body)
	wantUnauthorized(t, wrong, "ApiKey")
	// Not even decoded: an invalid body without credentials is a 401 too.
	wantUnauthorized(t, deliver(t, url, map[string]string{"webhook-id": "evt_1"}, `{`), "ApiKey")
	if n := r.shipped.Load(); n != 0 {
		t.Fatalf("handler ran %d times for rejected deliveries", n)
	}
	ok := deliver(t, url, map[string]string{"webhook-id": "evt_1", "X-Webhook-Secret": "acme-old"}, body)
	if s := seen(t, ok); s.Count != 1 || s.Sender != "acme" || ok.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("authenticated delivery: %+v replayed=%q, want the handler run for acme", s, ok.Header.Get("Idempotent-Replayed"))
	}
	again := deliver(t, url, map[string]string{"webhook-id": "evt_1", "X-Webhook-Secret": "acme-old"}, body)
	if again.Body != ok.Body || again.Header.Get("Idempotent-Replayed") != "true" || r.shipped.Load() != 1 {
		t.Fatalf("redelivery: %d %q replayed=%q ran=%d, want the first response replayed", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"), r.shipped.Load())
	}
}

// TestPrincipalSeparatesSenders: two providers reusing one delivery id each
// get their own record (scope: [principal], no handler code); a rotated
// secret of the same provider replays, since the credential is not part of
// the key or the fingerprint.
func TestPrincipalSeparatesSenders(t *testing.T) {
	r := &receiver{}
	ts, _ := serve(t, r)
	url := ts.URL + "/webhooks/order.shipped"
	body := `{"order":"o_1"}`
	acme := seen(t, deliver(t, url, map[string]string{"webhook-id": "evt_1", "X-Webhook-Secret": "acme-old"}, body))
	globex := seen(t, deliver(t, url, map[string]string{"webhook-id": "evt_1", "X-Webhook-Secret": "globex-1"}, body))
	if acme.Sender != "acme" || globex.Sender != "globex" || acme.Count != 1 || globex.Count != 2 {
		t.Fatalf("acme %+v, globex %+v: want two runs, each seeing its sender", acme, globex)
	}
	rotated := deliver(t, url, map[string]string{"webhook-id": "evt_1", "X-Webhook-Secret": "acme-new"}, body)
	if s := seen(t, rotated); s != acme || rotated.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("acme's redelivery with its rotated secret: %+v replayed=%q, want acme's response replayed", s, rotated.Header.Get("Idempotent-Replayed"))
	}
	if n := r.shipped.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2", n)
	}
}

// TestUnsecuredWebhookIgnoresRootSecurity: the root bearer requirement
// protects the API's operations; a webhook without its own security takes
// deliveries without credentials.
func TestUnsecuredWebhookIgnoresRootSecurity(t *testing.T) {
	r := &receiver{}
	ts, _ := serve(t, r)
	if got := deliver(t, ts.URL+"/webhooks/ping", nil, ""); got.Status != 204 || r.pings.Load() != 1 {
		t.Fatalf("ping: %d %q ran=%d, want 204", got.Status, got.Body, r.pings.Load())
	}
}

// TestSecuredWithoutIdempotency: a secured webhook without x-idempotent is
// authenticated the same way.
func TestSecuredWithoutIdempotency(t *testing.T) {
	r := &receiver{}
	ts, _ := serve(t, r)
	url := ts.URL + "/webhooks/order.cancelled"
	wantUnauthorized(t, deliver(t, url, nil, ""), "ApiKey")
	if r.cancelled.Load() != 0 {
		t.Fatal("the handler ran for a delivery without the secret")
	}
	if got := deliver(t, url, map[string]string{"X-Webhook-Secret": "globex-1"}, ""); got.Status != 204 || r.cancelled.Load() != 1 || r.cancelledBy.Load() != "globex" {
		t.Fatalf("with the secret: %d %q ran=%d principal=%v, want 204 for globex", got.Status, got.Body, r.cancelled.Load(), r.cancelledBy.Load())
	}
}

// TestCallbackBasic: the callback's own basic requirement, its principal
// scoping the progress ids.
func TestCallbackBasic(t *testing.T) {
	r := &receiver{}
	ts, _ := serve(t, r)
	url := ts.URL + "/callbacks/subscribe/progress"
	wantUnauthorized(t, deliver(t, url, map[string]string{"X-Progress-Id": "p1"}, `{"percent":5}`), `Basic realm="securehooks"`)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"percent":5}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Progress-Id", "p1")
	req.SetBasicAuth("initech", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if s := seen(t, reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}); s.Sender != "initech" || s.Count != 1 {
		t.Fatalf("callback: %+v, want the handler run for initech", s)
	}
}

// TestSenderSendsCredentials: WebhookSender applies the credential option of
// each receiver's requirement (the secret header, basic credentials), and a
// redelivery with another credential of the same provider replays: the
// credential is in neither the key nor the fingerprint.
func TestSenderSendsCredentials(t *testing.T) {
	r := &receiver{}
	ts, headers := serve(t, r)
	ctx := context.Background()
	sender, err := NewWebhookSender(ts.URL, client.WithAPIKey("secret", "acme-old"), client.WithBasicAuth("basic", "initech", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	resp, raw, err := sender.OrderShipped(ctx, OrderShippedRequestObject{WebhookID: "evt_9", Body: OrderShippedRequest{Order: "o_9"}})
	if err != nil {
		t.Fatal(err)
	}
	first, ok := resp.(OrderShipped200JSONResponse)
	if !ok || first.Body.Sender != "acme" || raw.Result.Replayed {
		t.Fatalf("OrderShipped: %#v replayed=%v, want the handler run for acme", resp, raw.Result.Replayed)
	}
	if h := headers.last(); h.Get("X-Webhook-Secret") != "acme-old" || h.Get("Authorization") != "" || h.Get("webhook-id") != client.KeyHeaderValue("evt_9") {
		t.Fatalf("the receiver got secret %q, Authorization %q, webhook-id %q: want only the secret of the webhook's requirement and the delivery id as key",
			h.Get("X-Webhook-Secret"), h.Get("Authorization"), h.Get("webhook-id"))
	}

	rotated, err := NewWebhookSender(ts.URL, client.WithAPIKey("secret", "acme-new"))
	if err != nil {
		t.Fatal(err)
	}
	resp, raw, err = rotated.OrderShipped(ctx, OrderShippedRequestObject{WebhookID: "evt_9", Body: OrderShippedRequest{Order: "o_9"}})
	if err != nil {
		t.Fatal(err)
	}
	if again, ok := resp.(OrderShipped200JSONResponse); !ok || again.Body != first.Body || !raw.Result.Replayed || r.shipped.Load() != 1 {
		t.Fatalf("redelivery with the rotated secret: %#v replayed=%v ran=%d, want the first response replayed", resp, raw.Result.Replayed, r.shipped.Load())
	}

	cb, _, err := sender.SubscriptionProgress(ctx, SubscriptionProgressRequestObject{XProgressId: "p1", Body: SubscriptionProgressRequest{Percent: 50}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := cb.(SubscriptionProgress200JSONResponse); !ok || got.Body.Sender != "initech" {
		t.Fatalf("SubscriptionProgress: %#v, want the handler run for initech", cb)
	}
	if h := headers.last(); h.Get("X-Webhook-Secret") != "" || !strings.HasPrefix(h.Get("Authorization"), "Basic ") {
		t.Fatalf("the callback got secret %q, Authorization %q: want only basic credentials", h.Get("X-Webhook-Secret"), h.Get("Authorization"))
	}

	// The API's own scheme is not the receivers': naming it is an error.
	if _, err := NewWebhookSender(ts.URL, client.WithBearerToken("bearer", "t")); err == nil || !strings.Contains(err.Error(), `"bearer"`) {
		t.Fatalf("NewWebhookSender with the operations' bearer scheme: err %v, want one naming it", err)
	}
}

func TestNilSecurityHandler(t *testing.T) {
	if _, err := NewWebhookHandler(&receiver{}, nil); err == nil || !strings.Contains(err.Error(), "nil WebhookSecurityHandler") {
		t.Fatalf("err %v, want nil WebhookSecurityHandler", err)
	}
}
