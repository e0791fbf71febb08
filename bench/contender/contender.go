// Package contender builds the servers the load generator measures: a bare
// net/http handler, idemgen's runtime with each store, Fiber v2/v3 with and
// without their idempotency middleware, and the bare handler behind
// `idemgen proxy`'s gateway. Every one runs workload.Work once per
// handler execution and reports it to a Recorder.
package contender

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
)

// Env says where the shared backends are.
type Env struct {
	// RedisURL is a redis:// URL (idemgen's store and Fiber's Redis storage).
	RedisURL string
	// PostgresURL is a postgres:// URL.
	PostgresURL string
	// SQLitePath is the SQLite database file.
	SQLitePath string
}

// Server is one running contender.
type Server interface {
	// Serve answers HTTP on ln until Close.
	Serve(ln net.Listener) error
	// Close stops serving and releases the contender's store.
	Close() error
}

// Info describes a contender.
type Info struct {
	// Name is the contender's id, e.g. "idemgen-redis".
	Name string
	// Baseline is the bare contender of the same HTTP stack ("nethttp" or "fiber2"/"fiber3").
	Baseline string
	// Store is "", "memory", "redis", "postgres" or "sqlite".
	Store string
	// Shared reports that two processes of this contender share one store, so
	// the two-process contention mode applies.
	Shared bool
	// ContentionOnly limits the contender to the contention modes (a variant
	// that differs from another only in how it answers in-flight duplicates).
	ContentionOnly bool
	// Section is the benchcompare section that runs the contender: "" for the
	// runtime comparison (load), SectionProxy for the gateway's overhead.
	Section string
}

type opener func(ctx context.Context, env Env, rec *Recorder) (Server, error)

var registry = map[string]struct {
	info Info
	open opener
}{}

// register is called from init functions only (the registry is fixed after init).
func register(info Info, open opener) {
	registry[info.Name] = struct {
		info Info
		open opener
	}{info, open}
}

// Names lists the registered contenders grouped by HTTP stack (net/http
// first, then Fiber v2 and v3), each group's bare baseline first, then by name.
func Names() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	key := func(n string) string {
		i := registry[n].info
		group := "1" + i.Baseline
		if i.Baseline == "nethttp" {
			group = "0"
		}
		rank := "1"
		if i.Store == "" {
			rank = "0"
		}
		return group + "|" + rank + "|" + n
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(key(a), key(b)) })
	return names
}

// Lookup returns the Info of name.
func Lookup(name string) (Info, bool) {
	c, ok := registry[name]
	return c.info, ok
}

// Open starts building the contender name (connecting its store); call Serve next.
func Open(ctx context.Context, name string, env Env, rec *Recorder) (Server, error) {
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("contender: unknown contender %q", name)
	}
	return c.open(ctx, env, rec)
}
