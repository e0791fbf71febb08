package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// parse runs readResponse over data received so far (eof: the connection ended).
func parse(data string, eof, keep bool) (int, []byte, bool, error) {
	br := bufio.NewReaderSize(&rawSource{data: []byte(data), eof: eof}, rawReadBuffer)
	return readResponse(br, keep, nil)
}

var answerCases = []struct {
	name, in  string
	status    int
	body      string // kept (2xx)
	closeConn bool
}{
	{"length", "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello", 201, "hello", false},
	{"no reason, LF only", "HTTP/1.1 200\nCONTENT-LENGTH:  3 \n\nabc", 200, "abc", false},
	{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nTrailer: x\r\n\r\n", 200, "hello, world!!!", false},
	{"chunked wins over length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "abc", false},
	{"close", "HTTP/1.1 201 Created\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\n{}", 201, "{}", true},
	{"until close", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, "all of it", true},
	{"other coding until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", 200, "zz", true},
	{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", true},
	{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", 200, "x", false},
	{"informational first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", 201, "x", false},
	{"no content", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 204, "", false},
	{"not modified", "HTTP/1.1 304 Not Modified\r\n\r\n", 304, "", false},
	{"see other", "HTTP/1.1 303 See Other\r\nLocation: /r/1\r\nContent-Length: 4\r\n\r\nmove", 303, "", false},
	{"conflict", "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 409, "", false},
	{"switching", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 101, "", true},
}

func TestReadResponse(t *testing.T) {
	for _, tc := range answerCases {
		status, body, closeConn, err := parse(tc.in, true, true)
		if err != nil || status != tc.status || string(body) != tc.body || closeConn != tc.closeConn {
			t.Errorf("%s: %d %q close %v, %v; want %d %q close %v", tc.name, status, body, closeConn, err, tc.status, tc.body, tc.closeConn)
		}
		// Not kept: the body is read past, not returned.
		if _, body, _, err := parse(tc.in, true, false); err != nil || body != nil {
			t.Errorf("%s, not kept: %q, %v", tc.name, body, err)
		}
		// Every prefix of an answer delimited by its own framing is incomplete.
		if tc.closeConn && tc.status != 101 && !strings.Contains(tc.in, "Content-Length") {
			continue
		}
		for i := range len(tc.in) {
			if _, _, _, err := parse(tc.in[:i], false, true); !errors.Is(err, errMore) {
				t.Errorf("%s, first %d bytes: %v, want errMore", tc.name, i, err)
				break
			}
		}
	}
}

func TestReadResponseRejects(t *testing.T) {
	for _, in := range []string{
		"SMTP ready\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 20x OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\n" + strings.Repeat("x", rawReadBuffer) + "\r\n\r\n",
	} {
		if status, _, _, err := parse(in, true, true); err == nil || errors.Is(err, errMore) {
			t.Errorf("%.40q: status %d, %v; want an error", in, status, err)
		}
	}
}

// FuzzReadResponse checks that the parser never panics and, where net/http's
// own reader accepts the same bytes, agrees with it on the status and body.
func FuzzReadResponse(f *testing.F) {
	for _, tc := range answerCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		status, body, _, err := parse(string(data), true, true)
		if err != nil {
			return
		}
		if status < 101 || status > 999 {
			t.Fatalf("status %d", status)
		}
		br := bufio.NewReader(bytes.NewReader(data))
		resp, herr := http.ReadResponse(br, nil)
		for herr == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			resp, herr = http.ReadResponse(br, nil)
		}
		if herr != nil {
			return
		}
		hbody, herr := io.ReadAll(resp.Body)
		if herr != nil {
			return
		}
		if resp.StatusCode != status {
			t.Fatalf("status %d, net/http %d", status, resp.StatusCode)
		}
		if status/100 == 2 && status != 204 && !bytes.Equal(body, hbody) {
			t.Fatalf("body %q, net/http %q", body, hbody)
		}
	})
}
