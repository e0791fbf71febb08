// Package lint reviews a loaded OpenAPI document (a *model.API) for
// idempotency problems and reports findings in text, JSON, SARIF, GitHub
// workflow command and Markdown form.
//
// Lint never re-validates the x-idempotent extension: every diagnostic the
// loader put in API.Diagnostics (the same code path as "idemgen generate") is
// reported as a finding under its own rule id, so lint and generate cannot
// disagree about what a spec means. The rules in this package only add review
// checks on top of the validated model: coverage, key, fingerprint and scope,
// documentation and organisation policy.
//
// A Config maps each rule to a severity (or off), per path or operationId, and
// carries org policy inputs; a Baseline suppresses known findings keyed by
// rule and operationId.
package lint
