package validation

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/idemgen/idemgen/runtime/client"
	"github.com/idemgen/idemgen/runtime/nullable"
)

// TestMergePatch: with the generated client and server over HTTP, a merge
// patch that sends "note": null clears the note, one that leaves note out
// keeps it, and the body's keywords are still checked.
func TestMergePatch(t *testing.T) {
	h, ts := newServer(t)
	cl, err := NewClient(ts.URL, client.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	patch := func(body OrderPatch) OrderPatch {
		t.Helper()
		res, _, err := cl.PatchOrder(ctx, PatchOrderRequestObject{ID: "o1", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		ok, isOK := res.(PatchOrder200JSONResponse)
		if !isOK {
			t.Fatalf("response %T", res)
		}
		return ok.Body
	}
	got := patch(OrderPatch{Note: nullable.Value("abc"), Quantity: nullable.Value(2)})
	if got.Note.Or("") != "abc" || got.Quantity.Or(0) != 2 {
		t.Fatalf("after setting: note %v, quantity %v", got.Note, got.Quantity)
	}
	got = patch(OrderPatch{Quantity: nullable.Value(3)}) // note absent: kept
	if got.Note.Or("") != "abc" || got.Quantity.Or(0) != 3 {
		t.Fatalf("after a patch without note: note %v, quantity %v", got.Note, got.Quantity)
	}
	got = patch(OrderPatch{Note: nullable.Null[string]()}) // {"note":null}: cleared
	if got.Note.IsSet() || got.Quantity.Or(0) != 3 {
		t.Fatalf("after note null: note %v, quantity %v", got.Note, got.Quantity)
	}
	if h.note != nil {
		t.Fatalf("the handler kept note %q", *h.note)
	}

	// The same over the wire, from any client: the body holds an explicit null.
	resp, body := send(t, ts, "PATCH", "/orders/o1", "k-patch", `{"note":"xy"}`, "Content-Type", "application/merge-patch+json")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"note":"xy"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	resp, body = send(t, ts, "PATCH", "/orders/o1", "k-patch-2", `{"note":null}`, "Content-Type", "application/merge-patch+json")
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "note") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	// A value is checked; null is not a value to check.
	resp, body = send(t, ts, "PATCH", "/orders/o1", "k-patch-3", `{"note":"toolong"}`, "Content-Type", "application/merge-patch+json")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"pointer":"/note"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}
