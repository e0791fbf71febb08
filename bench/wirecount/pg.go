package wirecount

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Untyped first messages of the PostgreSQL protocol, told apart by their code.
const (
	pgSSLRequest    = 80877103
	pgGSSEncRequest = 80877104
	pgCancelRequest = 80877102
)

// pgNames names the frontend messages that matter for counting statements.
var pgNames = map[byte]string{
	'Q': "Query", 'P': "Parse", 'B': "Bind", 'E': "Execute", 'S': "Sync",
	'D': "Describe", 'C': "Close", 'H': "Flush", 'X': "Terminate", 'p': "Password",
}

// PostgreSQL parses the PostgreSQL frontend protocol (unencrypted: point
// clients at the proxy with sslmode=disable) and counts each message by name:
// "Query" (a simple-protocol statement), "Execute" (an extended-protocol
// statement), "Sync" (the end of an extended-protocol round trip), and so on.
func PostgreSQL(r *bufio.Reader, count func(string)) error {
	var hdr [8]byte
	for {
		// Untyped messages: SSL/GSS negotiation, then the startup message.
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		size := int(binary.BigEndian.Uint32(hdr[:4]))
		code := binary.BigEndian.Uint32(hdr[4:])
		if size < 8 {
			return fmt.Errorf("wirecount: postgres startup length %d", size)
		}
		if _, err := r.Discard(size - 8); err != nil {
			return err
		}
		if code == pgSSLRequest || code == pgGSSEncRequest {
			continue
		}
		if code == pgCancelRequest {
			count("CancelRequest")
			return nil
		}
		count("Startup")
		break
	}
	for {
		if _, err := io.ReadFull(r, hdr[:5]); err != nil {
			return err
		}
		size := int(binary.BigEndian.Uint32(hdr[1:5]))
		if size < 4 {
			return fmt.Errorf("wirecount: postgres message %q length %d", hdr[0], size)
		}
		if _, err := r.Discard(size - 4); err != nil {
			return err
		}
		name, ok := pgNames[hdr[0]]
		if !ok {
			name = string(hdr[:1])
		}
		count(name)
	}
}
