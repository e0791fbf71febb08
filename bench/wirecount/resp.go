package wirecount

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// RESP parses the Redis client protocol: each command is an array of bulk
// strings; it is counted under its upper-cased first element. Inline commands
// (a bare line) are counted under their first word.
func RESP(r *bufio.Reader, count func(string)) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			continue
		}
		if line[0] != '*' {
			name, _, _ := bytes.Cut(line, []byte(" "))
			count(string(bytes.ToUpper(name)))
			continue
		}
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return fmt.Errorf("wirecount: resp array header %q", line)
		}
		var name string
		for i := range n {
			hdr, err := readLine(r)
			if err != nil {
				return err
			}
			if len(hdr) == 0 || hdr[0] != '$' {
				return fmt.Errorf("wirecount: resp bulk header %q", hdr)
			}
			size, err := strconv.Atoi(string(hdr[1:]))
			if err != nil || size < 0 {
				return fmt.Errorf("wirecount: resp bulk length %q", hdr)
			}
			buf := make([]byte, size+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return err
			}
			if i == 0 {
				name = string(bytes.ToUpper(buf[:size]))
			}
		}
		count(name)
	}
}

func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
