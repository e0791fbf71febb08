package otelidem

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// ClientObserver returns the client.Observer to give a client
// (WithClientObserver of a generated client, or client.WithObserver). For
// each attempt it
//
//   - counts it in idempotency.client.attempts and records its latency in
//     idempotency.client.attempt.duration, both by oas.operation,
//     http.request.method, http.response.status_code (when a response came),
//     error.type (when none came), idempotency.replayed and idempotency.client.retry;
//   - adds an idempotency.client.attempt event to the span in the context (the
//     caller's span of the logical call) with the attempt number, the replay
//     flag, the status, the backoff that follows and the key hash.
func (t *Telemetry) ClientObserver() client.Observer { return (*clientObserver)(t) }

type clientObserver Telemetry

func (o *clientObserver) Observe(ctx context.Context, e client.Event) {
	t := (*Telemetry)(o)
	method, _ := requestMethod(e.Method)
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		AttrOperation.String(e.Operation),
		semconv.HTTPRequestMethodKey.String(method),
		AttrReplayed.Bool(e.Replayed),
		AttrRetry.Bool(e.Retry))
	if e.Status != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(e.Status))
	}
	if e.Err != nil {
		attrs = append(attrs, semconv.ErrorType(e.Err))
	}
	if t.attempts.Enabled(ctx) || t.attemptLatency.Enabled(ctx) {
		set := metric.WithAttributeSet(attribute.NewSet(attrs...))
		t.attempts.Add(ctx, 1, set)
		t.attemptLatency.Record(ctx, e.Latency.Seconds(), set)
	}

	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs = append(attrs, AttrAttempt.Int(e.Attempt))
	if e.Retry {
		attrs = append(attrs, AttrWait.Float64(e.Wait.Seconds()))
	}
	if kv, ok := t.keyAttr(e.Key); ok {
		attrs = append(attrs, kv)
	}
	span.AddEvent(EventClientAttempt, trace.WithAttributes(attrs...))
}

// Doer returns a client.Doer that sends each request through d (nil:
// client.NewHTTPClient()) inside a client span named by the method, with the
// semantic conventions' attributes (url.full with every query value replaced
// by REDACTED, since a key may travel in the query) and the key hash, and
// writes the trace context into the request's headers with the propagator so
// that the server's span joins the caller's trace. Give it to a generated
// client with WithHTTPClient; each retry is its own span.
func (t *Telemetry) Doer(d client.Doer) client.Doer {
	if d == nil {
		d = client.NewHTTPClient()
	}
	return &tracingDoer{t: t, next: d}
}

type tracingDoer struct {
	t    *Telemetry
	next client.Doer
}

// Transport returns an http.RoundTripper sending each request through next
// (nil: http.DefaultTransport) as Doer does: in a client span, with the trace
// context written into the request's headers. It is for an http.Client or a
// reverse proxy's Transport (idemgen proxy traces its upstream calls so).
func (t *Telemetry) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &tracingDoer{t: t, next: roundTripDoer{next}}
}

// RoundTrip is Do: the request is cloned before its headers are written.
func (d *tracingDoer) RoundTrip(req *http.Request) (*http.Response, error) { return d.Do(req) }

// roundTripDoer is a RoundTripper as a client.Doer.
type roundTripDoer struct{ rt http.RoundTripper }

func (r roundTripDoer) Do(req *http.Request) (*http.Response, error) { return r.rt.RoundTrip(req) }

func (d *tracingDoer) Do(req *http.Request) (*http.Response, error) {
	t := d.t
	method, original := requestMethod(req.Method)
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLFull(redactedURL(req.URL)),
	}
	if original != "" {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(original))
	}
	if host, port := splitHostPort(req.URL.Host); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port == 0 {
			port = defaultPort(req.URL.Scheme)
		}
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if t.keyHash && t.header != "" {
		if v := req.Header.Get(t.header); v != "" {
			if key, err := idempotency.ParseKeyHeader(v, len(v)); err == nil {
				if kv, ok := t.keyAttr(key); ok {
					attrs = append(attrs, kv)
				}
			}
		}
	}
	ctx, span := t.tracer.Start(req.Context(), method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	// The Retrier sends the same *http.Request on every attempt: write the
	// headers into a copy so that each attempt carries its own span id.
	out := req.Clone(ctx)
	t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := d.next.Do(out)
	if err != nil {
		span.SetAttributes(semconv.ErrorType(err))
		span.SetStatus(codes.Error, "")
		return resp, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if resp.StatusCode >= 400 { // for a client every 4xx/5xx is an error
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
		span.SetStatus(codes.Error, "")
	}
	// As runtime/client reads it: true, or the Structured Field boolean ?1.
	if v := strings.TrimSpace(resp.Header.Get("Idempotent-Replayed")); strings.EqualFold(v, "true") || v == "?1" {
		span.SetAttributes(AttrReplayed.Bool(true))
	}
	return resp, nil
}

// redactedURL is u without user info and with every query value replaced.
func redactedURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "REDACTED"
			}
			q[k] = vs
		}
		c.RawQuery = q.Encode()
	}
	return c.String()
}

func defaultPort(scheme string) int {
	switch scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}
