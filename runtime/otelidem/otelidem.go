package otelidem

import (
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

// ScopeName is the instrumentation scope of every tracer and meter this
// package creates.
const ScopeName = "github.com/idemgen/idemgen/runtime/otelidem"

// Attribute keys of this package (the HTTP ones come from the OpenTelemetry
// semantic conventions).
const (
	// AttrOperation is the OpenAPI operationId (the same key as ogen's).
	AttrOperation = attribute.Key("oas.operation")
	// AttrOutcome is the idempotency outcome: executed, replayed, conflict,
	// mismatch, rejected_key, store_error, takeover, not_cached or no_key.
	AttrOutcome = attribute.Key("idempotency.outcome")
	// AttrTakeover is set (true) on a span whose request took over an expired claim.
	AttrTakeover = attribute.Key("idempotency.takeover")
	// AttrKeyHash is KeyHash of the idempotency key, never the key itself.
	AttrKeyHash = attribute.Key("idempotency.key.hash")
	// AttrReplayed reports that the server answered with a stored outcome.
	AttrReplayed = attribute.Key("idempotency.replayed")
	// AttrAttempt is the 1-based number of a client attempt.
	AttrAttempt = attribute.Key("idempotency.client.attempt")
	// AttrRetry reports that another client attempt follows.
	AttrRetry = attribute.Key("idempotency.client.retry")
	// AttrWait is the backoff before the next client attempt, in seconds.
	AttrWait = attribute.Key("idempotency.client.wait")
)

// Metric names emitted (besides the semantic conventions'
// http.server.request.duration and http.server.active_requests).
const (
	MetricOutcomes        = "idempotency.outcomes"
	MetricDuration        = "idempotency.duration"
	MetricHandlerDuration = "idempotency.handler.duration"
	MetricStoreDuration   = "idempotency.store.duration"
	MetricDoActive        = "idempotency.do.active_calls"
	MetricClientAttempts  = "idempotency.client.attempts"
	MetricClientDuration  = "idempotency.client.attempt.duration"
)

// Span event names.
const (
	EventOutcome       = "idempotency.outcome"
	EventTakeover      = "idempotency.takeover"
	EventClientAttempt = "idempotency.client.attempt"
)

// durationBuckets are the semantic conventions' HTTP duration buckets, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// storeBuckets start lower: a claim on Redis or PostgreSQL on the same network
// takes well under the HTTP buckets' first 5 ms.
var storeBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Option configures New.
type Option func(*config)

type config struct {
	tp      trace.TracerProvider
	mp      metric.MeterProvider
	prop    propagation.TextMapPropagator
	header  string
	keyHash bool
}

// WithTracerProvider sets the tracer provider (default: otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets the meter provider (default: otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithPropagator sets how trace context is read from server requests and
// written into client requests (default: otel.GetTextMapPropagator(), which is
// a no-op until the application sets one, e.g. propagation.TraceContext{}).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// WithKeyHeader names the request header from which the client's Doer reads
// the idempotency key it hashes (default: Idempotency-Key). The server side
// needs no name: the IdempotencyObserver hashes the key the middleware read,
// from wherever the policy takes it.
func WithKeyHeader(name string) Option { return func(c *config) { c.header = name } }

// WithoutKeyHash records no idempotency.key.hash at all: for keys of low
// entropy (an order number, say), which a short hash does not hide from
// anyone able to guess them.
func WithoutKeyHash() Option { return func(c *config) { c.keyHash = false } }

// Telemetry creates the spans and instruments. It is safe for concurrent use;
// make one per process and share it between the server and the clients.
type Telemetry struct {
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	header  string
	keyHash bool

	serverDuration  metric.Float64Histogram
	serverActive    metric.Int64UpDownCounter
	outcomes        metric.Int64Counter
	duration        metric.Float64Histogram
	handlerDuration metric.Float64Histogram
	storeDuration   metric.Float64Histogram
	doActive        metric.Int64UpDownCounter
	attempts        metric.Int64Counter
	attemptLatency  metric.Float64Histogram
}

// New returns a Telemetry using the global OpenTelemetry providers unless
// options say otherwise. It fails when an instrument cannot be created.
func New(opts ...Option) (*Telemetry, error) {
	c := config{header: idempotency.DefaultHeader, keyHash: true}
	for _, o := range opts {
		o(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.prop == nil {
		c.prop = otel.GetTextMapPropagator()
	}
	meter := c.mp.Meter(ScopeName)
	t := &Telemetry{
		tracer:  c.tp.Tracer(ScopeName),
		prop:    c.prop,
		header:  c.header,
		keyHash: c.keyHash,
	}
	sd, err := httpconv.NewServerRequestDuration(meter)
	if err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	t.serverDuration = sd.Inst()
	sa, err := httpconv.NewServerActiveRequests(meter)
	if err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	t.serverActive = sa.Inst()
	if t.outcomes, err = meter.Int64Counter(MetricOutcomes,
		metric.WithUnit("{outcome}"),
		metric.WithDescription("Idempotency outcomes, by operation and outcome (a takeover is counted besides the request's final outcome).")); err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	if t.duration, err = meter.Float64Histogram(MetricDuration,
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...),
		metric.WithDescription("Time from a request's arrival (or Do's call) to its idempotency outcome. Replayed, conflict and mismatch outcomes ran no handler: their time is the store lookup.")); err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	if t.handlerDuration, err = meter.Float64Histogram(MetricHandlerDuration,
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...),
		metric.WithDescription("Time the handler (or Do's fn) ran, for the requests whose handler ran.")); err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	if t.storeDuration, err = meter.Float64Histogram(MetricStoreDuration,
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(storeBuckets...),
		metric.WithDescription("Time one request (or Do call) spent in the idempotency store: claim, reads while waiting, begin, completion.")); err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	if t.doActive, err = meter.Int64UpDownCounter(MetricDoActive,
		metric.WithUnit("{call}"),
		metric.WithDescription("Telemetry.Do calls running now.")); err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	if t.attempts, err = meter.Int64Counter(MetricClientAttempts,
		metric.WithUnit("{attempt}"),
		metric.WithDescription("HTTP requests sent by idemgen clients, one per attempt of a logical call.")); err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	if t.attemptLatency, err = meter.Float64Histogram(MetricClientDuration,
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...),
		metric.WithDescription("Duration of one client attempt, its response body read included.")); err != nil {
		return nil, fmt.Errorf("otelidem: %w", err)
	}
	return t, nil
}

// KeyHash returns the first 16 hex digits (64 bits) of the SHA-256 of an
// idempotency key (idempotency.KeyHash): enough to match a client's spans with
// a server's and to tell keys apart in logs, not to recover a random key. A
// guessable key is found by hashing guesses; use WithoutKeyHash for those.
func KeyHash(key string) string { return idempotency.KeyHash(key) }

// keyAttr returns the key hash attribute of key, or false when there is
// nothing to record.
func (t *Telemetry) keyAttr(key string) (attribute.KeyValue, bool) {
	if !t.keyHash || key == "" {
		return attribute.KeyValue{}, false
	}
	return AttrKeyHash.String(KeyHash(key)), true
}
