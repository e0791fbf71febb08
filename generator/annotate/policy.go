package annotate

import (
	"github.com/idemgen/idemgen/generator/model"
	"github.com/idemgen/idemgen/runtime/idempotency"
)

// keyParam returns where a client-sent key lives when it is a parameter (""
// for a body field or a derived key) and its name.
func keyParam(k idempotency.Key) (model.ParamIn, string) {
	switch {
	case k.Header != "":
		return model.InHeader, k.Header
	case k.Query != "":
		return model.InQuery, k.Query
	case k.Field != "" || len(k.Derive) > 0:
		return "", ""
	}
	return model.InHeader, idempotency.DefaultHeader
}
