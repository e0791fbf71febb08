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
		name string
		v    any
		sep  string
	}{
		{"a", []int{1, 2}, ""}, {"b", []string{"x", "y"}, ","}, {"c", &n, ""},
		{"d", nilInt, ""}, {"e", when, ""}, {"f", color("red"), ""}, {"g", 1.5, ""},
		{"h", []string(nil), ""}, {"i", map[string]int{"k": 1}, ""}, {"j", true, ","}, {"k", []int{1, 2}, "|"},
	} {
		if err := client.AddQuery(q, c.name, c.v, c.sep); err != nil {
			t.Fatal(err)
		}
	}
	want := `a=1&a=2&b=x%2Cy&c=7&e=2026-03-04T05%3A06%3A07Z&f=red&g=1.5&i=%7B%22k%22%3A1%7D&j=true&k=1%7C2`
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
	if client.ParamString(&n) != "7" || client.ParamString(nilInt) != "" || client.ParamString([]string{"a", "b"}) != "a,b" {
		t.Error("ParamString")
	}
	req, _ := http.NewRequest("GET", "http://x/", nil)
	client.AddCookie(req, "session", "s1")
	client.AddCookie(req, "none", nilInt)
	if c := req.Header.Get("Cookie"); c != "session=s1" {
		t.Errorf("Cookie = %q", c)
	}
	var bad int
	h.Set("X-Bad", "x")
	if err := client.ReadHeader(h, "X-Bad", &bad); err == nil {
		t.Error("ReadHeader accepted x as an int")
	}
}
