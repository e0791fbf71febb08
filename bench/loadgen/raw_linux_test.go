package loadgen

import (
	"testing"
	"time"
)

func TestCoalesce(t *testing.T) {
	for _, tc := range []struct {
		latency time.Duration
		active  int
		want    time.Duration
	}{
		{1600 * time.Microsecond, 32, 100 * time.Microsecond}, // two answers per wake-up
		{1600 * time.Microsecond, 64, 100 * time.Microsecond},
		{1600 * time.Microsecond, 31, 0}, // fewer than two answers in the pause
		{1600 * time.Microsecond, 8, 0},
		{40 * time.Millisecond, 64, maxPause}, // capped, still 3 answers in it
		{time.Second, 32, 0},                  // capped: then too few answers in it
		{0, 32, 0},
	} {
		if got := coalesce(tc.latency, tc.active); got != tc.want {
			t.Errorf("coalesce(%v, %d) = %v, want %v", tc.latency, tc.active, got, tc.want)
		}
	}
}
