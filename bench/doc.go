// Package bench holds nothing but this comment: the bench module compares idemgen
// with its alternatives (bare net/http, Fiber's idempotency middleware,
// oapi-codegen, ogen, Spectral and Redocly) in one run on one machine, and measures
// `idemgen proxy` (runtime/gateway) against a direct call to its upstream.
//
// It is its own Go module so that the peers it measures never enter the main
// go.mod. The command is cmd/benchcompare (`make bench-compare` in the repository
// root runs it and writes docs/benchmarks.md). Its packages:
//
//   - workload: the 1 KiB JSON request body and the handler work every contender does;
//   - contender: the servers under test (proxy-*: the bare handler reached
//     directly and through the gateway) and the per-key execution recorder;
//   - loadgen: the loopback HTTP load generator (fresh, replay-heavy, contention);
//   - wirecount: TCP proxies that count Redis commands and PostgreSQL statements;
//   - toolcmp: generator and lint comparisons (time, peak RSS, does it compile);
//   - servercost: one spec served by a hand-written handler, idemgen's generated
//     server, oapi-codegen's strict server (with and without kin-openapi's
//     request validation) and ogen, for the CPU per request of each;
//   - report: the Markdown tables.
package bench
