// Package crossproc holds the tests that run the stores across real OS
// processes: three testserver processes (see ./testserver) sharing Redis or
// PostgreSQL under concurrent duplicate load, a process killed with SIGKILL
// while it holds claims, and a Redis outage and recovery under load. It has no
// API; `go test` builds the server and runs it.
package crossproc
