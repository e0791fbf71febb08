// Package songserver is idemgen's generated server for the songs example's spec,
// the server side of the oapi-codegen interop test.
package songserver

//go:generate go tool idemgen generate --spec ../../../examples/songs/openapi.yaml --out . --package songserver --models --server
