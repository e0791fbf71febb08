package storeurl

import (
	"context"
	"strings"
	"testing"
)

// TestMissingDriver: a scheme whose store package is not linked names the
// import that links it. (The package's other tests link every driver through
// storeurl/all, so the redis driver is taken out for the duration.)
func TestMissingDriver(t *testing.T) {
	mu.Lock()
	d, ok := drivers["redis"]
	delete(drivers, "redis")
	mu.Unlock()
	t.Cleanup(func() {
		if ok {
			mu.Lock()
			drivers["redis"] = d
			mu.Unlock()
		}
	})
	_, _, err := Open(context.Background(), "redis://u:secret@127.0.0.1:6379/0")
	want := `storeurl: "redis://u:xxxxx@127.0.0.1:6379/0": no driver for redis:// is linked; import _ "github.com/idemgen/idemgen/runtime/store/redisstore" (or storeurl/all)`
	if err == nil || err.Error() != want {
		t.Fatalf("Open without the redis driver: %v\nwant %s", err, want)
	}
	for _, s := range Schemes() {
		if s == "redis" {
			t.Fatalf("Schemes() = %v lists the unregistered redis", Schemes())
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		mu.Lock()
		delete(drivers, "storeurl-test-scheme")
		mu.Unlock()
		if r := recover(); r == nil || !strings.Contains(r.(string), "registered twice") {
			t.Fatalf("second Register of a scheme: recover() = %v, want a panic naming the duplicate", r)
		}
	}()
	Register("example.com/other", nil, "storeurl-test-scheme")
	Register("example.com/again", nil, "storeurl-test-scheme")
}
