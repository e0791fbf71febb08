package cli

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"idemgen": func() {
			os.Exit(Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

var updateScripts = flag.Bool("update", false, "rewrite the expected files (cmp targets) of testdata/script with the actual output")

// TestScripts runs the txtar scripts in testdata/script: each runs idemgen and
// checks exit codes, output and files. Every program a script runs is named
// with exec (RequireExplicitExec), every file in an archive once
// (RequireUniqueNames); -update rewrites the expected files that cmp compares.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// Specs shared by many scripts live in the repository's testdata.
			env.Setenv("TESTDATA", repoTestdata())
			return nil
		},
	})
}
