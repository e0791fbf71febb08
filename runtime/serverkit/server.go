package serverkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/memstore"
)

// ErrNotImplemented is what an operation not implemented yet returns (the
// generated UnimplementedHandler does); the server answers it with 501.
var ErrNotImplemented = errors.New("operation not implemented")

// DefaultMaxBodyBytes is the largest request body a server reads unless
// WithMaxBodyBytes sets another limit.
const DefaultMaxBodyBytes = 10 << 20

// Option configures a generated server (its NewServer takes them).
type Option func(*Server)

// WithStore sets the store of the idempotency records. Without it the server
// uses an in-process memory store, which does not deduplicate across processes.
func WithStore(store idempotency.Store) Option {
	return func(s *Server) { s.store = store }
}

// WithPrincipal sets the function that names the caller of a request, for
// policies scoped by principal. Without it they use the principal the
// operation's security requirement authenticated (Principal); f can read
// that too, to map it (a user to their tenant, say).
func WithPrincipal(principal func(*http.Request) (string, error)) Option {
	return WithIdempotencyOptions(idempotency.WithPrincipal(principal))
}

// WithObserver sets the observer of idempotency outcomes (metrics, traces).
func WithObserver(o idempotency.Observer) Option {
	return WithIdempotencyOptions(idempotency.WithObserver(o))
}

// WithProblemType sets the type URI of every problem+json error the server
// writes (its documentation); the default is about:blank.
func WithProblemType(uri string) Option {
	return func(s *Server) {
		s.problemType = uri
		s.idempotency = append(s.idempotency, idempotency.WithProblemType(uri))
	}
}

// WithLogger sets the logger of handler errors and idempotency warnings; the
// default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		s.logger = l
		s.idempotency = append(s.idempotency, idempotency.WithLogger(l))
	}
}

// WithMaxBodyBytes sets the largest request body the server reads (default
// DefaultMaxBodyBytes, 10 MiB); a larger one is answered with 413. The
// idempotency middleware has its own, smaller limit for the bodies of
// idempotent operations (MaxRequestBytes).
func WithMaxBodyBytes(n int64) Option {
	return func(s *Server) { s.maxBodyBytes = n }
}

// WithMiddleware wraps the whole server with mw; the first is the outermost.
func WithMiddleware(mw ...func(http.Handler) http.Handler) Option {
	return func(s *Server) { s.middleware = append(s.middleware, mw...) }
}

// WithOperationMiddleware wraps the handler of each operation with mw, the
// first outermost. Each mw is called once per operation when the server is
// built, with the operation's OperationInfo, so it can label what it records
// (otelidem's tel.Middleware(op.ID, op.Route) does). It runs for every
// operation, idempotent or not, outside the idempotency middleware (a replay
// passes through it too) and after the path parameters are set under their
// spec names (r.PathValue("orderId")). Requests no operation serves (404, 405)
// do not reach it; WithMiddleware sees every request.
func WithOperationMiddleware(mw ...func(op OperationInfo, next http.Handler) http.Handler) Option {
	return func(s *Server) { s.operationMiddleware = append(s.operationMiddleware, mw...) }
}

// WithNotFound sets the handler of a request whose path no operation has
// (and of one no operation sharing its route pattern matches). The default
// answers 404 problem+json, or a small HTML page for a browser.
func WithNotFound(h http.Handler) Option {
	return func(s *Server) { s.notFound = h }
}

// WithMethodNotAllowed sets the handler of a request whose path some
// operation has, but not with its method. The Allow header, listing the
// methods that path accepts, is set before h runs. The default answers 405
// problem+json, or a small HTML page for a browser.
func WithMethodNotAllowed(h http.Handler) Option {
	return func(s *Server) { s.methodNotAllowed = h }
}

// WithErrorHandler sets the function that answers a handler's error. The
// default writes 500 problem+json (501 for ErrNotImplemented) and logs the error.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(s *Server) { s.errorHandler = h }
}

// WithIdempotencyOptions passes options to every idempotency middleware
// (idempotency.New), e.g. idempotency.WithAtomic().
func WithIdempotencyOptions(opts ...idempotency.Option) Option {
	return func(s *Server) { s.idempotency = append(s.idempotency, opts...) }
}

// Server is the part of a generated server that does not depend on the spec:
// the options, the ServeMux the operations are routed on, the idempotency
// middleware of each idempotent operation and the answer to a handler's
// error. A generated NewServer builds one with New, registers every operation
// with Handle and returns Handler.
type Server struct {
	// pkg names the generated package in errors ("api: NewServer: ...").
	pkg          string
	store        idempotency.Store
	idempotency  []idempotency.Option
	problemType  string
	maxBodyBytes int64
	logger       *slog.Logger
	middleware   []func(http.Handler) http.Handler
	errorHandler func(http.ResponseWriter, *http.Request, error)
	mux          *http.ServeMux
	// responseReport receives the violations of responses (WithResponseValidation).
	responseReport func(ctx context.Context, op string, err error)
	// operationMiddleware wraps each operation (WithOperationMiddleware).
	operationMiddleware []func(OperationInfo, http.Handler) http.Handler
	// notFound and methodNotAllowed answer requests no operation serves.
	notFound, methodNotAllowed http.Handler
	// methods are the methods of the registered patterns, sorted: the
	// candidates of a 405's Allow header.
	methods []string
}

// New applies opts over the defaults (10 MiB bodies, slog.Default(), an
// in-process memory store once an operation is idempotent). pkg is the name
// of the generated package, for errors.
func New(pkg string, opts ...Option) *Server {
	s := &Server{pkg: pkg, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	if s.maxBodyBytes <= 0 {
		s.maxBodyBytes = DefaultMaxBodyBytes
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.notFound == nil {
		s.notFound = http.HandlerFunc(s.writeNotFound)
	}
	if s.methodNotAllowed == nil {
		s.methodNotAllowed = http.HandlerFunc(s.writeMethodNotAllowed)
	}
	// Every generated pattern has a method, so "/" (any method, any path)
	// is less specific than each: it gets exactly the requests ServeMux would
	// answer with its text/plain 404 or 405.
	s.mux.Handle("/", http.HandlerFunc(s.unrouted))
	return s
}

// MaxBodyBytes is the largest request body an operation reads.
func (s *Server) MaxBodyBytes() int64 { return s.maxBodyBytes }

// ProblemType is the type URI of the server's problem+json answers ("" for about:blank).
func (s *Server) ProblemType() string { return s.problemType }

// Idempotent wraps next, the handler of operation op, with the idempotency
// middleware of its policy.
func (s *Server) Idempotent(op string, policy idempotency.Policy, next http.Handler) (http.Handler, error) {
	if s.store == nil {
		s.store = memstore.New()
	}
	// The authenticated principal (Authenticate) scopes keys unless an
	// option given later (WithPrincipal) names another.
	opts := append([]idempotency.Option{idempotency.WithPrincipal(requestPrincipal)}, s.idempotency...)
	mw, err := idempotency.New(s.store, policy, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: NewServer: operation %q: %w", s.pkg, op, err)
	}
	return mw.Wrap(next), nil
}

// Handle routes the ServeMux pattern to h; a pattern that conflicts with one
// already registered is an error (see the function Handle).
func (s *Server) Handle(pattern string, h http.Handler) error {
	if err := Handle(s.mux, pattern, h); err != nil {
		return fmt.Errorf("%s: NewServer: %w", s.pkg, err)
	}
	if method, _, ok := strings.Cut(pattern, " "); ok {
		s.addMethod(method)
		if method == http.MethodGet {
			s.addMethod(http.MethodHead) // ServeMux serves HEAD with GET patterns
		}
	}
	return nil
}

func (s *Server) addMethod(m string) {
	if i, found := slices.BinarySearch(s.methods, m); !found {
		s.methods = slices.Insert(s.methods, i, m)
	}
}

// Handler returns the routed operations wrapped in the middleware of
// WithMiddleware, the first outermost.
func (s *Server) Handler() http.Handler {
	var out http.Handler = s.mux
	for i := len(s.middleware) - 1; i >= 0; i-- {
		out = s.middleware[i](out)
	}
	return out
}

// RequestError answers a request that did not decode (see WriteRequestError).
func (s *Server) RequestError(w http.ResponseWriter, r *http.Request, err error) {
	WriteRequestError(w, r, s.problemType, err)
}

// Fail answers the error of operation op's handler: with the function of
// WithErrorHandler when one is set, else 501 problem+json for
// ErrNotImplemented and 500 problem+json (the error logged, not sent) for
// anything else.
func (s *Server) Fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	if s.errorHandler != nil {
		s.errorHandler(w, r, err)
		return
	}
	if errors.Is(err, ErrNotImplemented) {
		WriteRequestError(w, r, s.problemType, &RequestError{Field: "operation", Status: http.StatusNotImplemented, Err: err})
		return
	}
	s.logger.ErrorContext(r.Context(), "handler failed", "operation", op, "error", err)
	WriteServerError(w, r, s.problemType)
}
