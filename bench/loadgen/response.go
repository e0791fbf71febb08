package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"

	"github.com/idemgen/idemgen/bench/workload"
)

// rawTarget is one target's request: its address and bytes, with the key at keyAt.
type rawTarget struct {
	addr  string
	req   []byte
	keyAt int
}

// newRawTarget builds the request to target u, the headers net/http's client
// sends for the same request (so the servers parse the same request as with
// NetHTTP) with the key left blank.
func newRawTarget(u string, body []byte) (rawTarget, error) {
	p, err := url.Parse(u)
	if err != nil {
		return rawTarget{}, fmt.Errorf("loadgen: target: %w", err)
	}
	if p.Scheme != "http" || p.Host == "" {
		return rawTarget{}, fmt.Errorf("loadgen: target %q: want an http:// URL with a host", u)
	}
	addr := p.Host
	if p.Port() == "" {
		addr = net.JoinHostPort(p.Hostname(), "80")
	}
	head := "POST " + p.RequestURI() + " HTTP/1.1\r\nHost: " + p.Host + "\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nContent-Type: application/json\r\n" + workload.KeyHeader + ": "
	req := make([]byte, 0, len(head)+KeySize+4+len(body))
	req = append(req, head...)
	keyAt := len(req)
	req = append(req, make([]byte, KeySize)...)
	req = append(req, "\r\n\r\n"...)
	req = append(req, body...)
	return rawTarget{addr: addr, req: req, keyAt: keyAt}, nil
}

// rawReadBuffer is the size of the parser's read buffer, and so the longest
// status or header line it accepts.
const rawReadBuffer = 16 << 10

// errMore is what a rawSource returns at the end of the bytes received so far
// when the connection has not ended: the answer is incomplete.
var errMore = errors.New("loadgen: answer incomplete")

// rawSource reads the bytes received so far of an answer.
type rawSource struct {
	data []byte
	eof  bool // the connection ended after data
}

func (s *rawSource) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		return 0, errMore
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// readResponse reads one HTTP/1.x answer from br, after any 1xx
// informational answers before it (a 101 ends the connection). When keep is
// true and the status is 2xx it appends the body to buf and returns it;
// otherwise it reads past the body and returns nil. closeConn reports that
// the connection carries no further answer: Connection: close, HTTP/1.0
// without keep-alive, a body that ends with the connection, or 101.
func readResponse(br *bufio.Reader, keep bool, buf []byte) (status int, body []byte, closeConn bool, err error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, nil, false, err
		}
		var minor byte
		if status, minor, err = parseStatusLine(line); err != nil {
			return 0, nil, false, err
		}
		length, chunked, tillEOF, connClose, keepAlive, err := readHeader(br)
		if err != nil {
			return 0, nil, false, err
		}
		closeConn = connClose || (minor == '0' && !keepAlive)
		switch {
		case status == 101:
			return status, nil, true, nil
		case status < 200:
			continue // informational: no body, the answer follows
		case status == 204 || status == 304:
			return status, nil, closeConn, nil
		}
		want := keep && status/100 == 2
		if want {
			body = buf[:0]
		}
		switch {
		case chunked:
			body, err = readChunked(br, want, body)
		case tillEOF || length < 0:
			closeConn = true
			body, err = readToEOF(br, want, body)
		default:
			body, err = readN(br, length, want, body)
		}
		if err != nil {
			return 0, nil, false, err
		}
		return status, body, closeConn, nil
	}
}

// readLine returns the next line of br without its line end (valid until the
// next read).
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		} else if err == bufio.ErrBufferFull {
			err = errors.New("loadgen: answer line longer than the read buffer")
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseStatusLine parses "HTTP/1.x NNN reason" and returns the status and x.
func parseStatusLine(line []byte) (int, byte, error) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, 0, fmt.Errorf("loadgen: malformed status line %q", line)
	}
	status := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, 0, fmt.Errorf("loadgen: malformed status line %q", line)
		}
		status = status*10 + int(d-'0')
	}
	if status < 100 {
		return 0, 0, fmt.Errorf("loadgen: malformed status line %q", line)
	}
	return status, line[7], nil
}

// readHeader reads header lines up to the empty line and returns what frames
// the body and the connection: Content-Length (-1 when absent), whether the
// body is chunked or, under another transfer coding, ends with the
// connection, and the Connection header's close and keep-alive options.
func readHeader(br *bufio.Reader) (length int64, chunked, tillEOF, connClose, keepAlive bool, err error) {
	length = -1
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, false, false, false, false, err
		}
		if len(line) == 0 {
			return length, chunked, tillEOF, connClose, keepAlive, nil
		}
		colon := -1
		for i, b := range line {
			if b == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 {
			return 0, false, false, false, false, fmt.Errorf("loadgen: malformed header line %q", line)
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		switch {
		case equalFold(name, "content-length"):
			n, ok := parseDecimal(value)
			if !ok || (length >= 0 && n != length) {
				return 0, false, false, false, false, fmt.Errorf("loadgen: bad Content-Length %q", value)
			}
			length = n
		case equalFold(name, "transfer-encoding"):
			// The last coding decides: chunked delimits the body, anything
			// else leaves it to the end of the connection.
			last := value
			for i := len(value) - 1; i >= 0; i-- {
				if value[i] == ',' {
					last = trimOWS(value[i+1:])
					break
				}
			}
			chunked, tillEOF = equalFold(last, "chunked"), !equalFold(last, "chunked")
		case equalFold(name, "connection"):
			for len(value) > 0 {
				tok := value
				i := 0
				for i < len(value) && value[i] != ',' {
					i++
				}
				tok, value = trimOWS(value[:i]), value[min(i+1, len(value)):]
				connClose = connClose || equalFold(tok, "close")
				keepAlive = keepAlive || equalFold(tok, "keep-alive")
			}
		}
	}
}

// readN reads n bytes of body: appended to body when want, else skipped.
func readN(br *bufio.Reader, n int64, want bool, body []byte) ([]byte, error) {
	if !want {
		for n > 0 {
			m, err := br.Discard(int(min(n, 1<<30)))
			n -= int64(m)
			if err != nil {
				return nil, unexpected(err)
			}
		}
		return nil, nil
	}
	for n > 0 {
		step := int(min(n, 64<<10))
		if cap(body)-len(body) < step {
			body = append(body[:cap(body)], make([]byte, step)...)[:len(body)]
		}
		m, err := io.ReadFull(br, body[len(body):len(body)+step])
		body = body[:len(body)+m]
		n -= int64(m)
		if err != nil {
			return nil, unexpected(err)
		}
	}
	return body, nil
}

// readToEOF reads the body up to the end of the connection.
func readToEOF(br *bufio.Reader, want bool, body []byte) ([]byte, error) {
	if !want {
		_, err := br.WriteTo(io.Discard)
		return nil, err
	}
	for {
		if cap(body)-len(body) < 4096 {
			body = append(body[:cap(body)], make([]byte, 4096)...)[:len(body)]
		}
		m, err := br.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readChunked reads a chunked body and its trailer.
func readChunked(br *bufio.Reader, want bool, body []byte) ([]byte, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return nil, fmt.Errorf("loadgen: malformed chunk size line %q", line)
		}
		if size == 0 {
			break
		}
		if body, err = readN(br, size, want, body); err != nil {
			return nil, err
		}
		if line, err = readLine(br); err != nil {
			return nil, err
		}
		if len(line) != 0 {
			return nil, errors.New("loadgen: chunk not followed by a line end")
		}
	}
	for { // trailer fields, up to the empty line
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return body, nil
		}
	}
}

// parseChunkSize parses a chunk size line: hexadecimal digits, then optional
// white space and extensions after ';'.
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		var d byte
		switch b := line[i]; {
		case b >= '0' && b <= '9':
			d = b - '0'
		case b >= 'a' && b <= 'f':
			d = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			d = b - 'A' + 10
		default:
			goto rest
		}
		if i >= 15 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, false
	}
	rest := trimOWS(line[i:])
	if len(rest) > 0 && rest[0] != ';' {
		return 0, false
	}
	return n, true
}

// parseDecimal parses a Content-Length value: 1 to 18 decimal digits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// trimOWS drops HTTP's optional whitespace (spaces and tabs) around b.
func trimOWS(b []byte) []byte { return bytes.Trim(b, " \t") }

// equalFold reports whether b is lower, ignoring ASCII case (lower is lower case).
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// unexpected turns the end of the connection inside a body into ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
