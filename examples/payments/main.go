package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/idemgen/idemgen/examples/internal/exampleserver"
	"github.com/idemgen/idemgen/examples/payments/api"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "payments:", err)
		os.Exit(1)
	}
}

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
	h, err := newServer(NewBank(), store, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	return exampleserver.Serve(ctx, flags.Addr, h, stdout)
}

// newServer is the generated server over bank, its idempotent operations
// recorded in store.
func newServer(bank *Bank, store idempotency.Store, log *slog.Logger) (http.Handler, error) {
	return api.NewServer(bank, api.WithStore(store), api.WithLogger(log))
}
