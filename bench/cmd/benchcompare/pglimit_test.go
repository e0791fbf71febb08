package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPGBenchScript(t *testing.T) {
	got := pgBenchScript("SELECT $1,\n  $2 FROM t WHERE id = $1 AND n = $4::bigint", "UPDATE t SET r = $3 WHERE id = $1 AND tok = $2")
	want := "\\set r random(1, 4611686018427387903)\n" +
		"SELECT (md5(:r::text) || md5((:r::bigint + 1)::text)), :fp FROM t WHERE id = (md5(:r::text) || md5((:r::bigint + 1)::text)) AND n = :lease::bigint;\n" +
		"UPDATE t SET r = :res WHERE id = (md5(:r::text) || md5((:r::bigint + 1)::text)) AND tok = :tok;\n"
	if got != want {
		t.Fatalf("script:\n%s\nwant:\n%s", got, want)
	}
}

func TestParsePGBench(t *testing.T) {
	out := `transaction type: first-request.pgbench
scaling factor: 1
query mode: prepared
number of clients: 32
number of threads: 1
maximum number of tries: 1
duration: 5 s
number of transactions actually processed: 15000
number of failed transactions: 0 (0.000%)
latency average = 10.6 ms
initial connection time = 40.1 ms
tps = 3000.000000 (without initial connection time)
`
	res, err := parsePGBench(out)
	if err != nil || res.Requests != 15000 || res.Elapsed != 5*time.Second || res.RPS() != 3000 {
		t.Fatalf("parsePGBench = %+v (RPS %v), %v", res, res.RPS(), err)
	}
	if _, err := parsePGBench("pgbench: error: connection refused"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want one naming pgbench's output", err)
	}
}

// TestPGBenchRuns runs the real script briefly against the local PostgreSQL:
// pgstore's statements, bound as the script binds them, must run without error
// and claim and complete every transaction's new id.
func TestPGBenchRuns(t *testing.T) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		t.Skip("pgbench not installed")
	}
	ctx := context.Background()
	if err := ensureDatabase(ctx, "127.0.0.1:5432", "idemgen_bench"); err != nil {
		t.Skipf("PostgreSQL at 127.0.0.1:5432: %v", err)
	}
	b, err := newPGBench(ctx, "127.0.0.1:5432", "idemgen_bench", t.TempDir(), 4, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.RPS() <= 0 {
		t.Fatalf("pgbench ran %+v", res)
	}
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/idemgen_bench?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var completed int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgLimitTable+" WHERE state = 2 AND length(result) = 1100").Scan(&completed); err != nil {
		t.Fatal(err)
	}
	if completed != res.Requests {
		t.Fatalf("%d completed records after %d transactions: every transaction should claim and complete a new id", completed, res.Requests)
	}
}
