// Package otelidem reports what the idempotency runtime does as OpenTelemetry
// traces and metrics. It and its otelenv (the SDK set up from the OTEL_*
// variables) are the only idemgen packages that import OpenTelemetry:
// runtime/idempotency, runtime/client, runtime/gateway and the generated code
// stay free of it and expose plain hooks (an idempotency.Observer, a client.Observer, a client.Doer,
// an http middleware), which this package implements.
//
//   - Telemetry.Middleware(operation, route) starts the server span of a request
//     (OpenTelemetry HTTP semantic conventions) and records
//     http.server.request.duration and http.server.active_requests.
//   - Telemetry.IdempotencyObserver records each idempotency outcome (executed,
//     replayed, conflict, mismatch...) and the key's hash on the request's
//     span, in the idempotency.outcomes counter and in the
//     idempotency.duration, idempotency.handler.duration and
//     idempotency.store.duration histograms. It serves the HTTP middleware and
//     Middleware.Do alike.
//   - Telemetry.Do runs Middleware.Do inside a span of its own and counts it
//     in idempotency.do.active_calls while it runs.
//   - Telemetry.ClientObserver counts client attempts and adds one span event per
//     attempt (attempt number, status, replay flag); Telemetry.Doer sends each
//     attempt in a client span and propagates the trace context;
//     Telemetry.Transport does the same as an http.RoundTripper.
//
// The raw idempotency key is never recorded: at most idempotency.key.hash, the
// first 16 hex digits (64 bits) of its SHA-256, so a client's and a server's
// spans of one logical call can be matched (see KeyHash). WithoutKeyHash turns
// that off too. docs/observability.md lists every name emitted.
package otelidem
