// Command idemgen generates Go servers and clients with idempotency built in from
// OpenAPI specs marked with x-idempotent, and reviews those specs.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/idemgen/idemgen/cmd/idemgen/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
