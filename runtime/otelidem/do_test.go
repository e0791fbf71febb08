package otelidem_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/otelidem"
)

// TestDo runs Middleware.Do through Telemetry.Do: executed, replayed,
// mismatch and, while fn runs, conflict; each call is one span with its
// outcome, and the outcomes are counted.
func TestDo(t *testing.T) {
	h := newHarness(t)
	mw := h.idempotencyMiddleware(t, "chargeOrder")
	ctx := context.Background()
	ok := func(context.Context) ([]byte, error) { return []byte(`{"charged":true}`), nil }

	if _, replayed, err := h.tel.Do(ctx, mw, "acme", keyA, []byte(`{"order":1}`), ok); err != nil || replayed {
		t.Fatalf("first Do: replayed=%v err=%v", replayed, err)
	}
	if _, replayed, err := h.tel.Do(ctx, mw, "acme", keyA, []byte(`{"order":1}`), ok); err != nil || !replayed {
		t.Fatalf("second Do: replayed=%v err=%v, want a replay", replayed, err)
	}
	if _, _, err := h.tel.Do(ctx, mw, "acme", keyA, []byte(`{"order":2}`), ok); !errors.Is(err, idempotency.ErrMismatch) {
		t.Fatalf("Do with another payload: %v, want ErrMismatch", err)
	}

	entered, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, err := h.tel.Do(ctx, mw, "acme", keyB, nil, func(context.Context) ([]byte, error) {
			close(entered)
			<-release
			return nil, nil
		})
		if err != nil {
			t.Errorf("slow Do: %v", err)
		}
	}()
	<-entered
	if active := counts(t, h.metrics(t)[otelidem.MetricDoActive], otelidem.AttrOperation); active["chargeOrder"] != 1 {
		t.Errorf("%s while one Do runs: %v, want chargeOrder: 1", otelidem.MetricDoActive, active)
	}
	if _, _, err := h.tel.Do(ctx, mw, "acme", keyB, nil, ok); !errors.Is(err, idempotency.ErrInFlight) {
		t.Errorf("Do while in flight: %v, want ErrInFlight", err)
	}
	close(release)
	wg.Wait()

	spans := h.spans.GetSpans()
	got := map[string]int{}
	for _, s := range spans {
		if s.Name != "idempotency.Do chargeOrder" {
			t.Errorf("span name %q", s.Name)
		}
		a := attrs(s.Attributes)
		outcome := a[otelidem.AttrOutcome]
		got[outcome]++
		if a[otelidem.AttrOperation] != "chargeOrder" {
			t.Errorf("%s: oas.operation %q", outcome, a[otelidem.AttrOperation])
		}
		if want := outcome == "replayed"; a[otelidem.AttrReplayed] != map[bool]string{true: "true", false: "false"}[want] {
			t.Errorf("%s: idempotency.replayed %q", outcome, a[otelidem.AttrReplayed])
		}
		failed := outcome == "mismatch" || outcome == "conflict"
		if (s.Status.Code == codes.Error) != failed || failed && a["error.type"] == "" {
			t.Errorf("%s: status %v, error.type %q", outcome, s.Status, a["error.type"])
		}
		if a[otelidem.AttrKeyHash] != otelidem.KeyHash(keyA) && a[otelidem.AttrKeyHash] != otelidem.KeyHash(keyB) {
			t.Errorf("%s: idempotency.key.hash %q", outcome, a[otelidem.AttrKeyHash])
		}
	}
	want := map[string]int{"executed": 2, "replayed": 1, "mismatch": 1, "conflict": 1}
	if len(spans) != 5 {
		t.Errorf("%d spans, want 5", len(spans))
	}
	m := h.metrics(t)
	counted := counts(t, m[otelidem.MetricOutcomes], otelidem.AttrOutcome, otelidem.AttrOperation.String("chargeOrder"))
	for k, v := range want {
		if got[k] != v {
			t.Errorf("spans with outcome %s: %d, want %d", k, got[k], v)
		}
		if counted[k] != int64(v) {
			t.Errorf("%s{outcome=%s} = %d, want %d", otelidem.MetricOutcomes, k, counted[k], v)
		}
	}
	if active := counts(t, m[otelidem.MetricDoActive], otelidem.AttrOperation); active["chargeOrder"] != 0 {
		t.Errorf("%s after the calls: %v, want chargeOrder: 0", otelidem.MetricDoActive, active)
	}
	if got := histCounts(t, m[otelidem.MetricHandlerDuration]); !equalCounts(got, map[string]uint64{"executed": 2}) {
		t.Errorf("%s counts by outcome: %v", otelidem.MetricHandlerDuration, got)
	}
	assertNoRawKey(t, spans, keyA)
	assertNoRawKey(t, spans, keyB)
}

// TestWithoutKeyHash: no idempotency.key.hash anywhere.
func TestWithoutKeyHash(t *testing.T) {
	h := newHarness(t, otelidem.WithoutKeyHash())
	mw := h.idempotencyMiddleware(t, "chargeOrder")
	if _, _, err := h.tel.Do(context.Background(), mw, "", keyA, nil, func(context.Context) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	for _, s := range h.spans.GetSpans() {
		if v, ok := attrs(s.Attributes)[otelidem.AttrKeyHash]; ok {
			t.Errorf("span %q has idempotency.key.hash %q", s.Name, v)
		}
	}
}
