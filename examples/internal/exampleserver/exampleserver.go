// Package exampleserver holds what the examples' servers share: the -addr and
// -store flags, opening the store from its URL, and serving until the context
// ends. It is not part of idemgen's API.
package exampleserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
	_ "github.com/idemgen/idemgen/runtime/store/storeurl/all" // every backend, picked by URL
)

// Flags are the command line flags every example server takes.
type Flags struct {
	// Addr is the listen address; port 0 picks a free port.
	Addr string
	// Store is the idempotency store's URL (see package storeurl).
	Store string
}

// Register defines -addr and -store on fs, with the example's defaults: a
// loopback address and the embedded SQLite store in a file named after the
// example in the temporary directory.
func Register(fs *flag.FlagSet, name, addr string) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Addr, "addr", addr, "listen address (port 0 picks a free port)")
	fs.StringVar(&f.Store, "store", DefaultStoreURL(name),
		"idempotency store URL: sqlite:///path.db, memory://, redis://host:6379/0, postgres://user@host/db")
	return f
}

// DefaultStoreURL is the default -store of the example name: an SQLite file
// that survives restarts, in the temporary directory.
func DefaultStoreURL(name string) string {
	p := filepath.Join(os.TempDir(), "idemgen-examples", name+".db")
	return "sqlite://" + filepath.ToSlash(p)
}

// OpenStore opens the store at rawURL, first creating the directory of an
// SQLite file when it does not exist.
func OpenStore(ctx context.Context, rawURL string) (idempotency.Store, io.Closer, error) {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "sqlite" && u.Path != "" {
		if err := os.MkdirAll(filepath.Dir(filepath.FromSlash(u.Path)), 0o755); err != nil {
			return nil, nil, fmt.Errorf("exampleserver: %w", err)
		}
	}
	return storeurl.Open(ctx, rawURL)
}

// Serve listens on addr, prints "listening on http://HOST:PORT" to stdout once
// it accepts connections (tools and the demo read that line), and serves h
// until ctx ends; then it shuts down gracefully, waiting up to 5s for the
// requests in progress.
func Serve(ctx context.Context, addr string, h http.Handler, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("exampleserver: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("exampleserver: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("exampleserver: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("exampleserver: %w", err)
	}
	return nil
}

// Main runs an example's run function with the process's arguments and
// streams until it returns or the process gets SIGINT or SIGTERM (which end
// its context), and exits 1 with the error, prefixed with name, if it failed.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
