package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestShowProgress is the decision of when generate shows a progress line (the
// terminal test itself needs a real terminal and is not exercised here).
func TestShowProgress(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		env      map[string]string
		want     bool
	}{
		{"terminal", true, nil, true},
		{"pipe or file", false, nil, false},
		{"go generate", true, map[string]string{"GOFILE": "api.go", "GOPACKAGE": "api"}, false},
		{"only GOPACKAGE set", true, map[string]string{"GOPACKAGE": "api"}, false},
		{"only GOFILE set", true, map[string]string{"GOFILE": "api.go"}, false},
		{"dumb terminal", true, map[string]string{"TERM": "dumb"}, false},
		{"ordinary TERM", true, map[string]string{"TERM": "xterm-256color"}, true},
		{"go generate into a pipe", false, map[string]string{"GOFILE": "api.go"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			if got := showProgress(tc.terminal, getenv); got != tc.want {
				t.Errorf("showProgress(%v, %v) = %v, want %v", tc.terminal, tc.env, got, tc.want)
			}
		})
	}
}

// TestProgressOffWritesNothing: a buffer, a pipe or a regular file is not a
// terminal, so generate prints no status there.
func TestProgressOffWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	if isTerminal(&buf) {
		t.Fatal("a bytes.Buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("a regular file is a terminal")
	}
	p := newProgress(&buf, func(string) string { return "" })
	p.status("loading %s", "x.yaml")
	p.clear()
	if buf.Len() != 0 {
		t.Errorf("progress wrote %q to a non-terminal", buf.String())
	}
}

// TestProgressLine: when on, each status rewrites one line and clear erases
// it, so nothing of it remains once the run prints its diagnostics.
func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf}
	p.clear() // nothing shown yet: nothing to erase
	p.status("loading %s", "x.yaml")
	p.status("emitting %s", "server_gen.go")
	p.clear()
	out := buf.String()
	if strings.Contains(out, "\n") {
		t.Errorf("the progress line wrote a newline: %q", out)
	}
	for _, want := range []string{"\r\x1b[Kidemgen: loading x.yaml (", "\r\x1b[Kidemgen: emitting server_gen.go (", "\r\x1b[K"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("output %q does not end by erasing the line", out)
	}
}
