package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/idemgen/idemgen/bench/workload"
)

// NetHTTP is the generator over a net/http client: a request built per send,
// the client's Transport and connection pool. It costs the client about as
// much CPU per request as a bare net/http server spends answering it.
type NetHTTP struct {
	Client *http.Client
}

// Run performs one load run with g's client.
func (g NetHTTP) Run(ctx context.Context, cfg Config) (Result, error) {
	return Run(ctx, g.Client, cfg)
}

// Close closes the client's idle connections.
func (g NetHTTP) Close() { g.Client.CloseIdleConnections() }

// Run performs one load run with client. It fails when cfg is invalid, ctx
// ends, or no request at all got an answer.
func Run(ctx context.Context, client *http.Client, cfg Config) (Result, error) {
	return run(ctx, cfg, func() sender {
		return &httpSender{ctx: ctx, client: client, targets: cfg.Targets, body: cfg.Body}
	})
}

type httpSender struct {
	ctx     context.Context
	client  *http.Client
	targets []string
	body    []byte
	out     bytes.Buffer
}

func (s *httpSender) send(target int, key []byte, want bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.targets[target], bytes.NewReader(s.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(workload.KeyHeader, string(key))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	s.out.Reset()
	if _, err := s.out.ReadFrom(resp.Body); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, s.out.Bytes(), nil
}

func (s *httpSender) done() {}

// NewClient returns an HTTP client that keeps one connection per client open
// and does not follow redirects (a 303 is an answer, as for Raw).
func NewClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			MaxIdleConns:        concurrency * 2,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
}
