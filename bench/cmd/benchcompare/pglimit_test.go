package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idemgen/idemgen/bench/loadgen"
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

func TestPGBenchBatchScript(t *testing.T) {
	got := pgBenchBatchScript("SELECT $1, $2", "UPDATE t SET r = $3 WHERE id = $1", 2)
	id := func(v string) string { return "(md5(:" + v + "::text) || md5((:" + v + "::bigint + 1)::text))" }
	want := "\\set r1 random(1, 4611686018427387903)\n" +
		"\\set r2 random(1, 4611686018427387903)\n" +
		"\\startpipeline\nBEGIN;\n" +
		"SELECT " + id("r1") + ", :fp;\n" +
		"SELECT " + id("r2") + ", :fp;\n" +
		"UPDATE t SET r = :res WHERE id = " + id("p1") + ";\n" +
		"UPDATE t SET r = :res WHERE id = " + id("p2") + ";\n" +
		"COMMIT;\n\\endpipeline\n" +
		"\\set p1 :r1\n\\set p2 :r2\n"
	if got != want {
		t.Fatalf("script:\n%s\nwant:\n%s", got, want)
	}
}

func TestPGLimitFinding(t *testing.T) {
	at := func(rep int, rps float64) sample {
		return sample{rep: rep, res: loadgen.Result{Requests: int(rps), Elapsed: time.Second}}
	}
	ss := []sample{at(0, 3000), at(1, 2000), at(2, 2400)}
	ceiling := []sample{at(0, 2500), at(1, 2500), at(2, 3000)}
	batched := []sample{at(0, 6000), at(1, 5000), at(2, 6000)}
	got := pgLimitFinding("fresh keys", ss, ceiling, nil)
	if !strings.HasPrefix(got, "Target met: idemgen-postgres, fresh keys: 0.80× [0.80–1.20]") || !strings.Contains(got, "2500 [2500–3000] first requests/s") || strings.Contains(got, "share commits") {
		t.Fatalf("finding without the batched limit:\n%s", got)
	}
	got = pgLimitFinding("fresh keys", ss[1:], ceiling[1:], batched[1:])
	if !strings.HasPrefix(got, "Target met: idemgen-postgres, fresh keys: 0.80× [0.80–0.80]") {
		t.Fatalf("finding:\n%s", got)
	}
	if !strings.Contains(got, "share commits") || !strings.Contains(got, "0.40× [0.40–0.40] of 5500 [5000–6000] first requests/s") {
		t.Fatalf("finding with the batched limit:\n%s", got)
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

	// The batched script: every transaction claims pgBatch new ids and
	// completes the ones its client claimed before, so in the end each
	// client holds pgBatch claims it never completed.
	if _, err := conn.Exec(ctx, "TRUNCATE "+pgLimitTable); err != nil {
		t.Fatal(err)
	}
	res, err = b.runBatched(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests%pgBatch != 0 {
		t.Fatalf("batched pgbench ran %+v", res)
	}
	var claimed int
	if err := conn.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE state = 2 AND length(result) = 1100) FROM "+pgLimitTable).Scan(&claimed, &completed); err != nil {
		t.Fatal(err)
	}
	if claimed != res.Requests || completed != res.Requests-b.clients*pgBatch {
		t.Fatalf("batched: %d records, %d completed after %d first requests from %d clients: want %d and %d", claimed, completed, res.Requests, b.clients, res.Requests, res.Requests-b.clients*pgBatch)
	}
}
