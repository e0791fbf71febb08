// Package gateway is the runtime of idemgen's gateway mode (the `idemgen
// proxy` command): a reverse proxy that enforces x-idempotent policies in
// front of any backend, whatever language it is written in.
//
// It is data-driven: Config.Routes is the route table (each operation's
// method, path template split into literal and parameter parts, and policy),
// which generator/proxyplan builds from a loaded spec, from the same parsed
// route the generated server and client use. This package never reads a spec.
//
// Each request is routed by method and path to its operation. An idempotent
// operation's request runs through the same runtime middleware
// (runtime/idempotency) a generated Go server uses, with the same stores and
// the same problem+json answers; the upstream is its handler. Everything else
// (operations without a policy, paths the table does not know) passes through
// untouched.
//
// Path parameters are set on the request (http.Request.SetPathValue) under
// their spec names before the middleware runs, so scope and derive items
// "path:NAME" read them. A segment may hold several parameters
// ("{name}.{ext}"): each takes as few characters as the rest of the segment
// allows, as in the generated server. Upstream connection errors answer 502
// and timeouts 504; both are 5xx, so the claim is released and a retry runs
// again. Responses and non-idempotent request bodies stream through with
// bounded memory: the middleware buffers at most the policy's maxBodyBytes of
// a response and maxRequestBytes of an idempotent request.
//
// Each idempotent request is logged with the hash of its key
// (idempotency.KeyHash), never the key. The package imports no telemetry
// library: Config.Observer, Config.RouteMiddleware and Config.WrapTransport
// are the hooks through which `idemgen proxy` plugs in OpenTelemetry
// (runtime/otelidem) for outcomes, server spans and upstream client spans.
package gateway
