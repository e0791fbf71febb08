package emit

import (
	"bytes"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/dave/jennifer/jen"
)

// hostileText is spec text that broke, or could break, a generated file.
var hostileText = []string{
	"Create an order.\nSecond line.",
	"created\r\nreally",
	"old mac\rline",
	"nel\u0085ls\u2028ps\u2029end",
	"vt\vff\f",
	"ends a block */ and opens one /*",
	"`backticks` and \"quotes\"",
	"nul \x00 bell \a esc \x1b del \x7f c1 \u0090",
	"bom \uFEFF inside",
	"invalid \xff\xfe utf-8 \xc3",
	"//go:generate rm -rf /",
	"\n\n\n",
	"",
	"trailing \\",
	"line directive\n//line foo.go:1",
}

func TestCommentLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"plain", []string{"plain"}},
		{"a\nb", []string{"a", "b"}},
		{"a\r\nb", []string{"a", "b"}},
		{"a\rb", []string{"a", "b"}},
		{"a\u2028b\u0085c", []string{"a", "b", "c"}},
		{"tab\there", []string{"tab\there"}},
		{"nul\x00", []string{"nul\uFFFD"}},
		{"bad\xff", []string{"bad\uFFFD"}},
		{"bom\uFEFF.", []string{"bom."}},
		{"héllo ✓", []string{"héllo ✓"}},
	}
	for _, tt := range tests {
		got := commentLines(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("commentLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := singleLine("/a\nb\r\nc"); got != "/a b c" {
		t.Errorf("singleLine = %q", got)
	}
}

// TestHostileCommentsParse renders every hostile text through rawComment, in
// every position the emitters use it, and requires a file that parses with
// its declarations intact.
func TestHostileCommentsParse(t *testing.T) {
	for _, text := range hostileText {
		src := renderWithComment(t, text)
		checkParses(t, text, src)
	}
}

func FuzzRawComment(f *testing.F) {
	for _, s := range hostileText {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		if strings.ContainsAny(singleLine(text), "\n\r") {
			t.Fatalf("singleLine(%q) keeps a line break", text)
		}
		checkParses(t, text, renderWithComment(t, text))
	})
}

func renderWithComment(t *testing.T, text string) []byte {
	t.Helper()
	f := jen.NewFile("p")
	f.Add(rawComment([]string{"T is a type.", "", text, "Deprecated: " + text}))
	f.Type().Id("T").StructFunc(func(g *jen.Group) {
		g.Add(rawComment([]string{text}))
		g.Id("A").String()
	})
	f.Add(docComment("F", text, true))
	f.Func().Id("F").Params().Block()
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		t.Fatalf("render %q: %v", text, err)
	}
	return buf.Bytes()
}

func checkParses(t *testing.T, text string, src []byte) {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "p.go", src, parser.ParseComments)
	if err != nil {
		t.Fatalf("comment of %q does not parse: %v\n%s", text, err, src)
	}
	if len(file.Decls) != 2 {
		t.Fatalf("comment of %q changed the declarations: %d, want 2\n%s", text, len(file.Decls), src)
	}
}

func TestExcerpt(t *testing.T) {
	var src strings.Builder
	for i := 1; i <= 1000; i++ {
		src.WriteString("line\n")
	}
	got := excerpt([]byte(src.String()), 500)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 11 {
		t.Fatalf("excerpt has %d lines, want 11:\n%s", len(lines), got)
	}
	if !strings.HasPrefix(lines[5], ">   500") {
		t.Errorf("the error line is not marked: %q", lines[5])
	}
	if got := excerpt([]byte("a\nb"), 0); !strings.Contains(got, "a") {
		t.Errorf("excerpt without a line: %q", got)
	}
}

// TestRenderErrorIsShort is the failure path: a file that does not parse is
// reported with a window around the error, not the whole file.
func TestRenderErrorIsShort(t *testing.T) {
	f := jen.NewFile("p")
	f.NoFormat = true // as newFile: render parses and formats itself
	for i := 0; i < 200; i++ {
		f.Var().Id("v" + strings.Repeat("x", i%5+1) + string(rune('a'+i%26))).Op("=").Lit(i)
	}
	f.Add(jen.Comment("// ok\nbroken line"))
	_, err := render(f, "x_gen.go")
	if err == nil {
		t.Fatal("render accepted a file that does not parse")
	}
	if n := strings.Count(err.Error(), "\n"); n > 15 {
		t.Errorf("the error has %d lines, want a short window:\n%v", n, err)
	}
	if !strings.Contains(err.Error(), "broken line") {
		t.Errorf("the window misses the broken line:\n%v", err)
	}
}
