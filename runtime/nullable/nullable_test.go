package nullable

import (
	"encoding/json"
	"testing"
)

type patch struct {
	Note  Nullable[string] `json:"note,omitzero"`
	Count Nullable[int]    `json:"count,omitzero"`
}

// TestThreeStates: absent, null and a value survive a JSON round trip, and
// an absent member is left out by omitzero.
func TestThreeStates(t *testing.T) {
	var p patch
	if err := json.Unmarshal([]byte(`{"note":null,"count":3}`), &p); err != nil {
		t.Fatal(err)
	}
	if !p.Note.IsSet() || !p.Note.IsNull() {
		t.Errorf("note: %v, want null", p.Note)
	}
	if v, ok := p.Count.Get(); !ok || v != 3 {
		t.Errorf("count: %v, want 3", p.Count)
	}
	var q patch
	if err := json.Unmarshal([]byte(`{}`), &q); err != nil {
		t.Fatal(err)
	}
	if q.Note.IsSet() || q.Count.IsSet() || !q.Note.IsZero() {
		t.Errorf("absent members: %v %v", q.Note, q.Count)
	}
	for _, c := range []struct {
		p    patch
		want string
	}{
		{patch{}, `{}`},
		{patch{Note: Null[string]()}, `{"note":null}`},
		{patch{Note: Value("x"), Count: Value(0)}, `{"note":"x","count":0}`},
	} {
		b, err := json.Marshal(c.p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("marshal %v/%v: %s, want %s", c.p.Note, c.p.Count, b, c.want)
		}
	}
}

func TestBadValue(t *testing.T) {
	var p patch
	if err := json.Unmarshal([]byte(`{"count":"x"}`), &p); err == nil {
		t.Error("a string decoded into Nullable[int]")
	}
	if p.Count.IsSet() {
		t.Errorf("count after a failed decode: %v", p.Count)
	}
}

func TestHelpers(t *testing.T) {
	s := "a"
	if got := FromPtr(&s); got.Or("b") != "a" || *got.Ptr() != "a" {
		t.Errorf("FromPtr(&a): %v", got)
	}
	if got := FromPtr[string](nil); !got.IsNull() || got.Ptr() != nil || got.Or("b") != "b" {
		t.Errorf("FromPtr(nil): %v", got)
	}
	var zero Nullable[string]
	if zero.String() != "absent" || Null[int]().String() != "null" || Value(2).String() != "2" {
		t.Error("String")
	}
}
