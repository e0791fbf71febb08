package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"syscall"
	"time"

	"github.com/idemgen/idemgen/bench/contender"
)

// serve is the child process: it runs one contender on a loopback port and a
// control server on another, prints "READY <http addr> <control addr>" and
// runs until its standard input closes (so it never outlives the parent).
//
// The control server answers GET /stats (the process's allocation counters),
// GET /keys (handler executions per key since the last reset), POST /reset, and
// /debug/pprof/ for profiling a run.
func serve(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := fs.String("contender", "", "contender name: "+fmt.Sprint(contender.Names()))
	var env contender.Env
	fs.StringVar(&env.RedisURL, "redis", "", "Redis URL")
	fs.StringVar(&env.PostgresURL, "postgres", "", "PostgreSQL URL")
	fs.StringVar(&env.SQLitePath, "sqlite", "", "SQLite database file")
	id := fs.String("id", "p", "execution id prefix, unique per process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rec := contender.NewRecorder(*id + "-")
	srv, err := contender.Open(ctx, *name, env, rec)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		_ = json.NewEncoder(w).Encode(procStats{Mallocs: ms.Mallocs, TotalAlloc: ms.TotalAlloc, NumGC: ms.NumGC, CPUNanos: cpuNanos()})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(rec.Snapshot())
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		rec.Reset()
		runtime.GC() // start every run from a collected heap
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	control := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go control.Serve(cln)
	defer control.Close()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "READY %s %s\n", ln.Addr(), cln.Addr())
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(stdin))
		close(eof)
	}()
	select {
	case <-eof:
		return nil
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", *name, err)
	}
}

// procStats is the /stats answer.
type procStats struct {
	Mallocs    uint64 `json:"mallocs"`
	TotalAlloc uint64 `json:"total_alloc"`
	NumGC      uint32 `json:"num_gc"`
	// CPUNanos is the process's user+system CPU time (getrusage): the server's
	// cost per request, which other work on a shared machine moves far less
	// than its throughput.
	CPUNanos int64 `json:"cpu_ns"`
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
