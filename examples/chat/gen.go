// Command chat serves the chat API (openapi.yaml) and a page with an HTML
// form. A message's idempotency key travels in its body: the client's hash of
// (user, text, client timestamp) for JSON, a hidden form field for the page.
//
// Usage:
//
//	chat [-addr 127.0.0.1:8082] [-store URL]
package main

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out api --package api
