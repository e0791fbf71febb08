package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/idemgen/idemgen/examples/internal/exampleserver"
	"github.com/idemgen/idemgen/examples/songs/api"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/serverkit"
)

func main() { exampleserver.Main("songs", run) }

// run parses args, opens the store and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("songs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flags := exampleserver.Register(fs, "songs", "127.0.0.1:8080")
	uploadTime := fs.Duration("upload-time", 20*time.Millisecond, "how long an upload takes to process")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics (OpenTelemetry; OTLP export follows the OTEL_* variables)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, closer, err := exampleserver.OpenStore(ctx, flags.Store)
	if err != nil {
		return err
	}
	defer closer.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	telOpts, stopTelemetry, err := telemetry(ctx, *metricsAddr, stdout)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	h, err := newServer(NewCatalog(*uploadTime), store, log, telOpts...)
	if err != nil {
		return err
	}
	return exampleserver.Serve(ctx, flags.Addr, h, stdout)
}

// newServer is the generated server over catalog, its idempotent operations
// recorded in store; extra adds options (the telemetry's).
func newServer(catalog *Catalog, store idempotency.Store, log *slog.Logger, extra ...serverkit.Option) (http.Handler, error) {
	return api.NewServer(catalog, append([]serverkit.Option{
		serverkit.WithStore(store),
		serverkit.WithLogger(log),
		// The runtime's own problems (400, 409, 422, 503) link to the docs.
		serverkit.WithProblemType("https://github.com/idemgen/idemgen/blob/main/docs/extension.md"),
	}, extra...)...)
}
