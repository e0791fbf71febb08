package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/emit"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
)

// generateConfig is the file given with --config (idemgen.yaml). Relative paths
// are relative to the file's directory. A flag given on the command line wins
// over the file.
type generateConfig struct {
	Spec    string `yaml:"spec"`
	Out     string `yaml:"out"`
	Package string `yaml:"package"`
	Models  *bool  `yaml:"models"`
	Server  *bool  `yaml:"server"`
	Client  *bool  `yaml:"client"`
	// Ignore silences warnings by rule id (errors cannot be silenced).
	Ignore []string `yaml:"ignore"`
}

type generateOptions struct {
	config, spec, out, pkg string
	models, server, client bool
	ignore                 []string
}

func newGenerateCmd(e *env) *cobra.Command {
	var o generateOptions
	cmd := &cobra.Command{
		Use: "generate --spec FILE --out DIR --package NAME",
		Example: `  # models, server, client and policy table into internal/api
  idemgen generate --spec api/openapi.yaml --out internal/api --package api

  # only the typed client, for a consumer of someone else's API
  idemgen generate --spec vendor/payments.yaml --out paymentsclient --client

  # the same settings from a file (keys spec, out, package, models, server, client)
  idemgen generate --config idemgen.yaml

  # from go generate, in a file of the target package
  //go:generate go run github.com/idemgen/idemgen/cmd/idemgen generate --spec openapi.yaml --out . --package api`,
		Short: "Generate Go models, server, client and policy table from an OpenAPI spec",
		Long: `generate reads an OpenAPI 3 document (YAML or JSON) marked with x-idempotent
and writes Go files into --out:

  models_gen.go    one type per schema
  server_gen.go    a net/http server: the Handler interface and NewServer, every
                   idempotent operation wrapped with the idempotency middleware;
                   with security requirements, a SecurityHandler interface (one
                   method per scheme) that NewServer takes (docs/security.md)
  validate_gen.go  the validation of request bodies and parameters against their
                   schemas (only when some schema has a keyword to check)
  webhooks_gen.go  the receivers of the spec's webhooks and callbacks (with the
                   server, when it has any): WebhookHandler and NewWebhookHandler,
                   each served at /webhooks/{name} or /callbacks/{operationId}/{name}
  client_gen.go    a typed client that sends idempotency keys and retries safely
  webhooks_client_gen.go
                   WebhookSender, a typed client delivering the webhooks and
                   callbacks to a receiver (with the client, when it has any)
  policies_gen.go  the compiled policy of every idempotent operation (Policies)

--models, --server and --client choose what to write (default: all). The same
settings can come from a YAML file given with --config (keys spec, out, package,
models, server, client; paths relative to the file); flags win over the file.

Diagnostics are printed as file:line:col. When the spec has errors nothing is
written and the exit status is 1; a document that cannot be loaded at all (YAML
or JSON syntax, a value of the wrong type, a missing $ref target) exits 2.

On a terminal, a one-line progress status is shown on stderr and erased at the
end; none when stderr is redirected or under go generate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd, e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "read settings from this YAML file (e.g. idemgen.yaml)")
	f.StringVar(&o.spec, "spec", "", "the OpenAPI document")
	f.StringVar(&o.out, "out", "", "the directory to write the generated files to")
	f.StringVar(&o.pkg, "package", "", "the Go package name (default: the base name of --out)")
	f.BoolVar(&o.models, "models", false, "write models_gen.go")
	f.BoolVar(&o.server, "server", false, "write server_gen.go (and policies_gen.go)")
	f.BoolVar(&o.client, "client", false, "write client_gen.go (and policies_gen.go)")
	f.StringSliceVar(&o.ignore, "ignore", nil, "silence warnings of these rule ids (the [rule] after each warning), e.g. schema-free-form")
	return cmd
}

// resolve merges the config file (when given) under the flags.
func (o *generateOptions) resolve(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	if o.config != "" {
		data, err := os.ReadFile(o.config)
		if err != nil {
			return err
		}
		var c generateConfig
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: %v", o.config, err)
		}
		base := filepath.Dir(o.config)
		rel := func(p string) string {
			if p == "" || filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(base, p)
		}
		if !changed("spec") {
			o.spec = rel(c.Spec)
		}
		if !changed("out") {
			o.out = rel(c.Out)
		}
		if !changed("package") {
			o.pkg = c.Package
		}
		set := func(name string, dst *bool, v *bool) {
			if !changed(name) && v != nil {
				*dst = *v
			}
		}
		set("models", &o.models, c.Models)
		set("server", &o.server, c.Server)
		set("client", &o.client, c.Client)
		if !changed("ignore") {
			o.ignore = c.Ignore
		}
	}
	if o.spec == "" {
		return errors.New("generate: no spec: give --spec or spec: in --config")
	}
	if o.out == "" {
		return errors.New("generate: no output directory: give --out or out: in --config")
	}
	if o.pkg == "" {
		abs, err := filepath.Abs(o.out)
		if err != nil {
			return err
		}
		o.pkg = strings.NewReplacer("-", "", ".", "").Replace(filepath.Base(abs))
	}
	if !o.models && !o.server && !o.client {
		o.models, o.server, o.client = true, true, true
	}
	return nil
}

func runGenerate(cmd *cobra.Command, e *env, o generateOptions) error {
	if err := o.resolve(cmd); err != nil {
		return exitCode(2, err)
	}
	prog := newProgress(e.stderr, os.Getenv)
	defer prog.clear()
	prog.status("loading %s", o.spec)
	api, err := loader.Load(cmd.Context(), o.spec)
	prog.clear()
	if err != nil {
		return exitCode(2, err)
	}
	errs := printDiagnostics(e.stderr, o.spec, api.Diagnostics, o.ignore...)
	if errs > 0 {
		return exitCode(1, fmt.Errorf("generate: %s has %d error(s); nothing written", o.spec, errs))
	}
	res, err := emit.Generate(api, emit.Options{
		Package: o.pkg, Models: o.models, Server: o.server, Client: o.client, Version: Version,
		Progress: func(name string, n, of int) {
			prog.status("%d operations, %d schemas: emitting %s (%d/%d)", len(api.Operations), len(api.Schemas), name, n, of)
		},
	})
	prog.clear()
	if err != nil {
		return exitCode(1, err)
	}
	printDiagnostics(e.stderr, o.spec, res.Diagnostics, o.ignore...)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return exitCode(1, err)
	}
	for _, f := range res.Files {
		if err := writeFileAtomic(filepath.Join(o.out, f.Name), f.Content); err != nil {
			return exitCode(1, err)
		}
	}
	if o.server && !slices.ContainsFunc(res.Files, func(f emit.File) bool { return f.Name == "validate_gen.go" }) {
		// The spec no longer has anything to validate: a validate_gen.go
		// generated earlier would refer to what is gone.
		if err := removeGenerated(filepath.Join(o.out, "validate_gen.go")); err != nil {
			return exitCode(1, err)
		}
	}
	return nil
}

// removeGenerated removes path when it is a file idemgen generated (its
// first line says so); anything else is left alone.
func removeGenerated(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(b, []byte("// Code generated by idemgen ")) {
		return nil
	}
	return os.Remove(path)
}

// printDiagnostics prints ds as "file:line:col: message" for errors and
// "file:line:col: warning: message [rule]" otherwise (the spec's name when the
// position is unknown), leaves out the warnings whose rule is in ignore, and
// returns the number of errors.
func printDiagnostics(w io.Writer, spec string, ds []model.Diagnostic, ignore ...string) int {
	errs := 0
	for _, d := range ds {
		if d.Severity != model.Error && slices.Contains(ignore, d.Rule) {
			continue
		}
		loc := d.Pos.String()
		if loc == "" {
			loc = spec
		}
		switch {
		case d.Severity == model.Error:
			errs++
			fmt.Fprintf(w, "%s: %s\n", loc, d.Message)
		case d.Rule != "":
			fmt.Fprintf(w, "%s: %s: %s [%s]\n", loc, d.Severity, d.Message, d.Rule)
		default:
			fmt.Fprintf(w, "%s: %s: %s\n", loc, d.Severity, d.Message)
		}
	}
	return errs
}

// writeFileAtomic replaces path with data, so that an interrupted run never
// leaves a half-written file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
