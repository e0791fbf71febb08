// Command payments serves the payments API (openapi.yaml): bills paid through
// a payment link, deduplicated by a key the server derives from the bill and
// the payer, and transfers deduplicated by a client key scoped per account.
//
// Usage:
//
//	payments [-addr 127.0.0.1:8081] [-store URL]
package main

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out api --package api
