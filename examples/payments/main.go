package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"

	"github.com/idemgen/idemgen/examples/internal/exampleserver"
	"github.com/idemgen/idemgen/examples/payments/api"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

func main() { exampleserver.Main("payments", run) }

// run parses args, opens the store and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("payments", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := exampleserver.Register(fs, "payments", "127.0.0.1:8081")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, closer, err := exampleserver.OpenStore(ctx, flags.Store)
	if err != nil {
		return err
	}
	defer closer.Close()
	h, err := newServer(NewBank(), DemoTokens(), store, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	return exampleserver.Serve(ctx, flags.Addr, h, stdout)
}

// newServer is the generated server over bank, its secured operations
// authenticated by tokens, its idempotent operations recorded in store, and
// the pages of payment links at /pay/{billId}.
func newServer(bank *Bank, tokens Tokens, store idempotency.Store, log *slog.Logger) (http.Handler, error) {
	apiHandler, err := api.NewServer(bank, tokens, serverkit.WithStore(store), serverkit.WithLogger(log))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /pay/{billId}", payLinkPage())
	mux.Handle("/", apiHandler)
	return mux, nil
}
