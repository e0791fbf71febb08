// Package gateway is idemgen's gateway mode (the `idemgen proxy` command): a
// reverse proxy that enforces an OpenAPI document's x-idempotent policies in
// front of any backend, whatever language it is written in.
//
// Each request is routed by method and path template to its spec operation.
// An idempotent operation's request runs through the same runtime middleware
// (runtime/idempotency) a generated Go server uses, with the same stores and
// the same problem+json answers; the upstream is its handler. Everything else
// (operations without x-idempotent, paths the spec does not know) passes
// through untouched.
//
// Path parameters are set on the request (http.Request.SetPathValue) under
// their spec names before the middleware runs, so scope and derive items
// "path:NAME" read them. Upstream connection errors answer 502 and timeouts
// 504; both are 5xx, so the claim is released and a retry runs again.
// Responses and non-idempotent request bodies stream through with bounded
// memory: the middleware buffers at most the policy's maxBodyBytes of a
// response and maxRequestBytes of an idempotent request.
package gateway
