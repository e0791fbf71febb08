package emit

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Spec text (summaries, descriptions, paths, media types, patterns...) reaches
// generated code only in comments and string literals. Literals are quoted by
// jen (strconv), so they are always safe; comments are written here, where
// every line break the text may hold ends the comment line and every character
// the Go scanner rejects (NUL, a BOM, invalid UTF-8) or that would garble the
// file (other control characters) is replaced.

// commentLines splits text into lines that are each safe inside a // comment.
func commentLines(text string) []string {
	return strings.Split(commentSafe(text, "\n"), "\n")
}

// singleLine is text made safe for a // comment and kept on one line: line
// breaks become spaces. It is for text embedded in a sentence (a path, a
// media type).
func singleLine(text string) string { return commentSafe(text, " ") }

// commentSafe replaces every line break in text by lineBreak and every
// character a comment cannot carry by U+FFFD.
func commentSafe(text, lineBreak string) string {
	if isPlain(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r':
			b.WriteString(lineBreak)
			if i+1 < len(text) && text[i+1] == '\n' {
				size++
			}
		case r == '\n', r == '\u0085', r == '\u2028', r == '\u2029', r == '\v', r == '\f':
			b.WriteString(lineBreak)
		case r == '\t':
			b.WriteByte('\t')
		case r == '\uFEFF':
			// a BOM is only allowed at the start of a Go file: drop it
		case unicode.IsControl(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(text[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isPlain reports whether text is printable ASCII (or tabs), the common case
// that needs no copy.
func isPlain(text string) bool {
	for i := 0; i < len(text); i++ {
		if c := text[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}
