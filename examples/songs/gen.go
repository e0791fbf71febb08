// Command songs serves the songs API (openapi.yaml): an artist uploads a song
// with POST /songs, and a retry with the same Idempotency-Key header replays
// the first answer instead of creating a second song.
//
// Usage:
//
//	songs [-addr 127.0.0.1:8080] [-store URL] [-upload-time 20ms]
package main

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out api --package api
