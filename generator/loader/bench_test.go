package loader

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad measures Load (kin-openapi parsing and resolution, the position
// index, the model and all validation) on the biggest corpus specs:
//
//	go test -run XXX -bench Load -benchtime 3x -benchmem ./generator/loader
func BenchmarkLoad(b *testing.B) {
	dir, err := corpusDirNoSkip()
	if err != nil {
		b.Skipf("corpus absent: %v", err)
	}
	for _, name := range []string{"twilio-api-v2010.json", "telegram-bot-api.json", "resend.yaml"} {
		spec := filepath.Join(dir, name)
		fi, err := os.Stat(spec)
		if err != nil {
			b.Skipf("%s: %v", name, err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(fi.Size())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(context.Background(), spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIndex measures the position index alone on the biggest spec.
func BenchmarkIndex(b *testing.B) {
	dir, err := corpusDirNoSkip()
	if err != nil {
		b.Skipf("corpus absent: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "twilio-api-v2010.json"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildIndex("twilio.json", data); err != nil {
			b.Fatal(err)
		}
	}
}

// writeSynthetic writes a spec of n operations and n component schemas whose
// names collide in pairs as Go identifiers ("item_12" and "item12" are both
// Item12, and the suffixed Item122 collides again), each referring to the
// previous one, plus x-idempotent on every operation.
func writeSynthetic(t testing.TB, dir string, n int) string {
	var sb []byte
	sb = append(sb, "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nx-idempotent-defaults: {ttl: 1h}\npaths:\n"...)
	name := func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("item_%d", i/2)
		}
		return fmt.Sprintf("item%d", i/2)
	}
	for i := range n {
		sb = append(sb, fmt.Sprintf("  /items/%d:\n    post:\n      x-idempotent: {fingerprint: [/id]}\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/%s'}\n      responses: {'200': {description: ok}}\n", i, name(i))...)
	}
	sb = append(sb, "components:\n  schemas:\n"...)
	for i := range n {
		sb = append(sb, fmt.Sprintf("    %s:\n      type: object\n      properties:\n        id: {type: string}\n        prev: {$ref: '#/components/schemas/%s'}\n", name(i), name(max(i-1, 0)))...)
	}
	path := filepath.Join(dir, fmt.Sprintf("synthetic-%d.yaml", n))
	if err := os.WriteFile(path, sb, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadLinear checks that the work of Load grows linearly with the spec, by
// allocations (deterministic, unlike time): doubling the operations and the
// colliding schema names must not much more than double the allocations.
func TestLoadLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	allocs := func(n int) float64 {
		path := writeSynthetic(t, dir, n)
		api, err := Load(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if len(api.Operations) != n || len(api.Schemas) != n {
			t.Fatalf("n=%d: %d operations, %d schemas", n, len(api.Operations), len(api.Schemas))
		}
		checkInvariants(t, api)
		return testing.AllocsPerRun(1, func() {
			if _, err := Load(context.Background(), path); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, big := allocs(40), allocs(160)
	if ratio := big / small; ratio > 4.6 {
		t.Errorf("4x the spec took %.1fx the allocations (%.0f -> %.0f): not linear", ratio, small, big)
	} else {
		t.Logf("4x the spec: %.2fx the allocations (%.0f -> %.0f)", ratio, small, big)
	}
}
