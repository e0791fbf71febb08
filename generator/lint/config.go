package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/model"
)

// Off is the config severity that disables a rule.
const Off model.Severity = "off"

// Config is the lint configuration file (YAML or JSON):
//
//	rules:                      # severity per rule id: error | warning | info | off
//	  idempotency-missing: warning
//	overrides:                  # applied in order after rules; all given matchers must match
//	  - paths: ["/internal/**"] # path.Match globs on the OpenAPI path; "/x/**" matches below /x
//	    operationIds: [legacy*] # path.Match globs on the operationId
//	    rules:
//	      idempotency-missing: off
//	policy:                     # organisation policy inputs
//	  minTTL: 24h               # every ttl must be at least this
//	  retryHorizon: 2h          # how long clients keep retrying; ttl must cover it
//	  multiTenant: true         # omit to detect from tenantParams
//	  tenantParams: [tenant_id] # parameter names that mark a multi-tenant API
//
// The zero Config applies every rule's default severity.
type Config struct {
	Rules     map[string]model.Severity `yaml:"rules" json:"rules"`
	Overrides []Override                `yaml:"overrides" json:"overrides"`
	Policy    Policy                    `yaml:"policy" json:"policy"`
}

// Override changes rule severities for the operations it matches.
type Override struct {
	Paths        []string                  `yaml:"paths" json:"paths"`
	OperationIDs []string                  `yaml:"operationIds" json:"operationIds"`
	Rules        map[string]model.Severity `yaml:"rules" json:"rules"`
}

// Policy holds the organisation's policy inputs.
type Policy struct {
	// MinTTL is the shortest acceptable ttl; zero disables ttl-below-minimum.
	MinTTL Duration `yaml:"minTTL" json:"minTTL"`
	// RetryHorizon is how long clients keep retrying one logical call; zero
	// disables ttl-below-retry-horizon.
	RetryHorizon Duration `yaml:"retryHorizon" json:"retryHorizon"`
	// MultiTenant forces (true) or disables (false) scope-missing-multi-tenant;
	// nil detects a multi-tenant API from TenantParams.
	MultiTenant *bool `yaml:"multiTenant" json:"multiTenant"`
	// TenantParams are parameter names (case-insensitive) whose presence on any
	// operation marks the API multi-tenant. Nil means DefaultTenantParams.
	TenantParams []string `yaml:"tenantParams" json:"tenantParams"`
}

// DefaultTenantParams are the parameter names that mark an API multi-tenant
// when the config does not say.
var DefaultTenantParams = []string{
	"tenant", "tenant_id", "tenantId", "org", "org_id", "orgId", "organization",
	"organization_id", "organizationId", "workspace", "workspace_id", "workspaceId",
	"account_id", "accountId", "X-Tenant-ID", "X-Org-ID",
}

// Duration is a time.Duration written in Go syntax ("24h", "90m") in config files.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration like \"24h\"", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: want a duration like \"24h\", got %q", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

var ruleIDPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// LoadConfig reads and validates a config file. Unknown fields, unknown
// severities and malformed rule ids are errors.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("lint: config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("lint: config %s: %w", file, err)
	}
	return c, nil
}

// ParseConfig parses and validates a config document (YAML or JSON).
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate() error {
	var errs []error
	checkRules := func(where string, rules map[string]model.Severity) {
		for id, sev := range rules {
			if !ruleIDPattern.MatchString(id) {
				errs = append(errs, fmt.Errorf("%s: rule id %q: want lower-case words joined by '-'", where, id))
			}
			if _, ok := ParseSeverity(string(sev)); !ok && sev != Off {
				errs = append(errs, fmt.Errorf("%s.%s: want error, warning, info or off, got %q", where, id, sev))
			}
		}
	}
	checkRules("rules", c.Rules)
	for i, o := range c.Overrides {
		where := fmt.Sprintf("overrides[%d]", i)
		if len(o.Paths) == 0 && len(o.OperationIDs) == 0 {
			errs = append(errs, fmt.Errorf("%s: want paths or operationIds", where))
		}
		for _, g := range append(append([]string(nil), o.Paths...), o.OperationIDs...) {
			if _, err := path.Match(strings.TrimSuffix(g, "/**"), ""); err != nil {
				errs = append(errs, fmt.Errorf("%s: bad glob %q", where, g))
			}
		}
		checkRules(where+".rules", o.Rules)
	}
	return errors.Join(errs...)
}

// CheckRuleIDs reports every rule id of c (in rules and overrides) that is
// not one of known, with a did-you-mean: a misspelt id would otherwise change
// nothing, silently.
func (c *Config) CheckRuleIDs(known []Rule) error {
	ids := make([]string, len(known))
	isKnown := make(map[string]bool, len(known))
	for i, r := range known {
		ids[i], isKnown[r.ID] = r.ID, true
	}
	var errs []error
	check := func(where string, rules map[string]model.Severity) {
		for _, id := range slices.Sorted(maps.Keys(rules)) {
			if isKnown[id] {
				continue
			}
			msg := fmt.Sprintf("%s: unknown rule id %q", where, id)
			if s := extension.Suggest(id, ids); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, errors.New(msg+"; docs/lint.md lists the rules"))
		}
	}
	check("rules", c.Rules)
	for i, o := range c.Overrides {
		check(fmt.Sprintf("overrides[%d].rules", i), o.Rules)
	}
	return errors.Join(errs...)
}

// matches reports whether the override applies to a finding's operation.
func (o *Override) matches(f *Finding) bool {
	if len(o.Paths) > 0 && !anyGlob(o.Paths, f.Path(), true) {
		return false
	}
	if len(o.OperationIDs) > 0 && !anyGlob(o.OperationIDs, f.OperationID(), false) {
		return false
	}
	return true
}

func anyGlob(globs []string, s string, isPath bool) bool {
	if s == "" {
		return false
	}
	for _, g := range globs {
		if isPath {
			if prefix, ok := strings.CutSuffix(g, "/**"); ok {
				if s == prefix || strings.HasPrefix(s, prefix+"/") {
					return true
				}
				continue
			}
		}
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

// Severity returns the effective severity of f under c (Off when disabled).
// Generator errors (loader diagnostics of severity error) stay errors: a spec
// that "idemgen generate" rejects is never reported clean.
func (c *Config) Severity(f *Finding, generatorError bool) model.Severity {
	if generatorError {
		return model.Error
	}
	sev := f.Severity
	if c == nil {
		return sev
	}
	if s, ok := c.Rules[f.Rule]; ok {
		sev = s
	}
	for i := range c.Overrides {
		o := &c.Overrides[i]
		if s, ok := o.Rules[f.Rule]; ok && o.matches(f) {
			sev = s
		}
	}
	return sev
}

// Apply sets each finding's severity from c and drops the ones turned off.
func (c *Config) Apply(fs []Finding) []Finding {
	out := fs[:0]
	for _, f := range fs {
		f.Severity = c.Severity(&f, false)
		if f.Severity == Off {
			continue
		}
		out = append(out, f)
	}
	return out
}
