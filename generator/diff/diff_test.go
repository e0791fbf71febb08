package diff

import (
	"slices"
	"testing"
	"time"

	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

func op(id, method, path string, p *idempotency.Policy) *model.Operation {
	o := &model.Operation{ID: id, Method: method, Path: path, Pos: model.Pos{File: "api.yaml", Line: 10, Col: 3}, Pointer: "/paths/x/" + method}
	o.Responses = []*model.Response{
		{Status: "201"},
		{Status: "409", Contents: []*model.Content{{MediaType: lint.ProblemJSON}}},
		{Status: "422", Contents: []*model.Content{{MediaType: lint.ProblemJSON}}},
	}
	if p != nil {
		o.Idempotency = &model.Extension{Enabled: true, Policy: *p, Set: map[string]bool{}, Pos: model.Pos{File: "api.yaml", Line: 12, Col: 5}}
	}
	return o
}

func apiOf(ops ...*model.Operation) *model.API { return &model.API{File: "api.yaml", Operations: ops} }

func rules(fs []lint.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	slices.Sort(out)
	return out
}

func TestDiff(t *testing.T) {
	base := func() *idempotency.Policy {
		return &idempotency.Policy{Key: idempotency.Key{Optional: true}, TTL: 48 * time.Hour,
			Fingerprint: []string{"method", "/amount"}, Scope: []string{"principal"}}
	}
	cases := []struct {
		name   string
		mutate func(h *model.Operation, a *model.API)
		want   []string
	}{
		{"unchanged", func(h *model.Operation, a *model.API) {}, nil},
		{"removed", func(h *model.Operation, a *model.API) { h.Idempotency = nil }, []string{RuleRemoved}},
		{"waived", func(h *model.Operation, a *model.API) { h.Idempotency.Enabled = false }, []string{RuleWaived}},
		{"ttl shortened", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.TTL = time.Hour }, []string{RuleTTLShortened}},
		{"ttl lengthened", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.TTL = 0 /* 24h default */ }, []string{RuleTTLShortened}},
		{"key required", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Key.Optional = false }, []string{RuleKeyRequired}},
		{"key renamed", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Key.Header = "X-Request-Id" }, []string{RuleKeyRenamed}},
		{"header case only", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Key.Header = "idempotency-key" }, nil},
		{"fingerprint widened", func(h *model.Operation, a *model.API) {
			h.Idempotency.Policy.Fingerprint = []string{"method", "/amount", "query"}
		}, []string{RuleFingerprint}},
		// Issue 16: a removed fingerprint item is reported (it used to pass).
		{"fingerprint narrowed", func(h *model.Operation, a *model.API) {
			h.Idempotency.Policy.Fingerprint = []string{"/amount/cents"}
		}, []string{RuleFingerprintLess}},
		{"fingerprint default is wider", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Fingerprint = nil }, []string{RuleFingerprint}},
		{"scope changed", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Scope = nil }, []string{RuleScopeChanged}},
		{"concurrency", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Concurrent = idempotency.ConcurrentWait }, []string{RuleConcurrency}},
		{"key optional", func(h *model.Operation, a *model.API) {}, nil}, // base is optional already: see TestDiffFromRequiredKey
		{"maxLength shrank", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Key.MaxLength = 64 }, []string{RuleKeyTightened}},
		{"maxLength grew", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Key.MaxLength = 1024 }, nil},
		{"format tightened", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Key.Format = idempotency.FormatUUID }, []string{RuleKeyTightened}},
		{"cache widened to 5xx", func(h *model.Operation, a *model.API) {
			h.Idempotency.Policy.Cache = []string{"2xx", "4xx", "5xx"}
		}, []string{RuleCacheRetryable}},
		{"cache 409 only", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Cache = []string{"2xx"} }, nil},
		{"lease changed", func(h *model.Operation, a *model.API) { h.Idempotency.Policy.Lease = time.Second }, []string{RuleLeaseChanged}},
		{"409 gone", func(h *model.Operation, a *model.API) { h.Responses = h.Responses[:1] }, []string{RuleStatusChanged, RuleStatusChanged}},
		{"422 not problem", func(h *model.Operation, a *model.API) {
			h.Responses[2] = &model.Response{Status: "422", Contents: []*model.Content{{MediaType: "application/json"}}}
		}, []string{RuleStatusChanged}},
		{"new unsafe", func(h *model.Operation, a *model.API) {
			a.Operations = append(a.Operations, op("patchIt", "PATCH", "/new", nil), op("getIt", "GET", "/new", nil))
		}, []string{RuleNewUnsafe}},
		{"renamed path keeps identity", func(h *model.Operation, a *model.API) { h.Path = "/v2/payments" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "ttl lengthened" {
				tc.want = []string{RuleTTLShortened} // 48h -> 24h default is shorter
			}
			b := apiOf(op("create", "POST", "/payments", base()))
			h := op("create", "POST", "/payments", base())
			a := apiOf(h)
			tc.mutate(h, a)
			fs := Diff(b, a)
			if got := rules(fs); !slices.Equal(got, tc.want) {
				t.Fatalf("rules = %v, want %v", got, tc.want)
			}
			for _, f := range fs {
				if f.Pos.File == "" || f.Pos.Line == 0 || f.OperationID() == "" || f.Severity == "" {
					t.Errorf("finding not located: %+v", f)
				}
			}
		})
	}
}

func TestMatchByRouteWhenIDChanges(t *testing.T) {
	p := &idempotency.Policy{}
	b := apiOf(op("create", "POST", "/payments", p))
	h := apiOf(op("createPayment", "POST", "/payments", nil))
	if got := rules(Diff(b, h)); !slices.Equal(got, []string{RuleRemoved}) {
		t.Fatalf("rules = %v", got)
	}
}

func TestWidened(t *testing.T) {
	if got := widened([]string{"body"}, []string{"/a", "/b/c"}); len(got) != 0 {
		t.Errorf("body covers pointers: %v", got)
	}
	if got := widened([]string{"/a"}, []string{"/a/b", "/ab"}); !slices.Equal(got, []string{"/ab"}) {
		t.Errorf("prefix cover: %v", got)
	}
	if got := widened([]string{"header:X-A"}, []string{"header:x-a"}); len(got) != 0 {
		t.Errorf("header names are case-insensitive: %v", got)
	}
}

// TestDiffClasses covers the classes whose base is not TestDiff's: a required
// key that became optional, uuid to ulid, wait to reject.
func TestDiffClasses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, head idempotency.Policy
		want       []string
	}{
		{"key optional", idempotency.Policy{}, idempotency.Policy{Key: idempotency.Key{Optional: true}}, []string{RuleKeyOptional}},
		{"uuid to ulid", idempotency.Policy{Key: idempotency.Key{Format: idempotency.FormatUUID}}, idempotency.Policy{Key: idempotency.Key{Format: idempotency.FormatULID}}, []string{RuleKeyTightened}},
		{"ulid to any", idempotency.Policy{Key: idempotency.Key{Format: idempotency.FormatULID}}, idempotency.Policy{}, nil},
		{"pattern changed", idempotency.Policy{Key: idempotency.Key{Format: idempotency.FormatPattern, Pattern: "[a-z]+"}}, idempotency.Policy{Key: idempotency.Key{Format: idempotency.FormatPattern, Pattern: "[a-f]+"}}, []string{RuleKeyTightened}},
		{"wait to reject", idempotency.Policy{Concurrent: idempotency.ConcurrentWait}, idempotency.Policy{}, []string{RuleNowRejects}},
		{"429 cached", idempotency.Policy{}, idempotency.Policy{Cache: []string{"2xx", "4xx", "429"}}, []string{RuleCacheRetryable}},
		{"renamed is not tightened", idempotency.Policy{}, idempotency.Policy{Key: idempotency.Key{Header: "X-Key", MaxLength: 10}}, []string{RuleKeyRenamed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, head := tc.base, tc.head
			fs := Diff(apiOf(op("create", "POST", "/p", &base)), apiOf(op("create", "POST", "/p", &head)))
			if got := rules(fs); !slices.Equal(got, tc.want) {
				t.Fatalf("rules = %v, want %v", got, tc.want)
			}
			for _, f := range fs {
				if r := rule(f.Rule); f.Severity != r.Default {
					t.Errorf("%s: severity %s, want %s", f.Rule, f.Severity, r.Default)
				}
			}
		})
	}
}
