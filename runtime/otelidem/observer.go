package otelidem

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// IdempotencyObserver returns the idempotency.Observer to give the server
// (WithObserver of a generated server, or idempotency.WithObserver). For each
// event it
//
//   - sets idempotency.outcome and oas.operation on the span in the context (the
//     server span of Middleware, the span of Do, or any span of the caller) and
//     adds an idempotency.outcome span event with the status and error.type;
//     a takeover sets idempotency.takeover=true and adds an
//     idempotency.takeover event instead, as it comes besides the final outcome;
//   - sets idempotency.key.hash on that span from the key the middleware read,
//     whatever its source (header, query, body field, derived), unless
//     WithoutKeyHash;
//   - counts the outcome in idempotency.outcomes{oas.operation, idempotency.outcome};
//   - records, by the same attributes and takeovers excepted, the latency in
//     idempotency.duration, the handler's share in idempotency.handler.duration
//     (when it ran) and the store's in idempotency.store.duration (when it was
//     asked).
//
// The error's message is never recorded, only its type (error.type).
func (t *Telemetry) IdempotencyObserver() idempotency.Observer { return (*idemObserver)(t) }

type idemObserver Telemetry

func (o *idemObserver) Observe(ctx context.Context, e idempotency.Event) {
	t := (*Telemetry)(o)
	op, outcome := AttrOperation.String(e.Operation), AttrOutcome.String(e.Outcome.String())
	if t.outcomes.Enabled(ctx) || t.duration.Enabled(ctx) {
		set := metric.WithAttributeSet(attribute.NewSet(op, outcome))
		t.outcomes.Add(ctx, 1, set)
		if e.Outcome != idempotency.OutcomeTakeover {
			t.duration.Record(ctx, e.Latency.Seconds(), set)
			if e.HandlerLatency > 0 {
				t.handlerDuration.Record(ctx, e.HandlerLatency.Seconds(), set)
			}
			if e.StoreLatency > 0 {
				t.storeDuration.Record(ctx, e.StoreLatency.Seconds(), set)
			}
		}
	}

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if e.Outcome == idempotency.OutcomeTakeover {
		span.SetAttributes(AttrTakeover.Bool(true))
		span.AddEvent(EventTakeover, trace.WithAttributes(op))
		return
	}
	if kv, ok := t.keyAttr(e.Key); ok {
		span.SetAttributes(kv)
	}
	span.SetAttributes(op, outcome)
	attrs := []attribute.KeyValue{op, outcome}
	if e.Status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(e.Status))
	}
	if e.Err != nil {
		attrs = append(attrs, semconv.ErrorType(e.Err))
	}
	span.AddEvent(EventOutcome, trace.WithAttributes(attrs...))
}
