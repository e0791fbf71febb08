// Package securehooks is a receiver generated from openapi.yaml, driven over
// real HTTP by its test: webhooks and a callback secured by their own
// security requirements (a shared secret in a header, basic credentials),
// their idempotency keys scoped by the authenticated sender, beside a root
// bearer requirement that protects the operation and not the receivers.
package securehooks

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out . --package securehooks --models --server --client
