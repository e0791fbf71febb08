// Package security is a server and client generated from openapi.yaml, driven
// over real HTTP by the end-to-end test of authentication: every kind of
// security scheme, AND/OR and optional requirements, and the principal that
// scopes idempotency keys.
package security

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out . --package security
