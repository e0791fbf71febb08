//go:build !(linux && (amd64 || arm64))

package sqlitestore

// registerVFS reports that the store uses SQLite's default VFS: the shim that
// writes a commit's WAL frames with one system call exists for Linux only.
func registerVFS() (string, error) { return "", nil }
