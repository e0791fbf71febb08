package sqlitestore

import (
	"errors"
	"sync/atomic"
)

var errNoVFS = errors.New("sqlitestore: the default SQLite VFS cannot be wrapped")

// framesStaged counts the WAL frames walVFS staged, and stagedWrites the
// writes of staged frames, for the tests.
var framesStaged, stagedWrites atomic.Uint64

// headersRewritten counts the frame headers SQLite rewrote after reading their
// frame (walRewriteChecksums), which the shim writes at once, for the tests.
var headersRewritten atomic.Uint64

// mappedReads counts the WAL reads served from the shim's mapping, for the
// tests.
var mappedReads atomic.Uint64
