package contender

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	fiber2 "github.com/gofiber/fiber/v2"
	idempotency2 "github.com/gofiber/fiber/v2/middleware/idempotency"
	redisstorage "github.com/gofiber/storage/redis/v3"

	"github.com/idemgen/idemgen/bench/workload"
)

// fiberLifetime is how long Fiber keeps a response: our default TTL, for parity.
const fiberLifetime = 24 * time.Hour

func init() {
	register(Info{Name: "fiber2", Baseline: "fiber2"}, func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
		return newFiber2(rec, nil, nil), nil
	})
	register(Info{Name: "fiber2-memory", Baseline: "fiber2", Store: "memory"}, func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
		mw := idempotency2.New(idempotency2.Config{KeyHeader: workload.KeyHeader, Lifetime: fiberLifetime})
		return newFiber2(rec, mw, nil), nil
	})
	register(Info{Name: "fiber2-redis", Baseline: "fiber2", Store: "redis", Shared: true}, func(ctx context.Context, env Env, rec *Recorder) (Server, error) {
		st, err := openFiberRedis(ctx, env)
		if err != nil {
			return nil, err
		}
		mw := idempotency2.New(idempotency2.Config{KeyHeader: workload.KeyHeader, Lifetime: fiberLifetime, Storage: st})
		return newFiber2(rec, mw, st.Close), nil
	})
}

// openFiberRedis connects gofiber/storage's Redis storage (it serves Fiber v2
// and v3) and checks the connection, because New does not.
func openFiberRedis(ctx context.Context, env Env) (*redisstorage.Storage, error) {
	if env.RedisURL == "" {
		return nil, fmt.Errorf("contender: fiber redis storage needs a Redis URL")
	}
	st := redisstorage.New(redisstorage.Config{URL: env.RedisURL})
	if err := st.Conn().Ping(ctx).Err(); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("contender: fiber redis storage: %w", err)
	}
	return st, nil
}

type fiber2Server struct {
	app     *fiber2.App
	closeFn func() error
}

// newFiber2 runs the same handler work as Handler on Fiber v2, behind mw when
// mw is not nil.
func newFiber2(rec *Recorder, mw fiber2.Handler, closeFn func() error) *fiber2Server {
	app := fiber2.New(fiber2.Config{DisableStartupMessage: true})
	h := func(c *fiber2.Ctx) error {
		// Fiber's strings alias its request buffer: clone before keeping the key.
		out, err := workload.Work(c.Body(), rec.Executed(strings.Clone(c.Get(workload.KeyHeader))))
		if err != nil {
			return c.Status(fiber2.StatusBadRequest).SendString(err.Error())
		}
		c.Set(fiber2.HeaderContentType, fiber2.MIMEApplicationJSON)
		return c.Status(fiber2.StatusCreated).Send(out)
	}
	if mw != nil {
		app.Post("/payments", mw, h)
	} else {
		app.Post("/payments", h)
	}
	return &fiber2Server{app: app, closeFn: closeFn}
}

func (s *fiber2Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

func (s *fiber2Server) Close() error {
	err := s.app.ShutdownWithTimeout(5 * time.Second)
	if s.closeFn != nil {
		if cerr := s.closeFn(); err == nil {
			err = cerr
		}
	}
	return err
}
