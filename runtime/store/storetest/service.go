package storetest

import (
	"cmp"
	"os"
	"testing"
)

// RedisAddr is the Redis server that tests use: IDEMGEN_REDIS_ADDR, or the
// machine's 127.0.0.1:6379.
func RedisAddr() string { return cmp.Or(os.Getenv("IDEMGEN_REDIS_ADDR"), "127.0.0.1:6379") }

// PostgresURL is the PostgreSQL database that tests use: IDEMGEN_POSTGRES_URL,
// or the machine's server on 127.0.0.1:5432, database test.
func PostgresURL() string {
	return cmp.Or(os.Getenv("IDEMGEN_POSTGRES_URL"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}

// NeedService is the one rule for tests of a backend service (Redis,
// PostgreSQL, ...): when err says the service named what is unreachable, the
// test is skipped with a message saying so, except under CI=true, where the
// backend must be tested and its absence fails the test. A nil err does
// nothing.
func NeedService(tb testing.TB, what string, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s unreachable under CI=true: %v", what, err)
	}
	tb.Skipf("skipping: %s unreachable (%v); CI=true makes this a failure", what, err)
}
