package sqlitestore

import (
	"errors"
	"sync/atomic"
)

var errNoVFS = errors.New("sqlitestore: the default SQLite VFS cannot be wrapped")

// framesCombined counts the WAL frames written with one system call instead of
// two (see walVFS), for the tests.
var framesCombined atomic.Uint64

// headersRewritten counts the frame headers SQLite rewrote after reading their
// frame (walRewriteChecksums), which the shim writes at once, for the tests.
var headersRewritten atomic.Uint64

// mappedReads counts the WAL reads served from the shim's mapping, for the
// tests.
var mappedReads atomic.Uint64
