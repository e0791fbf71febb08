package lint

import (
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

// Rule describes one check: its stable id, category, default severity and the
// text shown in SARIF rule metadata and in docs/lint.md.
type Rule struct {
	ID       string
	Category string
	Default  model.Severity
	Summary  string
	// Rationale says why the rule exists.
	Rationale string
}

// Categories of rules.
const (
	CategoryCoverage      = "coverage"
	CategoryExtension     = "extension"
	CategoryKey           = "key"
	CategoryFingerprint   = "fingerprint-scope"
	CategoryDocumentation = "documentation"
	CategoryPolicy        = "org-policy"
	CategoryBaseline      = "baseline"
	CategoryDiff          = "diff"
)

// Rule ids of the checks in this package. They are stable: configs and
// baselines name them.
const (
	RuleMissing            = "idempotency-missing"
	RuleWaiverNoReason     = "waiver-without-reason"
	RuleKeySchemaWeak      = "key-schema-weak"
	RuleKeyFieldType       = "key-field-not-required-string"
	RuleKeyDeclaredTwice   = "key-declared-twice"
	RuleKeyUndeclared      = "key-param-undeclared"
	RuleIssuedKeyShaped    = "issued-key-schema-shaped"
	RuleInjectOptional     = "inject-key-optional"
	RuleIssuedBindUnscoped = "issued-bind-principal-unscoped"
	RuleIssuedNoEndpoint   = "issued-key-source-undocumented"
	RuleFingerprintNoBody  = "fingerprint-without-body"
	RulePrincipalUnsecured = "scope-principal-unsecured"
	RuleUnscopedTenant     = "scope-missing-multi-tenant"
	RuleDocErrors          = "doc-error-responses"
	RuleDocReplayed        = "doc-replayed-header"
	RuleDocProblemJSON     = "doc-problem-json"
	RuleCacheRetryable     = "cache-retryable-status"
	RuleTTLMinimum         = "ttl-below-minimum"
	RuleTTLRetryHorizon    = "ttl-below-retry-horizon"
	RuleBaselineStale      = "baseline-stale"
	// RuleLoadFailed reports a document that could not be loaded at all.
	RuleLoadFailed = "spec-load-failed"
	// RuleSpecInvalid is the rule of a loader diagnostic that carries no rule id.
	RuleSpecInvalid = "spec-invalid"
)

// Rule ids of the loader's and the extension validator's diagnostics (packages
// generator/loader and generator/extension own them; they are listed here for
// SARIF metadata, defaults and docs/lint.md). Lint reports them as they come.
const (
	RuleExtUnknownField     = "extension-unknown-field"
	RuleExtType             = "extension-type"
	RuleExtValue            = "extension-value"
	RuleExtNotPositive      = "extension-not-positive"
	RuleExtTTLLease         = "ttl-shorter-than-lease"
	RuleExtKeySources       = "key-multiple-sources"
	RuleExtPatternNoFormat  = "key-pattern-without-format"
	RuleExtFormatNoPattern  = "key-format-without-pattern"
	RuleExtPatternInvalid   = "key-pattern-invalid"
	RuleExtSafeMethod       = "safe-method"
	RuleExtPointerNotInBody = "pointer-not-in-schema"
	RuleExtScopeUndeclared  = "scope-undeclared"
	RuleExtDeriveUndeclared = "derive-undeclared"
	RuleExtKeyRequired      = "key-required-mismatch"
	RuleExtPolicyInvalid    = "policy-invalid"
	RuleLoadOpenAPIInvalid  = "openapi-invalid"
	RuleLoadSchemaUntyped   = "schema-untyped"
	RuleLoadOperationIDDup  = "operation-id-duplicate"
)

var catalog = []Rule{
	{RuleMissing, CategoryCoverage, model.Error,
		"An unsafe operation (POST, PATCH) has no x-idempotent.",
		"A client that retries a POST or PATCH after a timeout may run it twice (a double charge, a duplicate order). Every unsafe operation must either be idempotent or carry a deliberate, reviewed waiver (x-idempotent: false)."},
	{RuleWaiverNoReason, CategoryCoverage, model.Warning,
		"A waiver (x-idempotent: false or enabled: false) has no reason.",
		"A waiver is a decision that reviewers must be able to check later; without a reason nobody can tell a deliberate exception from a shortcut. Write `x-idempotent: {enabled: false, reason: \"...\"}`."},
	{RuleKeySchemaWeak, CategoryKey, model.Warning,
		"The declared key parameter's schema has no maxLength, or neither a format nor a pattern.",
		"Clients and API docs read the declared schema: without a length bound and a shape (uuid, pattern) clients send keys the server rejects with 400, or weak keys (counters, timestamps) that collide."},
	{RuleKeyFieldType, CategoryKey, model.Warning,
		"The body-field key is not a required string in every branch of the request schema.",
		"A key the schema lets clients omit or send as a number or object cannot be relied on: the generated client cannot always fill it, and some requests run un-deduplicated."},
	{RuleKeyDeclaredTwice, CategoryKey, model.Error,
		"The idempotency key is declared more than once (two parameters with the same header name, or a header and a body field).",
		"HTTP header names are case-insensitive: two declarations give generated clients two fields for one key, and the server reads only one of them."},
	{RuleKeyUndeclared, CategoryKey, model.Info,
		"The key header or query parameter is not declared as an OpenAPI parameter.",
		"Clients generated by other tools (and API docs) only know what is declared. `idemgen annotate` adds the declaration."},
	{RuleIssuedKeyShaped, CategoryKey, model.Warning,
		"An operation with issued (server-issued keys) declares its key parameter with a format (uuid...) or a pattern.",
		"Issued keys have the server's own shape (signed, base64url). A declared uuid format or pattern tells clients and client generators to make up keys of that shape, and the server rejects every one of them with 400. Declare only a string with a maxLength, and document where keys come from."},
	{RuleInjectOptional, CategoryKey, model.Warning,
		"key.inject with key.required: false.",
		"With inject, idemgen proxy gives every request that has no key a fresh one, so no request ever reaches the runtime without a key: required: false has no effect, and it suggests that keyless requests run un-deduplicated when they do not. Drop one of the two."},
	{RuleFingerprintNoBody, CategoryFingerprint, model.Warning,
		"The fingerprint compares the body (body or a JSON Pointer) of an operation that has no request body.",
		"The item can never differ between requests, so it protects nothing; it usually means the policy was copied from another operation."},
	{RulePrincipalUnsecured, CategoryFingerprint, model.Error,
		"scope: principal on an operation with no security requirement.",
		"Without authentication there is no principal: every caller shares one key space (or every request fails), so one client can replay another's response."},
	{RuleIssuedBindUnscoped, CategoryFingerprint, model.Info,
		"issued.bindPrincipal on an operation whose scope has no principal.",
		"bindPrincipal rejects a key used by another principal than the one it was issued to, but the records themselves are not partitioned by principal: add scope: [principal] so each principal's records and status lookups are kept apart as well."},
	{RuleUnscopedTenant, CategoryFingerprint, model.Warning,
		"An idempotent operation of a multi-tenant API has no scope.",
		"Keys of different tenants share one key space: a key reused by another tenant gets a 422 or 409 that reveals the key exists, and client-chosen keys can collide across tenants. Scope by principal or by the tenant parameter."},
	{RuleDocErrors, CategoryDocumentation, model.Warning,
		"The idempotency error responses (400 missing/invalid key, 409 in flight, 422 key reuse) are not documented.",
		"The IETF Idempotency-Key draft says the server MUST publish its policy; clients need to know which errors to retry (409) and which are bugs (422)."},
	{RuleDocReplayed, CategoryDocumentation, model.Warning,
		"The Idempotent-Replayed header is not declared on the operation's success responses.",
		"Clients can only tell a replay from a fresh execution through this header; generated clients and docs see it only when it is declared."},
	{RuleDocProblemJSON, CategoryDocumentation, model.Warning,
		"A documented idempotency error response (400, 409, 422) is not application/problem+json.",
		"The runtime answers these errors with RFC 9457 problem+json; documenting another media type makes generated clients fail to decode them."},
	{RuleIssuedNoEndpoint, CategoryDocumentation, model.Info,
		"An operation with issued (server-issued keys), in a spec that documents no way to get a key.",
		"Clients cannot make up issued keys; they must ask the server for one. The spec should declare the issuing endpoint (a path ending in idempotency-keys, e.g. POST /idempotency-keys) or say in an operation's summary or description where keys are issued (a page that renders one in a form)."},
	{RuleCacheRetryable, CategoryDocumentation, model.Error,
		"cache lists 5xx or 429 outcomes.",
		"A cached 5xx or 429 is replayed to every retry of the key, so a retry can never succeed: the client is stuck until the ttl expires."},
	{RuleTTLMinimum, CategoryPolicy, model.Error,
		"ttl is shorter than the organisation's minimum (config policy.minTTL).",
		"Keys must outlive the longest delay after which a client may still retry; the org sets the floor."},
	{RuleTTLRetryHorizon, CategoryPolicy, model.Error,
		"ttl is shorter than the clients' retry horizon (config policy.retryHorizon).",
		"A retry that arrives after the record expired runs the operation again: exactly the duplicate idempotency exists to prevent."},
	{RuleBaselineStale, CategoryBaseline, model.Info,
		"A baseline entry no longer matches any finding.",
		"The problem was fixed (or the operation renamed): remove the entry with --write-baseline so the baseline cannot hide a future regression."},
	{RuleExtUnknownField, CategoryExtension, model.Error,
		"x-idempotent has a field the extension does not define.",
		"A misspelt field (ttl vs tll) is silently ignored by other tools; the generator refuses it so the policy is what the author meant."},
	{RuleExtType, CategoryExtension, model.Error,
		"An x-idempotent field has the wrong type.",
		"The generator cannot compile the policy; lint reports the generator's own error."},
	{RuleExtValue, CategoryExtension, model.Error,
		"An x-idempotent field has an unusable value (a bad duration, size, enum value, header name or JSON Pointer).",
		"The generator cannot compile the policy; lint reports the generator's own error."},
	{RuleExtNotPositive, CategoryExtension, model.Error,
		"ttl, lease, maxLength or a byte limit is zero or negative.",
		"A zero ttl stores nothing and a zero lease lets every duplicate take the claim over."},
	{RuleExtTTLLease, CategoryExtension, model.Error,
		"ttl is shorter than lease.",
		"A record could expire while its first request is still running, and a retry would run the operation again."},
	{RuleExtKeySources, CategoryExtension, model.Error,
		"More than one of key.header, key.query, key.field and key.derive is set.",
		"The key must come from exactly one place, or client and server disagree on it."},
	{RuleExtPatternNoFormat, CategoryExtension, model.Error,
		"key.pattern without key.format: pattern.",
		"The pattern would be ignored; the author clearly meant it to apply."},
	{RuleExtFormatNoPattern, CategoryExtension, model.Error,
		"key.format: pattern without key.pattern.",
		"There is nothing to match keys against."},
	{RuleExtPatternInvalid, CategoryExtension, model.Error,
		"key.pattern is not a valid Go regular expression.",
		"The runtime could not compile it."},
	{RuleExtSafeMethod, CategoryCoverage, model.Error,
		"x-idempotent on a safe method (GET, HEAD, OPTIONS, TRACE); a warning for a waiver there.",
		"Safe methods are idempotent by definition; deduplicating them only stores responses and hides fresh data."},
	{RuleExtPointerNotInBody, CategoryFingerprint, model.Error,
		"A key.field, key.derive or fingerprint JSON Pointer that the request body schema cannot contain (every oneOf/anyOf/allOf branch is checked).",
		"A fingerprint item that never exists compares nothing; a key field that never exists is never found."},
	{RuleExtScopeUndeclared, CategoryFingerprint, model.Error,
		"A scope header:/query:/path: item names no parameter of the operation (a warning for headers carried by a security scheme, such as Authorization).",
		"An undeclared scope parameter is usually a typo: every request would share the empty scope."},
	{RuleExtDeriveUndeclared, CategoryKey, model.Error,
		"A key.derive header:/query:/path: item names no parameter of the operation.",
		"The derived key would be computed from a value that is never sent."},
	{RuleExtKeyRequired, CategoryKey, model.Warning,
		"The declared key header (or query) parameter's required disagrees with key.required.",
		"The runtime follows x-idempotent, so only the documentation is wrong: but docs and generated clients would tell callers the opposite of what the server enforces."},
	{RuleExtPolicyInvalid, CategoryExtension, model.Error,
		"The compiled policy is rejected by the runtime's Policy.Validate.",
		"The server could not start with this policy."},
	{RuleLoadOpenAPIInvalid, CategoryExtension, model.Warning,
		"kin-openapi's validation of the document failed (generation goes on with what could be read).",
		"Other tools may reject or misread the document."},
	{RuleLoadSchemaUntyped, CategoryExtension, Off,
		"A schema construct cannot be typed precisely and falls back to any (off in lint: it concerns generated Go types, not idempotency).",
		"Reported by generate; enable it here with rules: {schema-untyped: warning}."},
	{loader.RuleSchemaFreeForm, CategoryExtension, Off,
		"An object schema with no properties becomes a free-form map[string]json.RawMessage (off in lint: it concerns generated Go types, not idempotency).",
		"Reported by generate; enable it here with rules: {schema-free-form: warning}."},
	{loader.RuleSchemaAny, CategoryExtension, Off,
		"A schema with no type ({}, description only, type null) becomes json.RawMessage (off in lint: it concerns generated Go types, not idempotency).",
		"Reported by generate; enable it here with rules: {schema-any: warning}."},
	{RuleLoadOperationIDDup, CategoryExtension, model.Error,
		"Two operations share an operationId.",
		"Records, baselines and SARIF fingerprints are keyed by operationId."},
	{RuleLoadFailed, CategoryExtension, model.Error,
		"The document could not be loaded at all (unreadable, not YAML or JSON, not OpenAPI 3, an unresolvable $ref).",
		"A spec that cannot be loaded is never reported clean: the command exits 2 and this finding appears in every format."},
	{RuleSpecInvalid, CategoryExtension, model.Error,
		"The loader reported a problem without a rule id.",
		"Everything the loader reports is reported by lint, so lint and generate agree."},
}

// Rules returns the rules of this package, in documentation order. Extension
// validity rules come from the loader (their ids are the loader's) and are not
// listed here.
func Rules() []Rule { return append([]Rule(nil), catalog...) }

// LookupRule returns the rule with id, or false.
func LookupRule(id string) (Rule, bool) {
	for _, r := range catalog {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
