package upload_test

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/idemgen/idemgen/runtime/upload"
)

func TestFileJSONIsBase64Content(t *testing.T) {
	f := upload.File{Filename: "a.txt", ContentType: "text/plain", Data: []byte("hello")}
	b, err := json.Marshal(struct{ F upload.File }{f})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"F":"aGVsbG8="}` {
		t.Fatalf("got %s", b)
	}
	var back struct{ F upload.File }
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if string(back.F.Data) != "hello" || back.F.Size() != 5 {
		t.Fatalf("got %+v", back.F)
	}
	got, _ := io.ReadAll(back.F.Reader())
	if string(got) != "hello" {
		t.Fatalf("Reader gave %q", got)
	}
	if err := json.Unmarshal([]byte(`{"F":12}`), &back); err == nil {
		t.Fatal("a number decoded as a file")
	}
}
