package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"

	"github.com/idemgen/idemgen/examples/chat/api"
	"github.com/idemgen/idemgen/examples/internal/exampleserver"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/issuedkey"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

func main() { exampleserver.Main("chat", run) }

// run parses args, opens the store and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := exampleserver.Register(fs, "chat", "127.0.0.1:8082")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, closer, err := exampleserver.OpenStore(ctx, flags.Store)
	if err != nil {
		return err
	}
	defer closer.Close()
	issuer, err := newIssuer()
	if err != nil {
		return err
	}
	h, err := newServer(NewBoard(), store, issuer, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	return exampleserver.Serve(ctx, flags.Addr, h, stdout)
}

// newServer serves the pages at /, /plain and /issued and the generated API
// everywhere else. issuer issues and verifies the keys of /issued.
func newServer(board *Board, store idempotency.Store, issuer *issuedkey.Issuer, log *slog.Logger) (http.Handler, error) {
	apiHandler, err := api.NewServer(&Chat{board: board}, serverkit.WithStore(store), serverkit.WithLogger(log),
		// submitIssuedForm accepts only keys this issuer signed.
		serverkit.WithIdempotencyOptions(issuer.Option()))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", pageHandler(board, pageTmpl))
	mux.Handle("GET /plain", pageHandler(board, plainPageTmpl))
	mux.Handle("GET /issued", issuedPageHandler(board, issuer))
	mux.Handle("POST /idempotency-keys", issuer.Handler(nil))
	mux.Handle("/", apiHandler)
	return mux, nil
}
