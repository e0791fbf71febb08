// Package webhooks is a receiver generated from openapi.yaml, driven over real
// HTTP by its test: an OpenAPI 3.1 webhook deduplicated by its delivery id, a
// webhook waived from idempotency and an operation's callback.
package webhooks

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out . --package webhooks --models --server --client
