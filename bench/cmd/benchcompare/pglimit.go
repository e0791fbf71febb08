package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/pgstore"
)

// pgLimitTable is the table the pgbench runs write: their own, so that the
// idemgen-postgres contender's table is not touched.
const pgLimitTable = "benchcompare_pgbench"

// pgLimitTarget is issue 17's PostgreSQL goal: idemgen-postgres's fresh-key
// throughput over the ceiling pgbench reaches for the same two statements.
const pgLimitTarget = 0.8

// pgBench measures the ceiling of the PostgreSQL server for a first request's
// two statements: pgstore's own Claim and Complete SQL (pgstore.FirstRequestSQL),
// each its own autocommit transaction as the store runs them, on a new id per
// transaction, from as many clients as the load runs use. Whatever the store
// adds (pool, Go driver, middleware, HTTP) is then the gap between the two.
type pgBench struct {
	bin, script string
	// batched is the script of the server's limit when statements share
	// commits, as pgstore's group commit makes them (pgBenchBatchScript).
	batched string
	args    []string // connection arguments
	clients int
	secs    int
}

// pgBatch is how many first requests one transaction of the batched script
// holds: 5 claims and 5 completions, about the 10 statements per commit
// pgstore's flights hold with 32 clients on the benchmark machine.
const pgBatch = 5

// pgBenchVars holds the constants of the script: what the middleware sends for
// a fresh key of the load runs (64-hex fingerprint, 32-hex token, ~1.1 KiB
// result, the default lease and time to live).
var pgBenchVars = map[string]string{
	"fp":    strings.Repeat("5f", 32),
	"tok":   strings.Repeat("a1", 16),
	"res":   strings.Repeat("x", 1100),
	"lease": strconv.FormatInt(int64(idempotency.DefaultLease/time.Microsecond), 10),
	"ttl":   strconv.FormatInt(int64(idempotency.DefaultTTL/time.Microsecond), 10),
}

// newPGBench creates the table (pgstore's own migration) and writes the script
// to dir. It fails when pgbench is not installed or PostgreSQL is unreachable.
func newPGBench(ctx context.Context, addr, db, dir string, clients int, d time.Duration) (*pgBench, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return nil, err
	}
	host, port, ok := strings.Cut(addr, ":")
	if !ok {
		return nil, fmt.Errorf("postgres address %q: want host:port", addr)
	}
	pool, err := pgxpool.New(ctx, "postgres://postgres@"+addr+"/"+db+"?sslmode=disable")
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+pgLimitTable+", "+pgLimitTable+"_schema"); err != nil {
		return nil, err
	}
	st, err := pgstore.New(ctx, pool, pgstore.WithTable(pgLimitTable), pgstore.WithPurgeInterval(0))
	if err != nil {
		return nil, err
	}
	_ = st.Close()
	claim, complete, err := pgstore.FirstRequestSQL(pgLimitTable)
	if err != nil {
		return nil, err
	}
	script := pgBenchScript(claim, complete)
	path := filepath.Join(dir, "first-request.pgbench")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return nil, err
	}
	batched := filepath.Join(dir, "first-requests-batched.pgbench")
	if err := os.WriteFile(batched, []byte(pgBenchBatchScript(claim, complete, pgBatch)), 0o644); err != nil {
		return nil, err
	}
	b := &pgBench{bin: bin, script: path, batched: batched, clients: clients, secs: int(math.Ceil(d.Seconds()))}
	b.args = []string{"-h", host, "-p", port, "-U", "postgres"}
	for _, k := range []string{"fp", "tok", "res", "lease", "ttl"} {
		b.args = append(b.args, "-D", k+"="+pgBenchVars[k])
	}
	// The batched script's first transaction completes ids nobody claimed
	// (0 rows), then the ids its client claimed the transaction before.
	for i := 1; i <= pgBatch; i++ {
		b.args = append(b.args, "-D", fmt.Sprintf("p%d=%d", i, i))
	}
	b.args = append(b.args, db)
	return b, nil
}

// sqlParam matches the $n parameters of pgstore's statements.
var sqlParam = regexp.MustCompile(`\$([1-9])`)

// pgBenchScript turns the two statements into a pgbench script: a random
// number per transaction becomes a 64-hex id (two md5s of it, the shape of the
// middleware's ids), the other parameters become the script's constants.
// pgbench's meta-commands end at the line's end, and its SQL commands at a
// semicolon, so the statements are put on one line each.
func pgBenchScript(claim, complete string) string {
	return "\\set r random(1, 4611686018427387903)\n" +
		bindPGBench(claim, pgBenchID("r"), ":fp", ":tok", ":lease") +
		bindPGBench(complete, pgBenchID("r"), ":tok", ":res", ":ttl")
}

// pgBenchBatchScript is the limit of the server when first requests share
// commits, as pgstore's flights make them: each transaction claims k new ids
// and completes the k ids its client claimed in the transaction before (as a
// flight mixes new requests' claims with earlier requests' completions), all
// in one pipeline, so one round trip and one commit for 2k statements.
func pgBenchBatchScript(claim, complete string, k int) string {
	var b strings.Builder
	for i := 1; i <= k; i++ {
		fmt.Fprintf(&b, "\\set r%d random(1, 4611686018427387903)\n", i)
	}
	b.WriteString("\\startpipeline\nBEGIN;\n")
	for i := 1; i <= k; i++ {
		b.WriteString(bindPGBench(claim, pgBenchID(fmt.Sprint("r", i)), ":fp", ":tok", ":lease"))
	}
	for i := 1; i <= k; i++ {
		b.WriteString(bindPGBench(complete, pgBenchID(fmt.Sprint("p", i)), ":tok", ":res", ":ttl"))
	}
	b.WriteString("COMMIT;\n\\endpipeline\n")
	for i := 1; i <= k; i++ {
		fmt.Fprintf(&b, "\\set p%d :r%d\n", i, i)
	}
	return b.String()
}

// pgBenchID turns the random number in variable v into a 64-hex id (two md5s
// of it, the shape of the middleware's ids).
func pgBenchID(v string) string {
	return fmt.Sprintf("(md5(:%s::text) || md5((:%s::bigint + 1)::text))", v, v)
}

// bindPGBench puts params in place of sql's $n and the statement on one line.
func bindPGBench(sql string, params ...string) string {
	sql = sqlParam.ReplaceAllStringFunc(sql, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return params[n-1]
	})
	return strings.Join(strings.Fields(sql), " ") + ";\n"
}

// pgbench's summary lines (PostgreSQL 14 and later print "tps = N (without
// initial connection time)").
var (
	tpsLine       = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	processedLine = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
)

// run runs the autocommit script once. Its result counts the transactions
// (first requests) and the time they took, connection setup excluded, as
// pgbench reports them.
func (b *pgBench) run(ctx context.Context) (loadgen.Result, error) {
	return b.runScript(ctx, b.script, 1)
}

// runBatched runs the batched script once; its result counts first requests
// (pgBatch per transaction).
func (b *pgBench) runBatched(ctx context.Context) (loadgen.Result, error) {
	return b.runScript(ctx, b.batched, pgBatch)
}

func (b *pgBench) runScript(ctx context.Context, script string, perTx int) (loadgen.Result, error) {
	args := append([]string{"-n", "-M", "prepared", "-c", strconv.Itoa(b.clients), "-j", "1", "-T", strconv.Itoa(b.secs), "-f", script}, b.args...)
	out, err := exec.CommandContext(ctx, b.bin, args...).CombinedOutput()
	if err != nil {
		return loadgen.Result{}, fmt.Errorf("pgbench %s: %w: %s", filepath.Base(script), err, lastLines(string(out), 5))
	}
	res, err := parsePGBench(string(out))
	res.Requests *= perTx
	return res, err
}

func parsePGBench(out string) (loadgen.Result, error) {
	t, n := tpsLine.FindStringSubmatch(out), processedLine.FindStringSubmatch(out)
	if t == nil || n == nil {
		return loadgen.Result{}, fmt.Errorf("pgbench: no tps or transaction count in its output: %s", lastLines(out, 5))
	}
	tps, err := strconv.ParseFloat(t[1], 64)
	if err != nil || tps <= 0 {
		return loadgen.Result{}, fmt.Errorf("pgbench: tps %q", t[1])
	}
	count, err := strconv.Atoi(n[1])
	if err != nil {
		return loadgen.Result{}, fmt.Errorf("pgbench: transactions %q", n[1])
	}
	return loadgen.Result{Requests: count, Elapsed: time.Duration(float64(count) / tps * float64(time.Second))}, nil
}

// lastLines returns the last n lines of s, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
