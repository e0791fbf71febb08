package diff

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Source is a spec argument of "idemgen diff" made readable as a file.
type Source struct {
	// Arg is the argument as given ("api/openapi.yaml", "origin/main:api/openapi.yaml").
	Arg string
	// File is the path to load: Arg itself, or the spec inside Dir.
	File string
	// Dir is the temporary directory a git revision was extracted into ("" for a file).
	Dir string
	// Rev and RepoPath are the revision and the repository-relative path of a git spec.
	Rev, RepoPath string
	// Top is the repository's top-level directory (for a git spec).
	Top string
}

// Display maps a file name seen while loading s back to what the user knows:
// a file extracted from git becomes "REV:repo/relative/path".
func (s *Source) Display(file string) string {
	if s.Dir == "" {
		return file
	}
	rel, err := filepath.Rel(s.Dir, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		return file
	}
	return s.Rev + ":" + filepath.ToSlash(rel)
}

// WorkFile maps a file name seen while loading s to the same file in the
// working tree (an absolute path), for formats that must name repository files
// (SARIF, GitHub annotations).
func (s *Source) WorkFile(file string) string {
	if s.Dir == "" {
		return file
	}
	rel, err := filepath.Rel(s.Dir, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		return file
	}
	return filepath.Join(s.Top, rel)
}

// Resolve makes arg loadable. An existing file is used as it is. Otherwise arg
// must be REV:PATH (git's syntax: PATH relative to the repository root, or to
// the current directory when it starts with ./ or ../); the directory holding
// PATH at REV is extracted with "git archive" into a new directory under tmp,
// so relative $refs to files beside or below the spec keep working ($refs that
// climb above the spec's directory do not).
func Resolve(ctx context.Context, arg, tmp string) (*Source, error) {
	if _, err := os.Stat(arg); err == nil {
		return &Source{Arg: arg, File: arg}, nil
	}
	rev, p, ok := strings.Cut(arg, ":")
	if !ok || rev == "" || p == "" {
		return nil, fmt.Errorf("diff: %q: no such file (want a file or REV:PATH)", arg)
	}
	top, err := git(ctx, "", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("diff: %q: not in a git repository: %w", arg, err)
	}
	top = strings.TrimSpace(top)
	if strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") {
		prefix, err := git(ctx, "", "rev-parse", "--show-prefix")
		if err != nil {
			return nil, fmt.Errorf("diff: %q: %w", arg, err)
		}
		p = path.Join(strings.TrimSpace(prefix), p)
	}
	p = path.Clean(p)
	if strings.HasPrefix(p, "../") {
		return nil, fmt.Errorf("diff: %q: path leaves the repository", arg)
	}
	if _, err := git(ctx, top, "cat-file", "-e", rev+":"+p); err != nil {
		return nil, fmt.Errorf("diff: %q: no such file at revision %q: %w", arg, rev, err)
	}
	dir, err := os.MkdirTemp(tmp, "idemgen-diff-")
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	cmd := exec.CommandContext(ctx, "git", "-C", top, "archive", "--format=tar", rev, "--", path.Dir(p))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("diff: git archive: %w", err)
	}
	xerr := extract(out, dir)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("diff: git archive %s: %w: %s", rev, err, strings.TrimSpace(stderr.String()))
	}
	if xerr != nil {
		return nil, fmt.Errorf("diff: extracting %s: %w", rev, xerr)
	}
	return &Source{Arg: arg, File: filepath.Join(dir, filepath.FromSlash(p)), Dir: dir, Rev: rev, RepoPath: p, Top: top}, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return string(out), nil
}

// extract writes the regular files and directories of a tar stream below dir,
// refusing names that would escape it.
func extract(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("unsafe path %q in archive", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
