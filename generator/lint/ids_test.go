package lint_test

import (
	"testing"

	"github.com/idemgen/idemgen/generator/extension"
	"github.com/idemgen/idemgen/generator/lint"
	"github.com/idemgen/idemgen/generator/loader"
)

// TestGeneratorRuleIDs checks that lint's metadata for the generator's rules
// uses the generator's own ids.
func TestGeneratorRuleIDs(t *testing.T) {
	for _, id := range []string{
		extension.RuleUnknownField, extension.RuleType, extension.RuleValue, extension.RuleNotPositive,
		extension.RuleTTLShorterThanLease, extension.RuleKeyMultipleSources, extension.RulePatternWithoutFormat,
		extension.RuleFormatWithoutPattern, extension.RulePatternInvalid, extension.RuleSafeMethod,
		extension.RulePointerNotInSchema, extension.RuleScopeUndeclared, extension.RuleDeriveUndeclared,
		extension.RuleKeyRequiredMismatch, extension.RulePolicyInvalid, extension.RuleMisplaced,
		loader.RuleOpenAPIInvalid, loader.RuleSchemaUntyped, loader.RuleOperationIDDuplicate, loader.RuleOperationUnsupported,
		loader.RuleSchemaFreeForm, loader.RuleSchemaAny, loader.RuleSecurityInvalid, extension.RulePrincipalUnsecured,
	} {
		if _, ok := lint.LookupRule(id); !ok {
			t.Errorf("generator rule %q has no lint metadata", id)
		}
	}
}
