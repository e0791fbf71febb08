// Package servercost measures the server CPU per request of the same spec
// (openapi.yaml) served by a hand-written net/http + encoding/json handler,
// idemgen's generated server (validating), oapi-codegen's strict server
// without and with kin-openapi's request validation, and ogen's generated
// server (validating): a ~900-byte JSON POST with 12 properties and 5 nested
// items, and a GET of the same order. Every handler does the same work (sum
// the items, answer 201 with an id and the total; answer the GET with a fixed
// order). The generated code of the peers is committed: this module pins
// them (oapi-codegen v2.8.2, ogen v1.25.0).
package servercost

//go:generate go -C ../.. run ./cmd/idemgen generate --spec bench/servercost/openapi.yaml --out bench/servercost/idemgenapi --package idemgenapi --models --server
//go:generate go tool oapi-codegen -config oapiapi/config.yaml openapi.yaml
//go:generate go tool ogen --target ogenapi --package ogenapi --clean openapi.yaml
