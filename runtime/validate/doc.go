// Package validate is the support library of the request validation that
// idemgen generates from a spec's schemas. The generated code walks a decoded
// request once, with plain comparisons and calls to the small checks here (no
// reflection); it records each violation in an Errors, located by a JSON
// Pointer that is only built when a check fails, so a valid request costs no
// allocation for its location.
//
// An Errors turns into an *Error, which a generated server answers with 400
// application/problem+json listing the violations:
//
//	{"type":"about:blank","title":"Bad Request","status":400,
//	 "detail":"the request does not match its schemas (2 violations)",
//	 "instance":"/orders",
//	 "errors":[{"pointer":"/sku","detail":"must match ^[A-Z]+$"},
//	           {"pointer":"/quantity","detail":"must be >= 1"}]}
//
// A violation of a parameter has an "in" member ("query", "path", "header",
// "cookie") and the parameter's name as its pointer ("/limit"). At most
// MaxViolations are listed; the detail says how many there were.
//
// The format checks (Date, Time, DateTime, UUID, Email, Hostname, URI, IPv4,
// IPv6) are strict enough to refuse what a handler could not use, and use
// only the standard library. A Pattern is a schema's pattern compiled once
// (one ASCII class repeated, the common shape, is matched with a byte
// table). Required checks, with one scan of a JSON body's text, what the
// decoded value cannot tell: the members its schemas require at any depth,
// members a closed schema (additionalProperties: false) does not declare, an
// object's number of members, required readOnly members sent. Request joins
// those violations with the ones the generated validate method finds, into
// one list. Matches tells whether the raw JSON of a oneOf or anyOf matches a
// variant. With Errors.Response set, a response is checked: writeOnly
// members are refused instead of readOnly ones.
package validate
