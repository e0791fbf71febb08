package templates

import (
	"embed"
	"io/fs"
)

// reportFiles holds the Markdown report templates of "idemgen lint", "idemgen
// diff" (--format markdown) and "idemgen annotate --markdown".
//
//go:embed report/*.tmpl
var reportFiles embed.FS

// Report returns the Markdown report templates: findings.md.tmpl (a PR comment
// summary of lint or diff findings) and policies.md.tmpl (the table of every
// operation's idempotency policy). Their data types live in generator/lint and
// generator/annotate.
func Report() fs.FS {
	sub, err := fs.Sub(reportFiles, "report")
	if err != nil {
		// fs.Sub fails only for an invalid path; "report" is valid and embedded.
		panic("templates: " + err.Error())
	}
	return sub
}
