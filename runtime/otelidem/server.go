package otelidem

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Middleware returns an http middleware for one operation: operation is its
// operationId and route its path template ("/songs/{songId}"), both known when
// the server is built, so every span and metric has them without parsing the
// request. Either may be empty (a middleware for a whole server): the span is
// then named by the method alone and http.route is left out.
//
// Each request gets a server span named "METHOD route" with the semantic
// conventions' HTTP attributes and the operation id (the IdempotencyObserver
// adds the outcome and the key hash); the response status ends it (5xx is an
// error, 4xx is not, for a server). Put the middleware outside the
// idempotency middleware, so that the span is in the context its
// IdempotencyObserver is given.
func (t *Telemetry) Middleware(operation, route string) func(http.Handler) http.Handler {
	var static []attribute.KeyValue
	if route != "" {
		static = append(static, semconv.HTTPRoute(route))
	}
	if operation != "" {
		static = append(static, AttrOperation.String(operation))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.serve(w, r, next, route, static)
		})
	}
}

func (t *Telemetry) serve(w http.ResponseWriter, r *http.Request, next http.Handler, route string, static []attribute.KeyValue) {
	start := time.Now()
	method, methodOriginal := requestMethod(r.Method)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// The attributes the metrics share; the span has more.
	metricAttrs := make([]attribute.KeyValue, 0, len(static)+4)
	metricAttrs = append(metricAttrs, semconv.HTTPRequestMethodKey.String(method), semconv.URLScheme(scheme))
	metricAttrs = append(metricAttrs, static...)

	spanAttrs := make([]attribute.KeyValue, 0, len(metricAttrs)+8)
	spanAttrs = append(spanAttrs, metricAttrs...)
	spanAttrs = append(spanAttrs, semconv.URLPath(r.URL.Path))
	if methodOriginal != "" {
		spanAttrs = append(spanAttrs, semconv.HTTPRequestMethodOriginal(methodOriginal))
	}
	if host, port := splitHostPort(r.Host); host != "" {
		spanAttrs = append(spanAttrs, semconv.ServerAddress(host))
		if port > 0 {
			spanAttrs = append(spanAttrs, semconv.ServerPort(port))
		}
	}
	if host, _ := splitHostPort(r.RemoteAddr); host != "" {
		spanAttrs = append(spanAttrs, semconv.ClientAddress(host))
	}
	if ua := r.UserAgent(); ua != "" {
		spanAttrs = append(spanAttrs, semconv.UserAgentOriginal(ua))
	}
	if v := protocolVersion(r); v != "" {
		spanAttrs = append(spanAttrs, semconv.NetworkProtocolVersion(v))
	}

	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	spanName := method
	if route != "" {
		spanName = method + " " + route
	}
	ctx, span := t.tracer.Start(ctx, spanName,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(spanAttrs...),
		trace.WithTimestamp(start))
	// With no meter configured, the attribute set is not even built.
	var active metric.AddOption
	if t.serverActive.Enabled(ctx) {
		active = metric.WithAttributeSet(attribute.NewSet(metricAttrs...))
		t.serverActive.Add(ctx, 1, active)
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		// Runs on a panic too (net/http recovers it after us): the request
		// still ends, the gauge goes down and the span records a 500.
		status := sw.status
		if v := recover(); v != nil {
			status = http.StatusInternalServerError
			defer panic(v)
		} else if status == 0 {
			status = http.StatusOK
		}
		if active != nil {
			t.serverActive.Add(ctx, -1, active)
		}
		end := []attribute.KeyValue{semconv.HTTPResponseStatusCode(status)}
		if status >= 500 {
			errType := strconv.Itoa(status)
			end = append(end, semconv.ErrorTypeKey.String(errType))
			span.SetStatus(codes.Error, "")
		}
		span.SetAttributes(end...)
		span.End()
		if t.serverDuration.Enabled(ctx) {
			t.serverDuration.Record(ctx, time.Since(start).Seconds(),
				metric.WithAttributes(append(metricAttrs, end...)...))
		}
	}()
	next.ServeHTTP(sw, r.WithContext(ctx))
}

// requestMethod returns the method as the semantic conventions want it: a
// known method as is, any other as "_OTHER" plus the original.
func requestMethod(m string) (method, original string) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace, "QUERY":
		return m, ""
	}
	return "_OTHER", m
}

func splitHostPort(hp string) (string, int) {
	host, ps, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, 0
	}
	port, _ := strconv.Atoi(ps)
	return host, port
}

func protocolVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 3:
		return "3"
	}
	return ""
}

// statusWriter remembers the status sent. Unwrap lets http.ResponseController
// reach the connection's writer (Flush, Hijack, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush forwards to the underlying writer, for handlers that assert http.Flusher.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
