package idempotency

import "time"

// Policy is one operation's idempotency policy: the Go form of the x-idempotent
// OpenAPI extension (docs/extension.md). The zero value of every field means the
// extension's default, so Policy{Operation: "createSong"} is the default policy.
// The generator emits one Policy per idempotent operation; users may also build
// them by hand. Validate reports every invalid field.
type Policy struct {
	// Operation names the operation (its operationId). It is part of the record id,
	// so the same key on another operation is another record. Required.
	Operation string

	// Key says where the idempotency key comes from.
	Key Key

	// Scope partitions the key space per caller. Items: "header:NAME", "query:NAME",
	// "path:NAME" or "principal" (the value of the server's principal function).
	Scope []string

	// Fingerprint lists what must match when a key is reused; a mismatch is a 422.
	// Items: "method", "path", "query", "body", "header:NAME", or JSON Pointers
	// ("/amount") into a JSON body. Nil means {"method", "path", "query", "body"}.
	Fingerprint []string

	// TTL is how long a completed record is kept and replayed. Zero means 24h.
	TTL time.Duration
	// Lease is how long an in-flight claim holds before another attempt may take it
	// over. Zero means 30s.
	Lease time.Duration

	// Concurrent is what a duplicate that arrives while the first is in flight gets:
	// ConcurrentReject (409 + Retry-After, the default) or ConcurrentWait.
	Concurrent Concurrency

	// Cache lists the outcomes that are stored and replayed: "2xx", "3xx", "4xx",
	// "5xx" or exact codes ("409"). Nil means DefaultCache: {"2xx", "3xx",
	// "4xx"}. Any other outcome (and a panic) releases the claim, so a retry
	// runs again. 429 is only cached when listed as "429" (a class does not
	// cover it).
	Cache []string

	// ReplayHeaders is the allowlist of response headers stored and replayed. Nil
	// means every header except hop-by-hop ones, Set-Cookie, Date and Content-Length.
	ReplayHeaders []string

	// MaxBodyBytes is the largest response body that is stored. Larger responses
	// are sent but not stored (the claim is released). Zero means 1 MiB.
	MaxBodyBytes int64

	// MaxRequestBytes is the largest request body read for fingerprinting; a larger
	// body gets 413. Zero means 1 MiB.
	MaxRequestBytes int64

	// FailOpen runs the handler without deduplication when the store is
	// unavailable. The default (false) is fail-closed: 503 with Retry-After.
	FailOpen bool

	// ProblemType is the base URI of the problem+json "type" of the runtime's own
	// errors (e.g. "https://api.example.com/docs/errors"); it is also sent as
	// Link: <...>; rel="describedby". Empty means "about:blank" and no Link.
	ProblemType string

	// Issued, when set, accepts only keys issued by the server: New then needs
	// WithKeyVerifier (runtime/issuedkey implements it).
	Issued *IssuedKeys
}

// Key says where a request's idempotency key comes from. At most one of Header,
// Query, Field and Derive is set; none set means the Idempotency-Key header.
type Key struct {
	// Header is a request header name (e.g. "Idempotency-Key").
	Header string
	// Query is a query parameter name.
	Query string
	// Field is a JSON Pointer into a JSON body ("/idempotency_key"), or a field
	// name of a form body (the hidden form field case).
	Field string
	// Derive derives the key on the server from request values: JSON Pointers into
	// the body, or "header:NAME", "query:NAME", "path:NAME". No client key needed.
	Derive []string

	// Optional lets a request without a key run un-deduplicated. The default
	// (false) is required: a missing key gets 400.
	Optional bool
	// Format is FormatAny (the default), FormatUUID, FormatULID or FormatPattern.
	Format Format
	// Pattern is the regular expression keys must match when Format is FormatPattern.
	Pattern string
	// MaxLength is the longest accepted key. Zero means 255.
	MaxLength int

	// Inject lets a gateway (idemgen proxy) assign the key of a request that
	// has none: a UUIDv4 sent upstream in the key header and echoed on the
	// response. Only for header keys. The middleware itself never injects.
	Inject bool
}

// IssuedKeys configures server-issued keys: only keys signed by the server with
// one of the verification secrets, not older than MaxAge, are accepted.
type IssuedKeys struct {
	// MaxAge is how long an issued key stays valid. Zero means 24h.
	MaxAge time.Duration
	// BindPrincipal requires the key to have been issued to the same principal.
	BindPrincipal bool
}

// Concurrency is how an in-flight duplicate is answered.
type Concurrency string

const (
	// ConcurrentReject answers 409 with Retry-After.
	ConcurrentReject Concurrency = "reject"
	// ConcurrentWait blocks up to the lease for the first request to finish, then
	// replays it (falling back to 409).
	ConcurrentWait Concurrency = "wait"
)

// Format restricts the shape of accepted keys.
type Format string

const (
	FormatAny     Format = "any"
	FormatUUID    Format = "uuid"
	FormatULID    Format = "ulid"
	FormatPattern Format = "pattern"
)

// DefaultCache is the extension's default cache list: successes, redirects
// and client errors. Redirects are in it because the post/redirect/get form
// answers a submit with 303 See Other once the work is done: not storing it
// would let a resubmit of the same form run the handler again. Only 5xx
// (and 429) release the key by default, so that a retry can succeed.
func DefaultCache() []string { return []string{"2xx", "3xx", "4xx"} }

// Defaults of the x-idempotent extension.
const (
	DefaultHeader          = "Idempotency-Key"
	DefaultTTL             = 24 * time.Hour
	DefaultLease           = 30 * time.Second
	DefaultMaxLength       = 255
	DefaultMaxBodyBytes    = 1 << 20
	DefaultMaxRequestBytes = 1 << 20
)
