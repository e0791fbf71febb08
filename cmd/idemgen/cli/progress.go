package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress is the status line generate keeps on a terminal while it works: one
// line, rewritten in place and erased before anything else is printed, so a
// finished run leaves only its diagnostics. It is off (every method a no-op)
// when stderr is not a terminal, so logs and CI output stay clean.
type progress struct {
	w     io.Writer // nil when off
	start time.Time
	shown bool
}

// newProgress returns the progress line of a run writing to stderr, on only when
// showProgress says so.
func newProgress(stderr io.Writer, getenv func(string) string) *progress {
	if !showProgress(isTerminal(stderr), getenv) {
		return &progress{}
	}
	return &progress{w: stderr, start: time.Now()}
}

// showProgress decides whether a run shows progress: only on a terminal, and
// never under go generate (which sets GOFILE and GOPACKAGE and runs many
// generators whose output interleaves) nor on a terminal that cannot rewrite a
// line (TERM=dumb).
func showProgress(terminal bool, getenv func(string) string) bool {
	if !terminal || getenv("TERM") == "dumb" {
		return false
	}
	return getenv("GOFILE") == "" && getenv("GOPACKAGE") == ""
}

// isTerminal reports whether w is a character device (a terminal), without a
// dependency on a terminal library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// status replaces the line with a new message and the time since the start.
func (p *progress) status(format string, args ...any) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[Kidemgen: %s (%.1fs)", fmt.Sprintf(format, args...), time.Since(p.start).Seconds())
	p.shown = true
}

// clear erases the line, before diagnostics are printed and at the end.
func (p *progress) clear() {
	if p.w == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.shown = false
}
