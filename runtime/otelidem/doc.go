// Package otelidem reports what the idempotency runtime does as OpenTelemetry
// traces and metrics. It is the only idemgen package that imports OpenTelemetry:
// runtime/idempotency, runtime/client and the generated code stay free of it and
// expose plain hooks (an idempotency.Observer, a client.Observer, a client.Doer,
// an http middleware), which this package implements.
//
//   - Telemetry.Middleware(operation, route) starts the server span of a request
//     (OpenTelemetry HTTP semantic conventions) and records
//     http.server.request.duration and http.server.active_requests.
//   - Telemetry.IdempotencyObserver records each idempotency outcome (executed,
//     replayed, conflict, mismatch...) on the request's span, in the
//     idempotency.outcomes counter and the idempotency.duration histogram. It
//     serves the HTTP middleware and Middleware.Do alike.
//   - Telemetry.Do runs Middleware.Do inside a span of its own.
//   - Telemetry.ClientObserver counts client attempts and adds one span event per
//     attempt (attempt number, status, replay flag); Telemetry.Doer sends each
//     attempt in a client span and propagates the trace context.
//
// The raw idempotency key is never recorded: at most idempotency.key.hash, the
// first 16 hex digits (64 bits) of its SHA-256, so a client's and a server's
// spans of one logical call can be matched (see KeyHash). WithoutKeyHash turns
// that off too. docs/observability.md lists every name emitted.
package otelidem
