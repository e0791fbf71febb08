// Command testserver is the server process of the cross-process tests: one
// idempotent operation (POST /things, key in Idempotency-Key) behind the
// idempotency middleware, on a store opened from a URL, whose handler records
// one side effect per execution. It prints "listening URL" on stdout once it
// serves.
//
// The side effect is recorded at the end of the handler, after -delay, the way
// a real handler commits its work last:
//
//	-effect redis  HINCRBY -effect-key KEY 1 on the Redis at -effect-url
//	-effect pg     INSERT a row (key, pid) into -effect-table at -effect-url
//	-effect pgtx   the same INSERT through pgstore.TxFromContext (atomic mode)
//	-effect file   append "KEY\n" to -effect-file
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/pgstore"
	"github.com/idemgen/idemgen/runtime/store/redisstore"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		storeURL    = flag.String("store", "", "redis:// or postgres:// URL of the store")
		prefix      = flag.String("prefix", "", "Redis key prefix of the store")
		table       = flag.String("table", "", "PostgreSQL table of the store")
		lease       = flag.Duration("lease", 5*time.Second, "policy lease")
		ttl         = flag.Duration("ttl", time.Minute, "policy ttl")
		delay       = flag.Duration("delay", 0, "handler work time")
		atomic      = flag.Bool("atomic", false, "atomic mode (PostgreSQL)")
		effect      = flag.String("effect", "", "redis | pg | pgtx | file")
		effectURL   = flag.String("effect-url", "", "Redis or PostgreSQL URL of the effect sink")
		effectKey   = flag.String("effect-key", "", "Redis hash counting effects")
		effectTable = flag.String("effect-table", "", "PostgreSQL table of effects (key text, pid int)")
		effectFile  = flag.String("effect-file", "", "file of effects")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, closer, err := open(ctx, *storeURL, *prefix, *table)
	if err != nil {
		return err
	}
	defer closer()

	record, err := sink(ctx, *effect, *effectURL, *effectKey, *effectTable, *effectFile)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []idempotency.Option{idempotency.WithLogger(log)}
	if *atomic {
		opts = append(opts, idempotency.WithAtomic())
	}
	m, err := idempotency.New(store, idempotency.Policy{Operation: "createThing", Lease: *lease, TTL: *ttl}, opts...)
	if err != nil {
		return err
	}
	pid := os.Getpid()
	mux := http.NewServeMux()
	mux.Handle("POST /things", m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		select {
		case <-time.After(*delay):
		case <-r.Context().Done():
			http.Error(w, "client gone", http.StatusServiceUnavailable)
			return
		}
		if err := record(r.Context(), key); err != nil {
			log.Error("testserver: recording the effect failed", "key", key, "err", err)
			http.Error(w, "effect failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"key":%q,"pid":%d,"at":%q}`+"\n", key, pid, time.Now().Format(time.RFC3339Nano))
	})))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Printf("listening http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// open opens the store. It builds the Redis or PostgreSQL store directly rather
// than through storeurl, whose SQLite driver would make this binary slow to link.
func open(ctx context.Context, url, prefix, table string) (idempotency.Store, func(), error) {
	if strings.HasPrefix(url, "redis://") {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		opts.DialerRetries = 1 // answer 503 at once during an outage, as storeurl does
		c := redis.NewClient(opts)
		return redisstore.New(c, redisstore.WithPrefix(prefix)), func() { c.Close() }, nil
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	s, err := pgstore.New(ctx, pool, pgstore.WithTable(table))
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return s, func() { s.Close(); pool.Close() }, nil
}

// sink returns the function that records one execution's side effect.
func sink(ctx context.Context, kind, url, key, table, file string) (func(context.Context, string) error, error) {
	switch kind {
	case "redis":
		opts, err := redis.ParseURL(url)
		if err != nil {
			return nil, err
		}
		c := redis.NewClient(opts)
		return func(ctx context.Context, k string) error { return c.HIncrBy(ctx, key, k, 1).Err() }, nil
	case "pg":
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, k string) error {
			_, err := pool.Exec(ctx, "INSERT INTO "+table+" (key, pid) VALUES ($1, $2)", k, os.Getpid())
			return err
		}, nil
	case "pgtx":
		return func(ctx context.Context, k string) error {
			tx, ok := pgstore.TxFromContext(ctx)
			if !ok {
				return errors.New("no transaction in the request context: atomic mode is off")
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+table+" (key, pid) VALUES ($1, $2)", k, os.Getpid())
			return err
		}, nil
	case "file":
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		var mu sync.Mutex
		return func(_ context.Context, k string) error {
			mu.Lock()
			defer mu.Unlock()
			_, err := f.WriteString(k + "\n") // one O_APPEND write per line
			return err
		}, nil
	}
	return nil, fmt.Errorf("unknown -effect %q; want redis, pg, pgtx or file", kind)
}
