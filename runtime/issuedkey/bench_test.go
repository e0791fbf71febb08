package issuedkey

import (
	"context"
	"testing"
	"time"
)

func BenchmarkIssue(b *testing.B) {
	is, err := New(Config{Secret: secretA})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := is.Issue(ctx, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	// The key of a previous secret: the lookup walks past the signing one.
	old, _ := New(Config{Secret: secretB})
	k, _ := old.Issue(context.Background(), "alice")
	is, err := New(Config{Secret: secretA, Previous: [][]byte{secretB}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := is.Verify(k.Key, "alice", time.Hour, true); err != nil {
			b.Fatal(err)
		}
	}
}
