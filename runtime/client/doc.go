// Package client is what idemgen's generated clients use to call an idempotent
// HTTP API safely, and it is usable on its own by hand-written clients.
//
// It provides five things:
//
//   - The base of generated clients: Base holds what a generated Client does
//     that does not depend on the spec (base URL, Retrier, request editors,
//     User-Agent) and is configured with ClientOptions (WithHTTPClient,
//     WithRetryPolicy...); each generated method starts an Invocation (Begin),
//     configured with CallOptions (WithIdempotencyKey...), which builds the
//     request and sends it.
//   - Credentials (credentials.go): WithBearerToken, WithTokenFunc,
//     WithBasicAuth and WithAPIKey give the credentials of a security scheme;
//     each call sends those its operation's requirement names (Operation.Security).
//   - Keys: NewKey returns a fresh UUIDv4 from crypto/rand. One logical call uses
//     one key, sent unchanged on every retry of that call, so the server
//     deduplicates the retries and replays the first outcome.
//   - Retries: a Retrier sends one logical call, retrying with exponential backoff
//     and full jitter on connection errors, per-attempt timeouts, 500/502/503/504,
//     429 and 409-in-flight, honouring Retry-After, bounded by a maximum number of
//     attempts and a maximum elapsed time, and stopping at once when the context
//     ends. The request body is replayed byte for byte on every attempt, so the
//     server's fingerprint of the request matches.
//   - Errors: Response.Err turns a 4xx/5xx response into an *Error that carries
//     the decoded application/problem+json body (RFC 9457) as a *Problem; both are
//     reachable with errors.As. A generated client returns every status its spec
//     declares as a typed response with a nil error, and an *Error only for an
//     undeclared status (Response.Undeclared) or a problem+json answer the spec
//     does not declare for that status (Response.UndeclaredProblem): the
//     runtime's own problems.
//
// Which calls are retried depends on what is safe: a request whose method is safe
// or idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or that the caller marks
// idempotent (an x-idempotent operation carrying its key) is retried on every
// retryable outcome. Any other request (a plain POST or PATCH) is retried only when
// it provably never reached the server: a failure to connect.
//
// Redirects are answers, not hops: without a Doer a Retrier sends with
// NewHTTPClient, which returns a 3xx instead of following it, so the caller sees
// the response the server gave (and stored) for the request that carried the key.
// A Doer the caller gives is used as is.
package client
