package otelidem

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Do calls m.Do inside an internal span "idempotency.Do <operation>" carrying
// oas.operation, and counts the call in idempotency.do.active_calls while it
// runs. Give m the IdempotencyObserver (New's idempotency.WithObserver) so
// that the outcome and the key hash land on this span and the outcome in the
// metrics. An error from m.Do (fn's, ErrMismatch,
// ErrInFlight, a store failure) sets the span's status to Error with its
// error.type, never its message.
func (t *Telemetry) Do(ctx context.Context, m *idempotency.Middleware, scope, key string, payload []byte, fn func(context.Context) ([]byte, error)) ([]byte, bool, error) {
	op := m.Operation()
	ctx, span := t.tracer.Start(ctx, "idempotency.Do "+op,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrOperation.String(op)))
	defer span.End()
	if t.doActive.Enabled(ctx) {
		set := metric.WithAttributeSet(attribute.NewSet(AttrOperation.String(op)))
		t.doActive.Add(ctx, 1, set)
		defer t.doActive.Add(ctx, -1, set)
	}
	res, replayed, err := m.Do(ctx, scope, key, payload, fn)
	span.SetAttributes(AttrReplayed.Bool(replayed))
	if err != nil {
		span.SetAttributes(semconv.ErrorType(err))
		span.SetStatus(codes.Error, "")
	}
	return res, replayed, err
}
