// Package validation is a server generated from openapi.yaml, driven over real
// HTTP by its test: for each schema keyword the generated validation checks,
// an invalid request is answered 400 problem+json naming the value, never
// reaches the handler nor claims its idempotency key, and the same key with a
// valid request then runs the handler.
package validation

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out . --package validation --models --server --client
