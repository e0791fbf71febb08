// Command events is an at-least-once consumer: it receives payment events by
// webhook (deduplicated by the webhook-id header, see openapi.yaml) and from a
// message queue (deduplicated by message id with the runtime's Do API), and
// applies each event to a ledger once.
//
// Usage:
//
//	events [-addr 127.0.0.1:8083] [-store URL] [-queue-demo N]
package main

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out api --package api
