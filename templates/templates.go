// Package templates holds idemgen's embedded text templates: the files it writes
// that are not Go code generated from a spec, such as the project that
// "idemgen init" scaffolds.
package templates

import (
	"embed"
	"io/fs"
)

// initFiles holds the "idemgen init" templates. They end in ".tmpl" so that the
// go command never treats them as part of this module (a file named go.mod
// would even cut its directory out of the module and out of the embed).
//
//go:embed init/*.tmpl
var initFiles embed.FS

// Init returns the templates of "idemgen init": one text/template per scaffolded
// file, named as that file's path in the new project plus ".tmpl"
// ("openapi.yaml.tmpl" renders openapi.yaml). The templates read an InitData.
func Init() fs.FS {
	sub, err := fs.Sub(initFiles, "init")
	if err != nil {
		// fs.Sub fails only for an invalid path; "init" is valid and embedded.
		panic("templates: " + err.Error())
	}
	return sub
}

// InitData is what the "idemgen init" templates read.
type InitData struct {
	// Module is the new project's module path ("example.com/songs").
	Module string
	// Package is the Go package name of the generated code, written to the
	// directory of the same name ("api").
	Package string
	// Name is the command's name: the last element of Module ("songs").
	Name string
	// Title is the API's title in openapi.yaml ("Songs API").
	Title string
	// GoVersion is the go directive of the new go.mod: idemgen's own, which
	// the go command would raise it to anyway ("1.26.8").
	GoVersion string
	// IdemgenVersion is the required version of the idemgen module ("v0.1.0").
	IdemgenVersion string
	// Store is the store backend that main.go links: "sqlite", "memory",
	// "redis" or "postgres".
	Store string
	// StoreImport is the store package main.go imports for its URL schemes
	// (empty for memory, which storeurl always has).
	StoreImport string
	// StoreURL is the default of main.go's -store flag.
	StoreURL string
	// StoreForms lists the URL forms of that store, for the flag's help.
	StoreForms string
	// Replace, when not empty, is a local directory that the idemgen module is
	// replaced with (for trying a checkout of idemgen itself).
	Replace string
}
