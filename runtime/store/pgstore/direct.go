package pgstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The hot path (Claim, Complete) talks to pgconn directly on a statement it
// prepares once per connection: pgx's Query and Exec would add, per statement,
// a statement-cache lookup, argument encoding through the type map, a Rows
// object, scan plans and pointer targets. Their CPU is taken from PostgreSQL
// when both share the machine. The wire traffic is the same: one Bind, Execute
// and Sync per statement, and the request's context still cancels it.
//
// A pgx QueryTracer set on the pool is called for them as pgx would call it,
// without the arguments. A PrepareTracer is called on every run, with
// AlreadyPrepared after the first on a connection: run asks pgx's Prepare for
// the statement each time (a map lookup), as the connection is the only
// place that knows what it holds.

// stmt is a statement prepared under name on each connection that runs it,
// with the types of its parameters for when it is not prepared.
type stmt struct {
	name, sql string
	oids      []uint32
}

// Parameter types.
const (
	oidBytea = 17
	oidInt8  = 20
	oidText  = 25
)

func newStmt(sql string, oids ...uint32) stmt {
	sum := sha256.Sum256([]byte(sql))
	return stmt{name: "idemgen_" + hex.EncodeToString(sum[:12]), sql: sql, oids: oids}
}

// binaryFormat is the binary format for every parameter or result column.
var binaryFormat = []int16{1}

// runAlone runs c's statement by itself (autocommit) on a pooled connection
// under c's context, and puts the answer in c. hook is the batcher's (tests).
// A QueryTracer on the connection sees the statement as if pgx had run it,
// without its arguments (they are binary here, and hold the stored answers).
func (s *Store) runAlone(c *call, hook func(*pgx.Conn, []string)) {
	c.ans = answer{}
	c.ans.tag, c.ans.err = s.run(c, hook)
}

func (s *Store) run(c *call, hook func(*pgx.Conn, []string)) (tag pgconn.CommandTag, err error) {
	ctx, st := c.ctx, c.st
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer pc.Release()
	conn := pc.Conn()
	if hook != nil {
		hook(conn, []string{c.id})
	}
	if t, ok := conn.Config().Tracer.(pgx.QueryTracer); ok {
		ctx = t.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: st.sql})
		defer func() { t.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{CommandTag: tag, Err: err}) }()
	}
	var rr *pgconn.ResultReader
	if s.prepare {
		sd, err := conn.Prepare(ctx, st.name, st.sql)
		if err != nil {
			return pgconn.CommandTag{}, err
		}
		rr = conn.PgConn().ExecStatement(ctx, sd, c.params, binaryFormat, binaryFormat)
	} else {
		// The pool keeps no statements on the server (for instance behind a
		// pooler in transaction mode): parse the statement in the same round trip.
		rr = conn.PgConn().ExecParams(ctx, st.sql, c.params, st.oids, binaryFormat, binaryFormat)
	}
	var rowErr error
	for rr.NextRow() {
		if rowErr == nil && st == &s.claim {
			c.ans.cl, c.ans.again, rowErr = decodeClaim(c.id, rr.Values())
		}
	}
	tag, err = rr.Close()
	if err != nil {
		var pe *pgconn.PgError
		// The prepared statement went stale (the table changed under it) or is
		// gone (the session was reset): prepare it again next time.
		if errors.As(err, &pe) && (pe.Code == "0A000" || pe.Code == "26000") {
			_ = conn.Deallocate(ctx, st.name)
		}
		return pgconn.CommandTag{}, err
	}
	return tag, rowErr
}

// binaryParams encodes strings (text, bytea) and then one bigint as
// binary-format parameters in one buffer.
func binaryParams(n int64, strs ...string) [][]byte {
	size := 8
	for _, s := range strs {
		size += len(s)
	}
	buf := make([]byte, 0, size)
	params := make([][]byte, 0, len(strs)+1)
	for _, s := range strs {
		start := len(buf)
		buf = append(buf, s...)
		params = append(params, buf[start:len(buf):len(buf)])
	}
	return append(params, binary.BigEndian.AppendUint64(buf, uint64(n))[len(buf):])
}

// pgEpoch is where binary timestamptz values count from, in Unix microseconds.
const pgEpoch = 946684800 * 1000000

// Binary-format decoders; a NULL value (nil) is an error for each.

func decodeBool(col string, v []byte) (bool, error) {
	if len(v) != 1 {
		return false, fmt.Errorf("column %s: %d bytes for a boolean", col, len(v))
	}
	return v[0] != 0, nil
}

func decodeInt2(col string, v []byte) (int16, error) {
	if len(v) != 2 {
		return 0, fmt.Errorf("column %s: %d bytes for a smallint", col, len(v))
	}
	return int16(binary.BigEndian.Uint16(v)), nil
}

func decodeTime(col string, v []byte) (time.Time, error) {
	if len(v) != 8 {
		return time.Time{}, fmt.Errorf("column %s: %d bytes for a timestamptz", col, len(v))
	}
	us := int64(binary.BigEndian.Uint64(v))
	if us == 1<<63-1 || us == -1<<63 {
		return time.Time{}, fmt.Errorf("column %s: infinite timestamptz", col)
	}
	us += pgEpoch
	return time.Unix(us/1000000, us%1000000*1000), nil
}
