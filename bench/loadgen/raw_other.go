//go:build !linux

package loadgen

import (
	"context"
	"errors"
)

// Generators are the names of the generators that run here, the default
// first. The raw generator needs Linux, so it is not offered here.
var Generators = []string{"nethttp"}

// Raw is the generator over raw keep-alive TCP connections; it needs Linux
// (epoll).
type Raw struct{}

// NewRaw returns a raw-connection generator.
func NewRaw() *Raw { return &Raw{} }

// Run fails: the raw generator needs Linux.
func (g *Raw) Run(ctx context.Context, cfg Config) (Result, error) {
	return Result{}, errors.New("loadgen: the raw generator needs Linux; use nethttp")
}

// Close does nothing.
func (g *Raw) Close() {}
