package contender

import (
	"context"
	"net"
	"strings"
	"time"

	fiber3 "github.com/gofiber/fiber/v3"
	idempotency3 "github.com/gofiber/fiber/v3/middleware/idempotency"

	"github.com/idemgen/idemgen/bench/workload"
)

func init() {
	register(Info{Name: "fiber3", Baseline: "fiber3"}, func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
		return newFiber3(rec, nil, nil), nil
	})
	register(Info{Name: "fiber3-memory", Baseline: "fiber3", Store: "memory"}, func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
		mw := idempotency3.New(idempotency3.Config{KeyHeader: workload.KeyHeader, Lifetime: fiberLifetime})
		return newFiber3(rec, mw, nil), nil
	})
	register(Info{Name: "fiber3-redis", Baseline: "fiber3", Store: "redis", Shared: true}, func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
		st, err := openFiberRedis(ctx, env)
		if err != nil {
			return nil, err
		}
		mw := idempotency3.New(idempotency3.Config{KeyHeader: workload.KeyHeader, Lifetime: fiberLifetime, Storage: st})
		return newFiber3(rec, mw, st.Close), nil
	})
}

type fiber3Server struct {
	app     *fiber3.App
	closeFn func() error
}

// newFiber3 runs the same handler work as Handler on Fiber v3, behind mw when
// mw is not nil.
func newFiber3(rec *Recorder, mw fiber3.Handler, closeFn func() error) *fiber3Server {
	app := fiber3.New()
	h := func(c fiber3.Ctx) error {
		// Fiber's strings alias its request buffer: clone before keeping the key.
		out, err := workload.Work(c.Body(), rec.Executed(strings.Clone(c.Get(workload.KeyHeader))))
		if err != nil {
			return c.Status(fiber3.StatusBadRequest).SendString(err.Error())
		}
		c.Set(fiber3.HeaderContentType, fiber3.MIMEApplicationJSON)
		return c.Status(fiber3.StatusCreated).Send(out)
	}
	if mw != nil {
		app.Post("/payments", mw, h)
	} else {
		app.Post("/payments", h)
	}
	return &fiber3Server{app: app, closeFn: closeFn}
}

func (s *fiber3Server) Serve(ln net.Listener) error {
	return s.app.Listener(ln, fiber3.ListenConfig{DisableStartupMessage: true})
}

func (s *fiber3Server) Close() error {
	err := s.app.ShutdownWithTimeout(5 * time.Second)
	if s.closeFn != nil {
		if cerr := s.closeFn(); err == nil {
			err = cerr
		}
	}
	return err
}
