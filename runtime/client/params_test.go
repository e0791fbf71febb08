package client_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/idemgen/idemgen/runtime/client"
)

type color string

func TestParams(t *testing.T) {
	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	n := 7
	var nilInt *int
	q := url.Values{}
	for _, c := range []struct {
		name    string
		v       any
		explode bool
	}{
		{"a", []int{1, 2}, true}, {"b", []string{"x", "y"}, false}, {"c", &n, true},
		{"d", nilInt, true}, {"e", when, true}, {"f", color("red"), true}, {"g", 1.5, true},
		{"h", []string(nil), true}, {"i", map[string]int{"k": 1}, true}, {"j", true, false},
	} {
		if err := client.AddQuery(q, c.name, c.v, c.explode); err != nil {
			t.Fatal(err)
		}
	}
	want := `a=1&a=2&b=x%2Cy&c=7&e=2026-03-04T05%3A06%3A07Z&f=red&g=1.5&i=%7B%22k%22%3A1%7D&j=true`
	if got := q.Encode(); got != want {
		t.Errorf("query = %s\nwant    %s", got, want)
	}
	if p, err := client.PathParam("id", "a b/c"); err != nil || p != "a%20b%2Fc" {
		t.Errorf("PathParam = %q, %v", p, err)
	}
	if _, err := client.PathParam("id", nilInt); err == nil {
		t.Error("PathParam accepted a nil value")
	}
	h := http.Header{}
	client.SetHeader(h, "X-Ids", []int64{3, 4})
	client.SetHeader(h, "X-None", nilInt)
	if h.Get("X-Ids") != "3,4" || len(h) != 1 {
		t.Errorf("header = %v", h)
	}

	h.Set("X-When", when.Format(time.RFC3339))
	h.Set("X-N", "12")
	var ids []int64
	var at time.Time
	var np *int
	var missing string = "kept"
	for name, dst := range map[string]any{"X-Ids": &ids, "X-When": &at, "X-N": &np, "X-Missing": &missing} {
		if err := client.ReadHeader(h, name, dst); err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) != 2 || ids[1] != 4 || !at.Equal(when) || np == nil || *np != 12 || missing != "kept" {
		t.Errorf("read %v %v %v %q", ids, at, np, missing)
	}
	var bad int
	h.Set("X-Bad", "x")
	if err := client.ReadHeader(h, "X-Bad", &bad); err == nil {
		t.Error("ReadHeader accepted x as an int")
	}
}
