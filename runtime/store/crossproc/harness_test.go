package crossproc_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serverBin is the testserver binary, built once by TestMain.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crossproc")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "testserver")
	// No symbol table or DWARF: the link is most of the build on a busy machine.
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", serverBin, "./testserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "crossproc: building the test server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running testserver process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	mu     *sync.Mutex
}

// lockedWriter serializes the process's stderr into a buffer.
type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// start runs the testserver with args and waits until it listens. The process
// is killed when the test ends; its stderr is shown when the test failed.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(serverBin, args...), stderr: new(bytes.Buffer), mu: new(sync.Mutex)}
	p.cmd.Stderr = lockedWriter{p.mu, p.stderr}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("server %s stderr:\n%s", p.url, p.stderr)
			p.mu.Unlock()
		}
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		if !ok || !strings.HasPrefix(l, "listening ") {
			p.cmd.Wait()
			t.Fatalf("testserver %v did not start: %q\n%s", args, l, p.stderr)
		}
		p.url = strings.TrimPrefix(l, "listening ")
	case <-time.After(20 * time.Second):
		t.Fatalf("testserver %v did not start within 20s", args)
	}
	return p
}

// kill9 kills the process with SIGKILL: no deferred code, no shutdown.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// targets is the set of live server URLs a load spreads its requests over.
type targets struct {
	mu   sync.Mutex
	urls []string
	// outstanding counts requests sent and not yet answered, per URL.
	outstanding map[string]*atomic.Int64
	// done counts the requests that got their 201.
	done atomic.Int64
}

func newTargets(ps ...*proc) *targets {
	tg := &targets{outstanding: map[string]*atomic.Int64{}}
	for _, p := range ps {
		tg.urls = append(tg.urls, p.url)
		tg.outstanding[p.url] = new(atomic.Int64)
	}
	return tg
}

func (tg *targets) pick() (string, *atomic.Int64) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	u := tg.urls[rand.IntN(len(tg.urls))]
	return u, tg.outstanding[u]
}

// remove stops sending to url (its process is gone).
func (tg *targets) remove(url string) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for i, u := range tg.urls {
		if u == url {
			tg.urls = append(tg.urls[:i], tg.urls[i+1:]...)
			return
		}
	}
}

// loadResult is what a load saw.
type loadResult struct {
	// first is the body of each key's one non-replayed 201.
	first map[string][]byte
	// executions counts non-replayed 201s per key (the handler ran and the
	// outcome was answered as fresh).
	executions map[string]int
	// unavailable counts 503 answers; badProblem those that were not problem+json.
	unavailable, badProblem int
	conflicts               int
	connErrors              int
}

// drive sends dups requests for each key from workers goroutines,
// each to a random live target. A request that gets 409, 503 or a connection
// error is retried (as a client would, with the same key and body) until it
// gets its 201 or the deadline passes, which fails the test: a stuck key.
func drive(t *testing.T, tg *targets, keys []string, dups, workers int, deadline time.Duration) loadResult {
	t.Helper()
	// Keys in random order, each key's duplicates close together (shuffled
	// within windows of a few keys), so that duplicates really race.
	order := rand.Perm(len(keys))
	jobs := make([]string, 0, len(keys)*dups)
	for _, i := range order {
		for range dups {
			jobs = append(jobs, keys[i])
		}
	}
	window := 4 * dups
	for lo := 0; lo < len(jobs); lo += window {
		w := jobs[lo:min(lo+window, len(jobs))]
		rand.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
	}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext},
		Timeout:   20 * time.Second,
	}
	defer client.CloseIdleConnections()
	res := loadResult{first: map[string][]byte{}, executions: map[string]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	end := time.Now().Add(deadline)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				key := jobs[i]
				body := []byte(`{"thing":"` + key + `"}`)
				for {
					if time.Now().After(end) {
						t.Errorf("key %s: no 201 within %v: stuck", key, deadline)
						return
					}
					url, out := tg.pick()
					out.Add(1)
					status, hdr, b, err := post(client, url, key, body)
					out.Add(-1)
					mu.Lock()
					switch {
					case err != nil:
						res.connErrors++
					case status == http.StatusCreated:
						if hdr.Get("Idempotent-Replayed") != "true" {
							res.executions[key]++
							res.first[key] = b
						}
					case status == http.StatusConflict:
						res.conflicts++
					case status == http.StatusServiceUnavailable:
						res.unavailable++
						if hdr.Get("Content-Type") != "application/problem+json" || !bytes.Contains(b, []byte(`"status":503`)) {
							res.badProblem++
						}
					default:
						t.Errorf("key %s: status %d: %s", key, status, b)
					}
					mu.Unlock()
					if err == nil && status == http.StatusCreated {
						tg.done.Add(1)
						break
					}
					time.Sleep(time.Duration(10+rand.IntN(20)) * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return res
}

func post(c *http.Client, url, key string, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/things", bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// checkOnce fails the test unless every key's handler ran exactly once as far
// as the clients saw (one non-replayed 201) and as the sink recorded.
func checkOnce(t *testing.T, keys []string, res loadResult, effects map[string]int) {
	t.Helper()
	total, bad := 0, 0
	for _, k := range keys {
		total += effects[k]
		if effects[k] != 1 || res.executions[k] != 1 {
			if bad++; bad <= 10 {
				t.Errorf("key %s: %d effects recorded, %d fresh 201s answered; want exactly 1 of each", k, effects[k], res.executions[k])
			}
		}
	}
	if total != len(keys) {
		t.Errorf("%d effects for %d keys, want exactly %d", total, len(keys), len(keys))
	}
	for k := range effects {
		if !strings.HasPrefix(k, "k-") {
			t.Errorf("effect for unknown key %q", k)
		}
	}
	t.Logf("%d keys: %d effects; %d conflicts (409), %d unavailable (503), %d connection errors along the way",
		len(keys), total, res.conflicts, res.unavailable, res.connErrors)
}

// makeKeys returns n keys unique to this run.
func makeKeys(n int) []string {
	run := rand.Uint64()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k-%x-%d", run, i)
	}
	return keys
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) error {
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			return errors.New("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
