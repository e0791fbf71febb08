package contender

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/idemgen/idemgen/bench/workload"
)

func init() {
	register(Info{Name: "nethttp", Baseline: "nethttp"}, func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
		return newHTTPServer(Handler(rec), nil), nil
	})
}

// Handler is the bare net/http handler: it reads the body, runs workload.Work
// and answers 201 with the receipt. Every net/http contender wraps it.
func Handler(rec *Recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := workload.Work(body, rec.Executed(r.Header.Get(workload.KeyHeader)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(out)
	})
}

// httpServer serves a net/http handler and closes its store on Close.
type httpServer struct {
	srv     *http.Server
	closeFn func() error
}

func newHTTPServer(h http.Handler, closeFn func() error) *httpServer {
	return &httpServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, closeFn: closeFn}
}

func (s *httpServer) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *httpServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if s.closeFn != nil {
		err = errors.Join(err, s.closeFn())
	}
	return err
}
