// Package extension parses and validates the x-idempotent OpenAPI extension and
// the document-level x-idempotent-defaults (docs/extension.md). It is the one
// place that decides what an x-idempotent value means: the loader calls it for
// every operation, and lint and diff read the result (model.Extension plus the
// diagnostics) instead of parsing the extension again.
//
// The flow for one operation is Parse (syntax and per-field values), Merge (the
// document defaults under the operation's fields, field by field) and Check
// (cross-field rules and the rules that need the operation: safe methods,
// undeclared scope parameters, pointers the request schema cannot contain, the
// key header parameter). Every finding is a model.Diagnostic with a stable Rule
// id (the Rule* constants), a Severity, the JSON Pointer and the position of the
// narrowest node.
package extension
