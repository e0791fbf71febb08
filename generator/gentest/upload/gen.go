// Package upload is a server and client generated from openapi.yaml, driven
// over real HTTP by its test: multipart and urlencoded bodies decoded into
// their schema's Go type (files as upload.File), and retried with a new
// multipart boundary or another field order, which replays.
package upload

//go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out . --package upload --models --server --client
