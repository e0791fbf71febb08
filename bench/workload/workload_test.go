package workload

import (
	"encoding/json"
	"testing"
)

func TestBodySizeAndWork(t *testing.T) {
	for _, size := range []int{256, 1024, 4096} {
		b, err := Body(size)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != size {
			t.Fatalf("Body(%d) has %d bytes", size, len(b))
		}
		out, err := Work(b, "x-1")
		if err != nil {
			t.Fatal(err)
		}
		var r Receipt
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		if size == 1024 && (len(out) < 900 || len(out) > 1100) {
			t.Fatalf("receipt for 1 KiB is %d bytes, want ~1 KiB", len(out))
		}
		// Items are quantity i+1 at price 1000+i for i in 0..3.
		if r.Total != 1000+2*1001+3*1002+4*1003 || r.Execution != "x-1" || r.Payment != "pay_0001" || r.Description == "" || !json.Valid(out) {
			t.Fatalf("receipt = %+v", r)
		}
	}
	if _, err := Body(10); err == nil {
		t.Fatal("Body(10) succeeded; want an error")
	}
	if _, err := Work([]byte("{"), "x"); err == nil {
		t.Fatal("Work of broken JSON succeeded")
	}
}
