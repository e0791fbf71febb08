package extension

import "github.com/idemgen/idemgen/runtime/idempotency"

// Rule ids of the findings this package reports. They are stable: lint configs,
// baselines and SARIF fingerprints refer to them. The ids of what the runtime's
// Policy.Validate reports are the runtime's constants.
const (
	// RuleUnknownField: a field x-idempotent does not define (error).
	RuleUnknownField = "extension-unknown-field"
	// RuleType: a field of the wrong JSON type (error).
	RuleType = "extension-type"
	// RuleValue: a field of the right type with an unusable value: a bad
	// duration, size, enum value, header name or JSON Pointer (error).
	RuleValue = idempotency.RuleValue
	// RuleNotPositive: a zero or negative ttl, lease, maxLength or byte limit (error).
	RuleNotPositive = idempotency.RuleNotPositive
	// RuleTTLShorterThanLease: ttl < lease; a record could expire while its
	// request still runs (error).
	RuleTTLShorterThanLease = idempotency.RuleTTLShorterThanLease
	// RuleKeyMultipleSources: more than one of key.header, key.query, key.field
	// and key.derive (error).
	RuleKeyMultipleSources = idempotency.RuleKeyMultipleSources
	// RulePatternWithoutFormat: key.pattern without key.format: pattern (error).
	RulePatternWithoutFormat = idempotency.RulePatternWithoutFormat
	// RuleFormatWithoutPattern: key.format: pattern without key.pattern (error).
	RuleFormatWithoutPattern = idempotency.RuleFormatWithoutPattern
	// RulePatternInvalid: key.pattern is not a Go regular expression (error).
	RulePatternInvalid = idempotency.RulePatternInvalid
	// RuleSafeMethod: x-idempotent on GET, HEAD, OPTIONS or TRACE (error; a
	// warning for a waiver, which has no effect there).
	RuleSafeMethod = "safe-method"
	// RulePointerNotInSchema: a key.field, key.derive or fingerprint JSON
	// Pointer that the operation's request body schema cannot contain (error).
	RulePointerNotInSchema = "pointer-not-in-schema"
	// RuleScopeUndeclared: a scope header:/query:/path: item that names no
	// parameter of the operation (error; a warning for a header that a security
	// scheme carries, such as Authorization).
	RuleScopeUndeclared = "scope-undeclared"
	// RulePrincipalUnsecured: scope principal on an operation without a
	// security requirement, so there is no authenticated principal to scope
	// by (error). generate and lint report it alike, from here.
	RulePrincipalUnsecured = "scope-principal-unsecured"
	// RuleDeriveUndeclared: a key.derive header:/query:/path: item that names no
	// parameter of the operation (error; a warning for security headers).
	RuleDeriveUndeclared = "derive-undeclared"
	// RuleKeyRequiredMismatch: the key header (or query) parameter is declared
	// with a `required` that disagrees with key.required (error: a client
	// generated from the parameter omits a key the server demands).
	RuleKeyRequiredMismatch = "key-required-mismatch"
	// RuleMisplaced: x-idempotent on a path item or at the document root,
	// where it has no effect (warning; it belongs on an operation, and document
	// defaults go in x-idempotent-defaults).
	RuleMisplaced = "extension-misplaced"
	// RulePolicyInvalid: the runtime's Policy.Validate rejects contradicting
	// fields (inject and issued, a derived issued key...) (error).
	RulePolicyInvalid = idempotency.RulePolicyInvalid
)
