package lint

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/loader"
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/generator/policydoc"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

func pos(line int) model.Pos { return model.Pos{File: "api.yaml", Line: line, Col: 5} }

func str(maxLen *int, format, pattern string) *model.Schema {
	return &model.Schema{Kind: model.KindString, MaxLength: maxLen, Format: format, Pattern: pattern}
}

func intp(n int) *int { return &n }

// goodOp returns an idempotent POST that passes every rule.
func goodOp(id, path string, line int) *model.Operation {
	op := &model.Operation{
		ID: id, Method: "POST", Path: path, Pos: pos(line), Pointer: "/paths/" + strings.ReplaceAll(path, "/", "~1") + "/post",
		Secured: true,
		Params: []*model.Param{{Name: "Idempotency-Key", In: model.InHeader, Required: true,
			Schema: str(intp(64), "uuid", ""), Pos: pos(line + 1)}},
		Body: &model.Body{Required: true, Pos: pos(line + 2), Contents: []*model.Content{{
			MediaType: "application/json", Kind: model.BodyJSON,
			Schema: &model.Schema{Kind: model.KindObject, Properties: []*model.Property{
				{Name: "amount", Required: true, Schema: &model.Schema{Kind: model.KindInteger}},
				{Name: "ref", Required: true, Schema: &model.Schema{Kind: model.KindString}},
			}},
		}}},
		Responses: []*model.Response{
			{Status: "201", Pos: pos(line + 3), Headers: []*model.Param{{Name: "Idempotent-Replayed", In: model.InHeader}}},
			{Status: "400", Pos: pos(line + 4), Contents: []*model.Content{{MediaType: ProblemJSON}}},
			{Status: "409", Pos: pos(line + 5), Contents: []*model.Content{{MediaType: ProblemJSON}},
				Headers: []*model.Param{{Name: "Retry-After", In: model.InHeader}}},
			{Status: "422", Pos: pos(line + 6), Contents: []*model.Content{{MediaType: ProblemJSON}}},
		},
	}
	op.Idempotency = &model.Extension{
		Enabled: true, Policy: idempotency.Policy{Operation: id, Scope: []string{"principal"}},
		Set: map[string]bool{"scope": true}, Pos: pos(line + 7), Pointer: op.Pointer + "/x-idempotent",
		Fields: map[string]model.Pos{"scope[0]": pos(line + 8)},
	}
	return op
}

func api(ops ...*model.Operation) *model.API {
	return &model.API{File: "api.yaml", Operations: ops}
}

func rules(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func lintRules(t *testing.T, a *model.API, cfg *Config) []string {
	t.Helper()
	return rules(Lint(context.Background(), a, cfg))
}

func TestCleanOperationHasNoFindings(t *testing.T) {
	if got := lintRules(t, api(goodOp("create", "/payments", 10)), nil); len(got) != 0 {
		t.Fatalf("findings on a clean operation: %v", got)
	}
}

// TestRules runs each rule's positive case (the mutation triggers exactly the
// rule) against the clean operation as the negative case.
func TestRules(t *testing.T) {
	cases := []struct {
		rule   string
		mutate func(op *model.Operation, a *model.API, c *Config)
	}{
		{RuleMissing, func(op *model.Operation, a *model.API, c *Config) { op.Idempotency = nil }},
		{RuleWaiverNoReason, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency = &model.Extension{Enabled: false, Pos: pos(3)}
		}},
		{RuleKeySchemaWeak, func(op *model.Operation, a *model.API, c *Config) {
			op.Params[0].Schema = str(nil, "uuid", "")
		}},
		{RuleKeySchemaWeak, func(op *model.Operation, a *model.API, c *Config) {
			op.Params[0].Schema = str(intp(10), "", "")
		}},
		{RuleKeyUndeclared, func(op *model.Operation, a *model.API, c *Config) { op.Params = nil }},
		{RuleKeyDeclaredTwice, func(op *model.Operation, a *model.API, c *Config) {
			op.Params = append(op.Params, &model.Param{Name: "idempotency-key", In: model.InHeader, Schema: str(intp(64), "uuid", "")})
		}},
		{RuleKeyDeclaredTwice, func(op *model.Operation, a *model.API, c *Config) {
			s := op.Body.Contents[0].Schema
			s.Properties = append(s.Properties, &model.Property{Name: "idempotency_key", Schema: &model.Schema{Kind: model.KindString}})
		}},
		{RuleKeyFieldType, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Key = idempotency.Key{Field: "/amount"}
			op.Params = nil
		}},
		{RuleKeyFieldType, func(op *model.Operation, a *model.API, c *Config) {
			// In one oneOf branch only: not present in every branch.
			op.Idempotency.Policy.Key = idempotency.Key{Field: "/ref"}
			op.Params = nil
			ct := op.Body.Contents[0]
			ct.Schema = &model.Schema{Kind: model.KindUnion, Variants: []*model.Schema{ct.Schema, {Kind: model.KindObject}}}
		}},
		{RuleFingerprintNoBody, func(op *model.Operation, a *model.API, c *Config) {
			op.Body = nil
			op.Idempotency.Set["fingerprint"] = true
			op.Idempotency.Policy.Fingerprint = []string{"method", "/amount"}
		}},
		{RuleUnscopedTenant, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Scope = nil
			op.Params = append(op.Params, &model.Param{Name: "tenant_id", In: model.InPath})
		}},
		{RuleDocErrors, func(op *model.Operation, a *model.API, c *Config) { op.Responses = op.Responses[:2] }},
		{RuleDocReplayed, func(op *model.Operation, a *model.API, c *Config) { op.Responses[0].Headers = nil }},
		{RuleDocProblemJSON, func(op *model.Operation, a *model.API, c *Config) {
			op.Responses[2].Contents = []*model.Content{{MediaType: "application/json"}}
		}},
		{RuleCacheRetryable, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Cache = []string{"2xx", "503"}
		}},
		{RuleCacheRetryable, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Cache = []string{"2xx", "429"}
		}},
		{RuleIssuedKeyShaped, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Issued = &idempotency.IssuedKeys{}
			op.Description = "Get a key from POST /idempotency-keys: the server issues it."
		}},
		{RuleIssuedKeyShaped, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Issued = &idempotency.IssuedKeys{}
			op.Params[0].Schema = str(intp(64), "", "^[a-z]+$")
			op.Description = "Get a key from POST /idempotency-keys: the server issues it."
		}},
		{RuleInjectOptional, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Key = idempotency.Key{Inject: true, Optional: true}
		}},
		{RuleIssuedBindUnscoped, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Issued = &idempotency.IssuedKeys{BindPrincipal: true}
			op.Idempotency.Policy.Scope = nil
			op.Params[0].Schema = str(intp(64), "", "")
			op.Summary = "Pay with a key issued by POST /idempotency-keys."
		}},
		{RuleIssuedNoEndpoint, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Issued = &idempotency.IssuedKeys{MaxAge: time.Hour}
			op.Params[0].Schema = str(intp(64), "", "")
		}},
		{RuleKeyParamContradicts, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Key = idempotency.Key{Format: idempotency.FormatULID, MaxLength: 26}
			op.Params[0].Schema = str(intp(26), "uuid", "")
		}},
		{RuleKeyParamContradicts, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Key = idempotency.Key{Format: idempotency.FormatUUID, MaxLength: 36}
			op.Params[0].Schema = str(intp(255), "uuid", "")
		}},
		{RuleDeriveOptional, func(op *model.Operation, a *model.API, c *Config) {
			op.Params = nil
			op.Idempotency.Policy.Key = idempotency.Key{Derive: []string{"/ref", "/note"}}
			s := op.Body.Contents[0].Schema
			s.Properties = append(s.Properties, &model.Property{Name: "note", Schema: &model.Schema{Kind: model.KindString}})
		}},
		{RuleDeriveOptional, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Key = idempotency.Key{Derive: []string{"header:X-Request"}}
			op.Params = []*model.Param{{Name: "X-Request", In: model.InHeader, Schema: str(intp(64), "uuid", "")}}
		}},
		{RuleFingerprintNoBodyItem, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Set["fingerprint"] = true
			op.Idempotency.Policy.Fingerprint = []string{"method", "path", "query"}
		}},
		{RuleDocRetryAfter, func(op *model.Operation, a *model.API, c *Config) {
			op.Responses[2].Headers = nil
		}},
		{RuleCacheTransient, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.Cache = []string{"2xx", "409"}
		}},
		{RuleRedirectUncached, func(op *model.Operation, a *model.API, c *Config) {
			// The default cache stores 3xx; a cache written without it does not.
			op.Responses[0].Status = "303"
			op.Idempotency.Policy.Cache = []string{"2xx", "4xx"}
			op.Idempotency.Set["cache"] = true
		}},
		{RulePolicyDocStale, func(op *model.Operation, a *model.API, c *Config) {
			old := op.Idempotency.Policy
			old.TTL = 12 * time.Hour
			op.Description = "Creates a payment.\n\n" + policydoc.Sentence(old)
			op.Idempotency.Policy.TTL = time.Hour
		}},
		{RuleTTLMinimum, func(op *model.Operation, a *model.API, c *Config) {
			op.Idempotency.Policy.TTL = time.Hour
			c.Policy.MinTTL = Duration(2 * time.Hour)
		}},
		{RuleTTLRetryHorizon, func(op *model.Operation, a *model.API, c *Config) {
			c.Policy.RetryHorizon = Duration(48 * time.Hour)
		}},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.rule, i), func(t *testing.T) {
			op := goodOp("create", "/payments", 10)
			a := api(op)
			c := &Config{}
			tc.mutate(op, a, c)
			fs := Lint(context.Background(), a, c)
			if got := rules(fs); !slices.Equal(got, []string{tc.rule}) {
				t.Fatalf("rules = %v, want [%s]", got, tc.rule)
			}
			f := fs[0]
			if f.OperationID() != "create" || f.Method() != op.Method || f.Path() != "/payments" || f.Pos.File != "api.yaml" || f.Pos.Line == 0 {
				t.Errorf("finding not located: %+v", f)
			}
			if r, _ := LookupRule(tc.rule); f.Severity != r.Default && c.Rules == nil {
				t.Errorf("severity %s, want default %s", f.Severity, r.Default)
			}
		})
	}
}

func TestKeyFieldInEveryBranchIsClean(t *testing.T) {
	op := goodOp("create", "/payments", 10)
	op.Params = nil
	op.Idempotency.Policy.Key = idempotency.Key{Field: "/ref"}
	ct := op.Body.Contents[0]
	ct.Schema = &model.Schema{Kind: model.KindUnion, Variants: []*model.Schema{ct.Schema, ct.Schema}}
	if got := lintRules(t, api(op), nil); len(got) != 0 {
		t.Fatalf("findings: %v", got)
	}
}

func TestLoaderDiagnosticsAreFindings(t *testing.T) {
	op := goodOp("create", "/payments", 10)
	a := api(op)
	a.Diagnostics = []model.Diagnostic{
		{Pos: pos(17), Severity: model.Error, Rule: "ttl-shorter-than-lease", Message: "ttl 1s is shorter than lease 30s", Operation: op, Pointer: "/x"},
		{Pos: pos(18), Severity: model.Warning, Rule: "scope-param-undeclared", Message: "scope header X", Operation: op},
	}
	// A config cannot demote a generator error, but can turn a warning off.
	c := &Config{Rules: map[string]model.Severity{"ttl-shorter-than-lease": Off, "scope-param-undeclared": Off}}
	fs := Lint(context.Background(), a, c)
	if got := rules(fs); !slices.Equal(got, []string{"ttl-shorter-than-lease"}) {
		t.Fatalf("rules = %v", got)
	}
	if fs[0].Severity != model.Error || fs[0].OperationID() != "create" || fs[0].Pos.Line != 17 || fs[0].Pointer != "/x" {
		t.Errorf("finding = %+v", fs[0])
	}
}

func TestSafeMethodNotReportedTwice(t *testing.T) {
	op := goodOp("list", "/payments", 10)
	op.Method = "GET"
	a := api(op)
	a.Diagnostics = []model.Diagnostic{{Pos: pos(17), Severity: model.Error, Rule: extension.RuleSafeMethod, Message: "x-idempotent on a safe method", Operation: op}}
	if got := lintRules(t, a, nil); !slices.Equal(got, []string{extension.RuleSafeMethod}) {
		t.Fatalf("rules = %v", got)
	}
}

func TestLoaderWarningOffByDefault(t *testing.T) {
	a := api(goodOp("create", "/payments", 10))
	a.Diagnostics = []model.Diagnostic{{Pos: pos(3), Severity: model.Warning, Rule: loader.RuleSchemaUntyped, Message: "untyped"}}
	if got := lintRules(t, a, nil); len(got) != 0 {
		t.Fatalf("rules = %v", got)
	}
	c := &Config{Rules: map[string]model.Severity{loader.RuleSchemaUntyped: model.Info}}
	if got := lintRules(t, a, c); !slices.Equal(got, []string{loader.RuleSchemaUntyped}) {
		t.Fatalf("enabled by config: rules = %v", got)
	}
}

func TestConfigOverrides(t *testing.T) {
	a := api(goodOp("create", "/payments", 10), goodOp("legacyCreate", "/internal/old", 30), goodOp("other", "/internal/x/y", 50))
	for _, op := range a.Operations {
		op.Idempotency = nil
	}
	c, err := ParseConfig([]byte(`
rules:
  idempotency-missing: warning
overrides:
  - paths: ["/internal/**"]
    rules: {idempotency-missing: info}
  - operationIds: ["legacy*"]
    rules: {idempotency-missing: off}
`))
	if err != nil {
		t.Fatal(err)
	}
	fs := Lint(context.Background(), a, c)
	got := map[string]model.Severity{}
	for _, f := range fs {
		got[f.OperationID()] = f.Severity
	}
	want := map[string]model.Severity{"create": model.Warning, "other": model.Info}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("severities = %v, want %v", got, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, src := range []string{
		"rules: {idempotency-missing: fatal}",
		"rulez: {}",
		"rules: {Bad_Id: error}",
		"overrides: [{rules: {x: off}}]",
		"policy: {minTTL: tomorrow}",
		"overrides: [{paths: ['[']}]",
	} {
		if _, err := ParseConfig([]byte(src)); err == nil {
			t.Errorf("ParseConfig(%q) = nil error", src)
		}
	}
	c, err := ParseConfig([]byte("policy: {minTTL: 12h, retryHorizon: 1h, multiTenant: false}\n"))
	if err != nil || time.Duration(c.Policy.MinTTL) != 12*time.Hour || *c.Policy.MultiTenant {
		t.Fatalf("ParseConfig = %+v, %v", c, err)
	}
	if _, err := ParseConfig(nil); err != nil {
		t.Fatalf("empty config: %v", err)
	}
}

func TestReaches(t *testing.T) {
	fs := []Finding{New("r", model.Warning, nil, model.Pos{}, "", "")}
	if Reaches(fs, model.Error) || !Reaches(fs, model.Warning) || !Reaches(fs, model.Info) || Reaches(nil, model.Info) {
		t.Fatal("Reaches misorders severities")
	}
}

func TestInvalidPolicyOnlyGeneratorFindings(t *testing.T) {
	op := goodOp("create", "/payments", 10)
	op.Responses = nil // would be doc-error-responses
	a := api(op)
	a.Diagnostics = []model.Diagnostic{{Pos: pos(17), Severity: model.Error, Rule: extension.RuleUnknownField, Message: "unknown field", Operation: op}}
	if got := lintRules(t, a, nil); !slices.Equal(got, []string{extension.RuleUnknownField}) {
		t.Fatalf("rules = %v", got)
	}
}

func TestBaselineNeverHidesGeneratorErrors(t *testing.T) {
	op := goodOp("create", "/payments", 10)
	a := api(op)
	a.Diagnostics = []model.Diagnostic{{Pos: pos(17), Severity: model.Error, Rule: extension.RuleTTLShorterThanLease, Message: "ttl < lease", Operation: op}}
	fs := Lint(context.Background(), a, nil)
	if len(fs) != 1 || !fs[0].GeneratorError() {
		t.Fatalf("findings = %+v", fs)
	}
	if b := NewBaseline(fs); len(b.Entries) != 0 {
		t.Fatalf("baseline entries for a generator error: %+v", b.Entries)
	}
	b := &Baseline{Version: 1, Entries: []BaselineEntry{{Rule: extension.RuleTTLShorterThanLease, OperationID: "create"}}}
	got := rules(b.Filter(fs, "b.json"))
	if !slices.Equal(got, []string{RuleBaselineStale, extension.RuleTTLShorterThanLease}) && !slices.Equal(got, []string{extension.RuleTTLShorterThanLease, RuleBaselineStale}) {
		t.Fatalf("after baseline: %v", got)
	}
}

// issuedOp returns goodOp with server-issued keys bound to the principal and a
// key parameter schema that fits them (a maxLength, no format or pattern).
func issuedOp() *model.Operation {
	op := goodOp("create", "/payments", 10)
	op.Idempotency.Policy.Issued = &idempotency.IssuedKeys{BindPrincipal: true}
	op.Params[0].Schema = str(intp(64), "", "")
	return op
}

// TestIssuedAndInjectClean holds the negative cases of the issued and inject
// rules: a fitting issued operation, an issuing endpoint in the spec (or a
// description saying where keys are issued), and inject with a required key.
func TestIssuedAndInjectClean(t *testing.T) {
	waived := func(path string) *model.Operation {
		return &model.Operation{ID: "issueKey", Method: "POST", Path: path, Pos: pos(40), Pointer: "/paths/x/post",
			Idempotency: &model.Extension{Enabled: false, Reason: "a fresh key per call is the point", Pos: pos(41)}}
	}
	described := issuedOp()
	described.Description = "The page's hidden field holds a key the server issued when it rendered the form."
	inject := goodOp("create", "/payments", 10)
	inject.Idempotency.Policy.Key = idempotency.Key{Inject: true}
	for name, a := range map[string]*model.API{
		"endpoint":          api(issuedOp(), waived("/idempotency-keys")),
		"versioned":         api(issuedOp(), waived("/v1/Idempotency-Keys/")),
		"description":       api(described),
		"inject-required":   api(inject),
		"not-issued-schema": api(goodOp("create", "/payments", 10)),
	} {
		if got := lintRules(t, a, nil); len(got) != 0 {
			t.Errorf("%s: findings %v, want none", name, got)
		}
	}
}

// TestIssuedKeySchemaNeedsNoFormat: key-schema-weak still wants a maxLength
// on an issued key's parameter, but no format or pattern (issued keys have
// the server's own shape).
func TestIssuedKeySchemaNeedsNoFormat(t *testing.T) {
	op := issuedOp()
	op.Params[0].Schema = str(nil, "", "")
	a := api(op, &model.Operation{ID: "issueKey", Method: "POST", Path: "/idempotency-keys", Pos: pos(40),
		Idempotency: &model.Extension{Enabled: false, Reason: "issues keys", Pos: pos(41)}})
	fs := Lint(context.Background(), a, nil)
	if got := rules(fs); !slices.Equal(got, []string{RuleKeySchemaWeak}) {
		t.Fatalf("rules = %v, want [%s]", got, RuleKeySchemaWeak)
	}
	if msg := fs[0].Message; !strings.Contains(msg, "no maxLength") || strings.Contains(msg, "format") || strings.Contains(msg, "pattern") {
		t.Errorf("message %q: want only maxLength asked for", msg)
	}
}

// TestDocErrorsDefaultProblem: a default problem+json response documents the
// idempotency errors (it used to be ignored).
func TestDocErrorsDefaultProblem(t *testing.T) {
	op := goodOp("create", "/payments", 10)
	op.Responses = append(op.Responses[:1], &model.Response{Status: "default", Pos: pos(30), Contents: []*model.Content{{MediaType: ProblemJSON}}})
	if got := lintRules(t, api(op), nil); len(got) != 0 {
		t.Fatalf("findings with a default problem+json response: %v", got)
	}
	op.Responses[1].Contents = []*model.Content{{MediaType: "application/json"}}
	if got := lintRules(t, api(op), nil); !slices.Equal(got, []string{RuleDocErrors}) {
		t.Fatalf("a default application/json response: %v, want doc-error-responses", got)
	}
}

// TestUnscopedTenantPerOperation: a tenant parameter on one operation makes
// only that operation need a scope (it used to flag every operation), and the
// advice fits the operation: no principal without security.
func TestUnscopedTenantPerOperation(t *testing.T) {
	tenant := goodOp("createInTenant", "/tenants/{tenant_id}/payments", 10)
	tenant.Idempotency.Policy.Scope = nil
	tenant.Secured = false
	tenant.Params = append(tenant.Params, &model.Param{Name: "tenant_id", In: model.InPath, Required: true})
	plain := goodOp("create", "/payments", 40)
	plain.Idempotency.Policy.Scope = nil
	plain.Secured = false
	fs := Lint(context.Background(), api(tenant, plain), nil)
	if len(fs) != 1 || fs[0].Rule != RuleUnscopedTenant || fs[0].OperationID() != "createInTenant" {
		t.Fatalf("findings %v, want one scope-missing-multi-tenant on createInTenant", rules(fs))
	}
	if !strings.Contains(fs[0].Message, "scope: [path:tenant_id]") || strings.Contains(fs[0].Message, "principal") {
		t.Errorf("advice on an unsecured operation: %q", fs[0].Message)
	}
	// Declared multi-tenant in the config: every unscoped operation, and on
	// one without security the advice says what to add first.
	yes := true
	fs = Lint(context.Background(), api(tenant, plain), &Config{Policy: Policy{MultiTenant: &yes}})
	if len(fs) != 2 {
		t.Fatalf("findings %v, want two", rules(fs))
	}
	for _, f := range fs {
		if f.OperationID() == "create" && !strings.Contains(f.Message, "add a securityScheme and `security` to this operation, then scope: [principal]") {
			t.Errorf("advice without security: %q", f.Message)
		}
	}
}
