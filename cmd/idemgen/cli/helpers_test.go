package cli

import (
	"path/filepath"
	"runtime"
)

// repoTestdata returns the absolute path of the repository's top-level testdata.
func repoTestdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata")
}
