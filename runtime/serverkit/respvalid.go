package serverkit

import "context"

// WithResponseValidation checks every response a Handler returns against the
// schema of its body before it is written, and calls report with the
// operation id and the violations (a *validate.Error) of each that breaks it;
// the response is written all the same. It is meant for tests (a handler
// that answers what the spec forbids fails them) and is off by default: it
// walks every response. A response is checked as one: its writeOnly members
// are refused, its readOnly ones allowed. Required members and
// additionalProperties: false hold by construction: the generated types
// always write their required fields and have no field for an undeclared
// member.
func WithResponseValidation(report func(ctx context.Context, op string, err error)) Option {
	return func(s *Server) { s.responseReport = report }
}

// ValidatesResponses reports whether WithResponseValidation is set.
func (s *Server) ValidatesResponses() bool { return s.responseReport != nil }

// CheckResponse reports err, the violations of a response of op, to the
// WithResponseValidation function; a nil err is not reported.
func (s *Server) CheckResponse(ctx context.Context, op string, err error) {
	if err != nil && s.responseReport != nil {
		s.responseReport(ctx, op, err)
	}
}
