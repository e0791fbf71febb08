// Package e2e is a server generated from openapi.yaml, driven over real HTTP by
// the end-to-end test: every x-idempotent key source, with the memory store.
package e2e

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out . --package e2e --models --server
