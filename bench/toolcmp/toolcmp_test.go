package toolcmp

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExecMeasures(t *testing.T) {
	ctx := context.Background()
	r := Exec(ctx, Cmd{Path: "sh", Args: []string{"-c", "echo out; echo err >&2; exit 3"}})
	if r.Err != nil || r.ExitCode != 3 || string(r.Stdout) != "out\n" || string(r.Stderr) != "err\n" || r.Wall <= 0 || r.MaxRSSKiB <= 0 {
		t.Fatalf("run = %+v", r)
	}
	if r := Exec(ctx, Cmd{Path: filepath.Join(t.TempDir(), "missing")}); r.Err == nil || r.ExitCode != -1 {
		t.Fatalf("missing binary: %+v", r)
	}
	dir := t.TempDir()
	n := 0
	wall, rss, last := Repeat(ctx, 3, Cmd{Path: "sh", Args: []string{"-c", "echo hi"}}, func() (io.WriteCloser, error) {
		n++
		return os.Create(filepath.Join(dir, "out"))
	})
	got, _ := os.ReadFile(filepath.Join(dir, "out"))
	if n != 3 || wall <= 0 || rss <= 0 || last.ExitCode != 0 || string(got) != "hi\n" {
		t.Fatalf("Repeat: %d runs, %v, %d KiB, %+v, %q", n, wall, rss, last, got)
	}
}

// TestMeasureCPU: a command that burns CPU reports CPU time, and its median
// comes with the wall time and peak RSS.
func TestMeasureCPU(t *testing.T) {
	st := Measure(context.Background(), 3, Cmd{Path: "sh", Args: []string{"-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"}}, nil)
	if st.Last.Err != nil || st.Last.ExitCode != 0 || st.CPU <= 0 || st.Wall <= 0 || st.RSSKiB <= 0 {
		t.Fatalf("Measure = %+v", st)
	}
	if st.CPU > 2*st.Wall {
		t.Errorf("a single-threaded shell used %v of CPU in %v", st.CPU, st.Wall)
	}
}

func TestCorpus(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b-spec.yaml", "a.json", "README.md", "ref/main.yml", "ref/deeper/x.yml", "9lives.yml"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("openapi: 3.0.0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	specs, err := Corpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range specs {
		got = append(got, s.Name+"="+s.Pkg+"="+strings.TrimPrefix(s.Path, dir))
	}
	want := []string{"9lives.yml=p9lives=/9lives.yml", "a.json=a=/a.json", "b-spec.yaml=b_spec=/b-spec.yaml", "ref=ref=/ref/main.yml"}
	if !slices.Equal(got, want) {
		t.Fatalf("Corpus = %v, want %v", got, want)
	}
	if _, err := Corpus(filepath.Join(dir, "none")); err == nil {
		t.Fatal("Corpus of a missing directory succeeded")
	}
}

func TestModuleCheck(t *testing.T) {
	ctx := context.Background()
	m, err := NewModule(t.TempDir(), "example.com/scratch", "1.22", "")
	if err != nil {
		t.Fatal(err)
	}
	write := func(pkg, src string) {
		if err := os.MkdirAll(filepath.Join(m.Dir, pkg), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(m.Dir, pkg, "x.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good", "package good\n\nfunc F() int { return 1 }\n")
	write("novet", "package novet\n\nimport \"fmt\"\n\nfunc F() { fmt.Printf(\"%d\", \"s\") }\n")
	write("broken", "package broken\n\nfunc F() int { return undefinedThing }\n")
	if err := m.Tidy(ctx); err != nil {
		t.Fatal(err)
	}
	if b, v := m.Check(ctx, "good"); b != "ok" || v != "ok" {
		t.Fatalf("good: %s / %s", b, v)
	}
	if b, v := m.Check(ctx, "novet"); b != "ok" || !strings.HasPrefix(v, "FAILS: ") {
		t.Fatalf("novet: %s / %s", b, v)
	}
	if b, v := m.Check(ctx, "broken"); !strings.Contains(b, "undefinedThing") || v != "-" {
		t.Fatalf("broken: %s / %s", b, v)
	}
}

// TestExecRSSIsTheChilds checks that a small command's peak RSS is not
// inflated to this process's own: the test first grows its heap well past the
// command's size.
func TestExecRSSIsTheChilds(t *testing.T) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("GNU time is not installed: Exec falls back to the child's rusage, an upper bound")
	}
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	r := Exec(context.Background(), Cmd{Path: "true"})
	if r.ExitCode != 0 || r.MaxRSSKiB <= 0 || r.MaxRSSKiB > 64<<10 {
		t.Fatalf("true: %+v; want a peak RSS well under the test's 256 MiB", r)
	}
	_ = ballast[len(ballast)-1]
}
