package emit

import _ "embed"

// serverKit is the source of the helpers copied into every server_gen.go (see
// package internal/serverkit, where they are tested).
//
//go:embed internal/serverkit/serverkit.go
var serverKit string
