// Command benchcompare measures idemgen against its alternatives in one run and
// writes docs/benchmarks.md: the runtime over loopback HTTP (throughput,
// latency, allocations, correctness), store round trips, generator speed and
// compile success against oapi-codegen, lint speed against Spectral and
// Redocly, and the overhead of `idemgen proxy` over a direct call (section
// "proxy"). `make bench-compare` runs it from the repository root.
//
//	benchcompare [-out docs/benchmarks.md] [-sections load,proxy,trips,gen,lint,cost] [-requests 20000] [-duration 5s] [-repeats 5] [-pin=false] [-loadgen raw|nethttp]
//
// `benchcompare serve -contender NAME` is the child process it starts for each
// contender server.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idemgen/idemgen/bench/contender"
	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		err = serve(ctx, os.Args[2:], os.Stdin, os.Stdout)
	} else {
		err = run(ctx, os.Args[1:], os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchcompare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "docs/benchmarks.md", "the Markdown report to write (- for stdout)")
	repo := fs.String("repo", ".", "the idemgen repository root")
	corpus := fs.String("corpus", "../shared/corpus", "the OpenAPI corpus directory")
	sections := fs.String("sections", "load,proxy,trips,gen,lint,cost", "sections to run")
	var set loadSettings
	fs.IntVar(&set.requests, "requests", 20000, "requests of each measured load run (it ends at -requests or -duration, whichever first)")
	fs.DurationVar(&set.duration, "duration", 5*time.Second, "longest measured load run")
	fs.DurationVar(&set.warmup, "warmup", 200*time.Millisecond, "warm-up of each fresh server process before its measured run")
	pin := fs.Bool("pin", true, "pin the servers to CPU 0 and the load generator to CPU 1 (taskset; needs 2 CPUs)")
	fs.StringVar(&set.loadgen, "loadgen", loadgen.Generators[0], "the load generator: raw (keep-alive TCP connections, prebuilt requests) or nethttp (a net/http client)")
	fs.IntVar(&set.repeats, "repeats", 5, "repeats of every load run (medians are reported)")
	toolRepeats := fs.Int("tool-repeats", 5, "repeats of every generator and lint run (medians are reported)")
	modes := fs.String("modes", "fresh,replay,contention", "load modes to run")
	only := fs.String("contenders", strings.Join(contender.Names(), ","), "contenders of the load runs (each runs in its section: load, or proxy for the proxy-* ones)")
	fs.StringVar(&set.profile, "profile", "", "CPU-profile one contender in one mode during its first repeat, e.g. idemgen-memory/fresh")
	fs.StringVar(&set.profileDir, "profile-dir", os.TempDir(), "where -profile writes CONTENDER-MODE.pprof")
	redisAddr := fs.String("redis", "", "Redis host:port (default: a private redis-server from PATH, else 127.0.0.1:6379)")
	redisDB := fs.String("redis-db", "11", "Redis database number")
	pgAddr := fs.String("postgres", "127.0.0.1:5432", "PostgreSQL host:port (trust auth, user postgres)")
	pgDB := fs.String("postgres-db", "idemgen_bench", "PostgreSQL database (created when missing)")
	// pgx's default pool (max(4, CPUs) connections; 4 on the pinned one-core
	// server) would let only 4 of the 32 clients' commits wait on a WAL flush
	// at once: size it for the clients, as a deployment should.
	pgConns := fs.Int("postgres-pool", 64, "pool_max_conns of the PostgreSQL contenders")
	analysis := fs.String("analysis", "analysis.md", "hand-written Markdown to include after the findings (skipped when missing)")
	command := fs.String("command", "make bench-compare", "the command named in the report")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !slices.Contains(loadgen.Generators, set.loadgen) {
		return fmt.Errorf("-loadgen: want one of %v, got %q", loadgen.Generators, set.loadgen)
	}
	if set.profile != "" {
		if err := os.MkdirAll(set.profileDir, 0o755); err != nil {
			return fmt.Errorf("-profile-dir: %w", err)
		}
	}
	cores := runtime.NumCPU()
	set.serverCPU = -1
	pinning := "none: servers and load generator share every CPU"
	if *pin {
		if n := os.Getenv(pinnedEnv); n != "" {
			// Re-executed under taskset -c 1 (below): the servers get CPU 0.
			cores, _ = strconv.Atoi(n)
			set.serverCPU = 0
			pinning = "each server process on CPU 0, the load generator (this process) on CPU 1 (taskset)"
		} else if _, err := exec.LookPath("taskset"); err == nil && cores >= 2 {
			return reexecPinned(ctx, cores, stderr)
		} else {
			pinning = "none: pinning needs taskset and 2 CPUs"
		}
	}
	loadStart := loadAvg()
	start := time.Now()
	want := map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		want[strings.TrimSpace(s)] = true
	}
	var proxySet loadSettings
	for _, n := range strings.Split(*only, ",") {
		n = strings.TrimSpace(n)
		if info, ok := contender.Lookup(n); ok && info.Section == contender.SectionProxy {
			proxySet.contenders = append(proxySet.contenders, n)
		} else {
			set.contenders = append(set.contenders, n)
		}
	}
	set.modes = map[loadgen.Mode]bool{}
	for _, m := range strings.Split(*modes, ",") {
		set.modes[loadgen.Mode(strings.TrimSpace(m))] = true
	}
	doc := report.Doc{Machine: report.Machine{
		Cores: cores, CPU: cpuModel(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version(),
		Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), Command: *command, Duration: set.duration, Requests: set.requests,
		Warmup: set.warmup, Repeats: set.repeats, ToolRepeats: *toolRepeats, Pinning: pinning, Pinned: set.serverCPU >= 0, LoadAvgStart: loadStart,
		LoadGen: loadgenDescriptions[set.loadgen],
	}}
	tmp, err := os.MkdirTemp("", "benchcompare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	privateServer := false
	if *redisAddr == "" && (want["load"] || want["trips"]) {
		if r, err := startRedis(ctx, tmp); err == nil {
			defer r.stop()
			*redisAddr, privateServer = r.addr, true
			set.redis = r
		} else {
			doc.Notes = append(doc.Notes, fmt.Sprintf("no private redis-server (%v): using the shared Redis on 127.0.0.1:6379", err))
		}
	}
	if *redisAddr == "" {
		*redisAddr = "127.0.0.1:6379"
	}
	if privateServer {
		note := "Redis: a private redis-server started for this run (persistence off), so no other user's traffic shares it."
		if set.serverCPU >= 0 {
			// startRedis runs in this pinned process, so the server inherits
			// its CPU: Redis's work competes with the load generator, not with
			// the server under test, whose CPU time per request it leaves out.
			note += " It runs on the load generator's CPU (it inherits this process's taskset -c 1), not on the servers' CPU 0."
		}
		doc.Notes = append(doc.Notes, note)
	}
	pgPath := "/" + *pgDB + "?sslmode=disable&pool_max_conns=" + strconv.Itoa(*pgConns)
	if want["load"] || want["trips"] {
		if err := ensureDatabase(ctx, *pgAddr, *pgDB); err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("PostgreSQL database %s unavailable: %v", *pgDB, err))
		}
	}
	if want["load"] && slices.Contains(set.contenders, "idemgen-postgres") && set.modes[loadgen.Fresh] {
		b, err := newPGBench(ctx, *pgAddr, *pgDB, tmp, scenarios[0].concurrency, set.duration)
		if err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("no pgbench ceiling for idemgen-postgres: %v", err))
		}
		set.pgbench = b
	}
	if want["load"] {
		env := contender.Env{
			RedisURL:    "redis://" + *redisAddr + "/" + *redisDB,
			PostgresURL: "postgres://postgres@" + *pgAddr + pgPath,
			SQLitePath:  filepath.Join(tmp, "bench.db"),
		}
		rows, err := runLoad(ctx, set, scenarios, env, &doc)
		if err != nil {
			return err
		}
		doc.Load = rows
	}
	if want["proxy"] && len(proxySet.contenders) > 0 {
		// The gateway's contenders use the memory store only: no Redis or
		// PostgreSQL needed. Every mode of its scenarios runs unless -modes
		// excludes it.
		ps := set
		ps.contenders = proxySet.contenders
		rows, err := runLoad(ctx, ps, proxyScenarios, contender.Env{}, &doc)
		if err != nil {
			return err
		}
		doc.Proxy = rows
	}
	if want["trips"] {
		runTrips(ctx, set.contenders, *redisAddr, *redisDB, privateServer, *pgAddr, pgPath, &doc)
	}
	if want["gen"] || want["lint"] {
		if err := runTools(ctx, *repo, *corpus, tmp, *toolRepeats, want["gen"], want["lint"], &doc); err != nil {
			return err
		}
	}
	if want["cost"] {
		rows, err := runCost(ctx, *toolRepeats, set.serverCPU)
		if err != nil {
			doc.Notes = append(doc.Notes, err.Error())
		}
		doc.Cost = rows
	}
	doc.Findings = append(doc.Findings, findings(doc)...)
	if b, err := os.ReadFile(*analysis); err == nil {
		doc.Analysis = string(b)
	}
	doc.Machine.Elapsed = time.Since(start)
	doc.Machine.LoadAvgEnd = loadAvg()
	var buf bytes.Buffer
	if err := report.Render(&buf, doc); err != nil {
		return err
	}
	if *out == "-" {
		_, err = os.Stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}

// loadgenDescriptions say how each generator of -loadgen sends its requests,
// for the page.
var loadgenDescriptions = map[string]string{
	"raw":     "raw (`-loadgen raw`, bench/loadgen.Raw): one epoll loop on one thread over a keep-alive TCP connection per client, HTTP/1.1 request bytes built once with only the idempotency key written per request, a response parser for the status line and body framing that reads the receipt's execution only in the modes that check for divergent answers, each latency ending at the kernel's receive time of its answer (SO_TIMESTAMPNS)",
	"nethttp": "nethttp (`-loadgen nethttp`, bench/loadgen.NetHTTP): a Go net/http client, a request built per send",
}

// pinnedEnv marks the re-executed, pinned process and carries the machine's
// CPU count (the pinned process sees one).
const pinnedEnv = "BENCHCOMPARE_PINNED_CPUS"

// reexecPinned runs this command again under taskset -c 1, so that the load
// generator keeps to CPU 1 while each server is pinned to CPU 0.
func reexecPinned(ctx context.Context, cores int, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", "1", exe}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"="+strconv.Itoa(cores))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	return cmd.Run()
}

// loadAvg returns the 1, 5 and 15 minute load averages (Linux), or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}

// cpuModel returns the processor's model name (Linux), or "".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
