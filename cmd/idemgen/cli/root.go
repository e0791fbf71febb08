// Package cli holds idemgen's command line: one cobra command per file, no global
// flag state. Run is the whole program; main only calls it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Version is the idemgen version printed by "idemgen version" and written in
// generated file headers.
const Version = "v0.1.0"

// env is what every command gets: the streams of this run.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode returns an error that makes Run return code; err (when non-nil) is printed.
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

// commands lists the constructors of the subcommands, in help order. Add new
// subcommands here.
var commands = []func(*env) *cobra.Command{
	newGenerateCmd,
	newInitCmd,
	newVersionCmd,
	newLintCmd,
	newDiffCmd,
	newAnnotateCmd,
	newProxyCmd,
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "idemgen",
		Short: "Generate Go servers and clients that make HTTP APIs safe to retry",
		Long: `idemgen reads an OpenAPI document whose operations are marked with the
x-idempotent extension and generates Go server stubs and typed clients wired to
its idempotency runtime. It also reviews specs (lint, diff) in CI.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	for _, c := range commands {
		root.AddCommand(c(e))
	}
	return root
}

// Run runs idemgen with args (without the program name) and returns the exit code:
// 0 on success, 1 when a command reports findings or fails, 2 on usage errors.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.err != nil {
			fmt.Fprintln(stderr, "idemgen:", xe.err)
		}
		return xe.code
	}
	fmt.Fprintln(stderr, "idemgen:", err)
	// cobra's own argument and flag errors are usage errors.
	return 2
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the idemgen version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(e.stdout, "idemgen", Version)
			return nil
		},
	}
}
