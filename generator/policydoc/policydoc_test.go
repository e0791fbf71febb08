package policydoc

import (
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/idempotency"
)

func TestStale(t *testing.T) {
	p := idempotency.Policy{TTL: 12 * time.Hour}
	desc := "Creates an order.\n\n" + Sentence(p)
	if Stale(desc, p) {
		t.Error("the current sentence is stale")
	}
	if Stale("Creates an order.", p) {
		t.Error("a description without a published policy is stale")
	}
	p.TTL = time.Hour
	if !Stale(desc, p) {
		t.Error("a published 12h sentence is not stale after ttl became 1h")
	}
	if pub, ok := Published(desc); !ok || pub[:len(DescriptionMarker)] != DescriptionMarker {
		t.Errorf("Published = %q, %v", pub, ok)
	}
}
