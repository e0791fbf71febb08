package otelidem

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// Do calls m.Do inside an internal span "idempotency.Do <operation>" carrying
// oas.operation and the key hash. Give m the IdempotencyObserver (New's
// idempotency.WithObserver) so that the outcome lands on this span and in the
// metrics; Do itself counts nothing. An error from m.Do (fn's, ErrMismatch,
// ErrInFlight, a store failure) sets the span's status to Error with its
// error.type, never its message.
func (t *Telemetry) Do(ctx context.Context, m *idempotency.Middleware, scope, key string, payload []byte, fn func(context.Context) ([]byte, error)) ([]byte, bool, error) {
	op := m.Operation()
	ctx, span := t.tracer.Start(ctx, "idempotency.Do "+op,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(AttrOperation.String(op)))
	defer span.End()
	if kv, ok := t.keyAttr(key); ok {
		span.SetAttributes(kv)
	}
	res, replayed, err := m.Do(ctx, scope, key, payload, fn)
	span.SetAttributes(AttrReplayed.Bool(replayed))
	if err != nil {
		span.SetAttributes(semconv.ErrorType(err))
		span.SetStatus(codes.Error, "")
	}
	return res, replayed, err
}
