package idempotency

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// checkSameAsReference fails unless the canonicaliser and the reference one
// (canonical_ref_test.go) agree on data: validity, output bytes and dupKeys.
func checkSameAsReference(t *testing.T, data []byte) {
	t.Helper()
	c := getCanon()
	defer putCanon(c)
	c.out = append(c.out[:0], "prefix"...)
	ok := c.appendCanonical(data)
	r := refGetCanon()
	defer refPutCanon(r)
	r.out = append(r.out[:0], "prefix"...)
	rok := r.appendCanonical(data)
	if ok != rok {
		t.Fatalf("%q: ok=%v, reference ok=%v", data, ok, rok)
	}
	if !bytes.Equal(c.out, r.out) {
		t.Fatalf("%q:\ncanonical %q\nreference %q", data, c.out, r.out)
	}
	if ok && c.dupKeys != r.dupKeys {
		t.Fatalf("%q: dupKeys=%v, reference %v", data, c.dupKeys, r.dupKeys)
	}
}

// The fingerprints of records already stored depend on the canonical form:
// it must not change from one version to the next.
func TestCanonicalJSONSameAsReference(t *testing.T) {
	cases := []string{
		``, ` `, `{}`, `[]`, ` { } `, `[ ]`, `{"a":1}`, `{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":2,"a":1,"b":0}`,
		`{"abcdefgh1":1,"abcdefgh0":2}`, `{"abcdefgh0":1,"abcdefgh1":2}`, `{"abcdefgh":1,"abcdefg":2}`,
		`{"a\"":1,"a":2,"a!":3}`, `{"\u0062":1,"a":2,"\u0061":3}`, `{"é":1,"e":2,"\u00e9":3}`,
		`{"k\\":1,"k":2}`, `{"x":{"z":1,"y":{"b":[1,{"d":1,"c":2}],"a":null}},"w":[true,false]}`,
		` {"b": 1, "a": [ 1, {"d":4,"c":3} ] } `, `"\u0041\/\t"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800x"`,
		`"\ud800\u0041"`, `"\ud800\ud800\udc00"`, `-0.5e+10`, `0`, `-0`, `1E5`, `1e`, `1.`, `.5`, `-`, `01`, `[01]`,
		`tru`, `true`, `truex`, `[true,false,null]`, `nul`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{,}`, `{"a":}`,
		"\"\x01\"", "\"\x7f\xff\xfe\"", `"\x"`, `"\u12"`, `"\u12G4"`, `"abc`, `"abc\`, `{"a":"b"`, `{"a"`, `{`, `[`,
		"{\"a\":1}\n", "\t[1]\r\n", `{"a":1}x`, `[1]]`, `{"a":1}}`, `"` + strings.Repeat("x", 100) + `"`,
		`{"` + strings.Repeat("k", 30) + `":1,"` + strings.Repeat("k", 29) + `":2}`,
	}
	// Objects of one array with the same keys (the cached order), then others.
	cases = append(cases,
		`[{"b":1,"a":2},{"b":3,"a":4},{"a":5,"b":6},{"b":7,"a":8},{"b":9,"a":0,"c":1},{"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]}]`,
		`[{"sku":"s1","name":"n","qty":1,"price":100},{"sku":"s2","name":"n","qty":2,"price":100}]`,
		`[{"b":1,"a":2},{"b":1,"b":2},{"b":1,"a":2},{"abcdefgh1":1,"abcdefgh0":2},{"abcdefgh1":1,"abcdefgh0":2}]`,
		`{"id":"ord_123","customer":"cus_456","amount":1999,"currency":"EUR","note":"leave at the door...","items":[{"sku":"sku-0","name":"a product","qty":1,"price":100},{"sku":"sku-1","name":"a product","qty":2,"price":100}],"total":19.99}`,
		`{"b":{"d":{"f":1,"e":2},"c":3},"a":{"h":[{"j":1,"i":2}],"g":4}}`,
		`{"b":"\u0041","a":1}`, `{"b":1,"a":"x\"y"}`, `[{"b":1,"a":2}, {"b":3,"a":4}]`, `{"b":1,"a":2} `, ` {"b":1,"a":2}`,
		// Numbers: compact's inline integers and what it leaves to scanNumber.
		`[12,3.5,4e2,5E-1,60,789]`, `{"b":123,"a":45.0e1,"c":6E+2}`, `[1e]`, `[12.]`, `[12.e3]`, `[0,07]`, `[9,-9,09]`,
		`[123x]`, `[1-2]`, `[1+2]`, `{"a":1234567890123456789012345678901234567890}`, `[1,2]3`, `123`, `123 `,
	)
	// Long string values (scanLongString): an escape, a control character or
	// a quote at every offset of the word-at-a-time part and past it.
	for i := 0; i < 90; i += 3 {
		for _, special := range []string{`\n`, `\"`, "\x01", "\x1f", "\x7f", "é", `"`, `\u00e9`} {
			long := strings.Repeat("x", i) + special + strings.Repeat("y", 90-i)
			cases = append(cases, `{"b":"`+long+`","a":1}`, `["`+long+`"]`)
		}
	}
	// Many members: the general sort path.
	var many strings.Builder
	many.WriteString("{")
	for i := 40; i > 0; i-- {
		if i < 40 {
			many.WriteString(", ")
		}
		many.WriteString(`"key` + strings.Repeat("z", i%3) + string(rune('a'+i%26)) + `":` + string(rune('0'+i%10)))
	}
	many.WriteString("}")
	cases = append(cases, many.String(), strings.ReplaceAll(many.String(), ", ", ","),
		"["+strings.ReplaceAll(many.String(), ", ", ",")+`,{"b":1,"a":2},{"b":1,"a":2}]`,
		`[{"b":1,"a":2},`+strings.ReplaceAll(many.String(), ", ", ",")+`,{"b":1,"a":2}]`)
	// Depth limits.
	for _, n := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1, maxJSONDepth + 2} {
		cases = append(cases, strings.Repeat("[", n)+strings.Repeat("]", n))
		cases = append(cases, strings.Repeat("[", n)+"1"+strings.Repeat("]", n))
		cases = append(cases, strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n))
		cases = append(cases, strings.Repeat(`{"a":`, n)+"{}"+strings.Repeat("}", n))
	}
	for _, s := range cases {
		checkSameAsReference(t, []byte(s))
		var ind bytes.Buffer
		if json.Indent(&ind, []byte(s), "  ", "\t") == nil {
			checkSameAsReference(t, ind.Bytes())
		}
		// Every prefix: truncated documents end in every state.
		for i := range len(s) {
			checkSameAsReference(t, []byte(s[:i]))
		}
	}
}

func FuzzCanonicalJSONSameAsReference(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"b":1,"a":[true,false,null,-1.5e3]}`, ` { "a" : "\u00e9\n\"" } `,
		`{"a":{"c":1,"b":2},"a":0}`, `"\ud83d\ude00"`, `"\ud800"`, `[1,2`, `{"a" 1}`, `01`, `1.`, "{\"x\":\"\x01\"}",
		`{"abcdefgh1":1,"abcdefgh0":{"\u0062":[1,{"y":2,"x":3}],"a":"\\"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkSameAsReference)
}

// scanValueString agrees with a byte-at-a-time scan wherever it starts.
func FuzzScanValueString(f *testing.F) {
	for _, s := range []string{
		``, `"`, `abc"`, strings.Repeat("x", 100) + `"`, strings.Repeat("x", 40) + "\x01" + strings.Repeat("x", 40) + `"`,
		strings.Repeat("x", 70) + `\"` + strings.Repeat("x", 10), strings.Repeat("é", 50), strings.Repeat("x", 33),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for p := 0; p <= len(in); p++ {
			want := p
			for want < len(in) && in[want] != '"' && in[want] != '\\' && in[want] >= 0x20 {
				want++
			}
			if got := scanValueString(in, p); got != want {
				t.Fatalf("scanValueString(%q, %d) = %d, want %d", in, p, got, want)
			}
		}
	})
}

// kibJSON is the 1 KiB order of bench_test.go (encoding/json order, so no
// object's keys are sorted).
func kibJSON() []byte {
	type item struct {
		SKU   string `json:"sku"`
		Name  string `json:"name"`
		Qty   int    `json:"qty"`
		Price int64  `json:"price"`
	}
	type order struct {
		ID       string  `json:"id"`
		Customer string  `json:"customer"`
		Amount   int64   `json:"amount"`
		Currency string  `json:"currency"`
		Note     string  `json:"note"`
		Items    []item  `json:"items"`
		Total    float64 `json:"total"`
	}
	o := order{ID: "ord_123", Customer: "cus_456", Amount: 1999, Currency: "EUR", Total: 19.99, Note: "leave at the door"}
	for i := 0; ; i++ {
		b, _ := json.Marshal(o)
		if len(b) >= 950 {
			o.Note += strings.Repeat(".", 1024-len(b))
			b, _ = json.Marshal(o)
			return b
		}
		o.Items = append(o.Items, item{SKU: "sku-" + string(rune('0'+i%10)), Name: "a product with a name", Qty: i + 1, Price: 100})
	}
}

func TestKibJSONSameAsReference(t *testing.T) {
	doc := kibJSON()
	checkSameAsReference(t, doc)
	var ind bytes.Buffer
	_ = json.Indent(&ind, doc, "", "  ")
	checkSameAsReference(t, ind.Bytes())
}

// BenchmarkAppendCanonical is the canonical form of the 1 KiB order alone,
// without the copy CanonicalJSON returns (so without allocations and GC).
func BenchmarkAppendCanonical(b *testing.B) {
	for _, bc := range []struct {
		name string
		doc  func() []byte
	}{
		{"compact", kibJSON},
		{"long-string", func() []byte { // storetest's body: a ~900-byte note
			return []byte(`{"id":"ord_123","note":"` + strings.Repeat("n", 900) +
				`","items":[{"sku":"sku-0","qty":1,"price":100},{"sku":"sku-1","qty":2,"price":100},{"sku":"sku-2","qty":3,"price":100},{"sku":"sku-3","qty":4,"price":100}],"total":0}`)
		}},
		{"indented", func() []byte {
			var ind bytes.Buffer
			_ = json.Indent(&ind, kibJSON(), "", "  ")
			return ind.Bytes()
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			doc := bc.doc()
			c := getCanon()
			defer putCanon(c)
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				c.out = c.out[:0]
				if !c.appendCanonical(doc) {
					b.Fatal("not JSON")
				}
			}
		})
	}
}
