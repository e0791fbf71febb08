// Package browsertest drives the examples' pages with a headless Chromium, the
// way a person does: the browser, not our client, decides what is resent, with
// which headers and body encoding, and when. It is test support for the
// examples, not part of idemgen's API.
//
// One Browser serves a whole test package: it starts Chromium on first use,
// each test gets its own tab, and the package's TestMain stops it. Without a
// browser the tests skip with a message, except under CI=true where they fail.
package browsertest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// flags are Chromium's command line: headless, no sandbox (CI runs as root),
// no GPU, and nothing that reaches the network on its own (background
// networking, component updates, sync, QUIC, extensions), so that only the
// test server on loopback is ever contacted.
var flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
	"no-default-browser-check", "disable-default-apps", "disable-extensions",
	"hide-scrollbars", "mute-audio",
}

// Timeouts bound every wait, so a browser that hangs fails the test instead
// of the package's go test -timeout.
const (
	startTimeout = 30 * time.Second
	tabTimeout   = 30 * time.Second
)

// Browser is one Chromium process shared by a test package's tests. The zero
// value is ready; Close stops the process. It is safe for concurrent use.
type Browser struct {
	once    sync.Once
	err     error // why no browser runs (set once)
	dir     string
	alloc   context.CancelFunc
	browser context.Context
	cancel  context.CancelFunc
}

// Path returns the Chromium executable: $CHROMIUM when set, else the first of
// chromium, chromium-browser, google-chrome on PATH.
func Path() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium, or set CHROMIUM)")
}

func (b *Browser) start() {
	path, err := Path()
	if err != nil {
		b.err = err
		return
	}
	// A fresh profile per run: no cookies, cache or form history from
	// another run can change what the pages do.
	dir, err := os.MkdirTemp("", "idemgen-chromium-")
	if err != nil {
		b.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(dir), chromedp.WindowSize(800, 400)}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	// Every host but 127.0.0.1 (where httptest serves) resolves to
	// nothing, so nothing else is ever reached, even by accident.
	opts = append(opts, chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	// No debugging port: chromedp talks to Chromium over a pipe.
	allocCtx, alloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	// The first run on bctx starts the browser and ties its life to bctx, so
	// the start is bounded by a timer that cancels bctx, not by a context
	// derived from it.
	timer := time.AfterFunc(startTimeout, cancel)
	err = chromedp.Do(bctx)
	if !timer.Stop() && err == nil {
		err = fmt.Errorf("no answer in %s", startTimeout)
	}
	if err != nil {
		cancel()
		alloc()
		os.RemoveAll(dir)
		b.err = fmt.Errorf("starting %s: %w", path, err)
		return
	}
	b.dir, b.alloc, b.browser, b.cancel = dir, alloc, bctx, cancel
}

// Tab returns the context of a new tab in the shared browser, closed when t
// ends. It starts the browser on first use; without one it skips t, or fails
// it under CI=true.
func (b *Browser) Tab(t testing.TB) context.Context {
	t.Helper()
	b.once.Do(b.start)
	if b.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need Chromium under CI=true: %v", b.err)
		}
		t.Skipf("skipping browser test: %v (CI=true makes this a failure)", b.err)
	}
	tab, closeTab := chromedp.NewContext(b.browser)
	ctx, cancel := context.WithTimeout(tab, tabTimeout)
	t.Cleanup(func() {
		cancel()
		closeTab()
	})
	return ctx
}

// NewTab opens another tab next to the one of ctx (a second browser tab of
// the same person: same profile, same cookies), closed when t ends.
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, closeTab := chromedp.NewContext(ctx)
	t.Cleanup(closeTab)
	return tab
}

// Main is a test package's TestMain: it runs the tests, then stops the
// browser, and exits with the tests' status.
func (b *Browser) Main(m *testing.M) {
	flag.Parse()
	code := m.Run()
	b.Close()
	os.Exit(code)
}

// Close stops the browser and removes its profile. Call it from TestMain
// after m.Run.
func (b *Browser) Close() {
	if b.cancel == nil {
		return
	}
	b.cancel() // closes the browser gracefully
	b.alloc()  // and waits for the process to exit
	os.RemoveAll(b.dir)
}

// Do runs steps in the tab of ctx and fails t, naming what, on error.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Wait waits until the JavaScript expression holds in the tab of ctx (see
// WaitFor) and fails t when it never does.
func Wait(t testing.TB, ctx context.Context, expr string) {
	t.Helper()
	if err := WaitFor(ctx, expr); err != nil {
		t.Fatal(err)
	}
}

// Recorder is an http.Handler that counts the requests the browser sent
// before passing them on, so that a test can tell "the browser sent the
// form twice and the handler ran once" from "the browser sent it once". It
// can also hold POSTs until several are in flight, as when a person clicks
// again before the first answer came.
type Recorder struct {
	next http.Handler
	mu   sync.Mutex
	sent map[string]int
	hold int           // POSTs still to arrive before the gate opens
	gate chan struct{} // closed when they have
	max  time.Duration
}

// Record returns a Recorder in front of next.
func Record(next http.Handler) *Recorder {
	return &Recorder{next: next, sent: make(map[string]int)}
}

// ServeHTTP counts r and serves it with the wrapped handler.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.sent[r.Method+" "+r.URL.Path]++
	var gate chan struct{}
	if r.Method == http.MethodPost && rec.hold > 0 {
		gate = rec.gate
		if rec.hold--; rec.hold == 0 {
			close(gate)
		}
	}
	max := rec.max
	rec.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-time.After(max):
		case <-r.Context().Done():
		}
	}
	rec.next.ServeHTTP(w, r)
}

// Count returns how many requests "METHOD /path" were received.
func (rec *Recorder) Count(methodPath string) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.sent[methodPath]
}

// HoldPosts makes the next n POSTs wait until all n have arrived, then lets
// them go together: n submits in flight at once, however slowly the machine
// runs. A POST waits at most max (the browser may send fewer than n; the
// test's count then says so).
func (rec *Recorder) HoldPosts(n int, max time.Duration) {
	rec.mu.Lock()
	rec.hold, rec.gate, rec.max = n, make(chan struct{}), max
	rec.mu.Unlock()
}

// WaitFor evaluates the JavaScript expression in the tab of ctx until it is
// true, across page loads (an evaluation that fails while the tab navigates
// is retried). It gives up when ctx ends.
func WaitFor(ctx context.Context, expr string) error {
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", expr, ctx.Err(), last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Screenshot saves a PNG of what the tab of ctx shows into t's temporary
// directory as name, and also into dir when dir is not empty (the -doc-images
// flag of the examples' tests, to refresh the images the docs show).
func Screenshot(t testing.TB, ctx context.Context, name, dir string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	for _, d := range []string{t.TempDir(), dir} {
		if d == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
