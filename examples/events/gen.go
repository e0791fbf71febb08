// Command events is an at-least-once consumer: it receives payment events by
// webhook (deduplicated by the webhook-id header, see openapi.yaml) and from a
// NATS JetStream stream (deduplicated by the Nats-Msg-Id header with the
// runtime's Do API), and applies each event to a ledger once.
//
// Usage:
//
//	events [-addr 127.0.0.1:8083] [-store URL] [-nats nats://127.0.0.1:4222 [-stream PAYMENTS] [-queue-demo N]]
package main

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out api --package api
