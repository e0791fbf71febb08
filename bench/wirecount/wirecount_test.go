package wirecount_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/bench/internal/benchtest"
	"github.com/idemgen/idemgen/bench/wirecount"
)

func parse(t *testing.T, p wirecount.Protocol, stream string) map[string]int {
	t.Helper()
	got := map[string]int{}
	err := p(bufio.NewReader(strings.NewReader(stream)), func(n string) { got[n]++ })
	if err == nil || err.Error() != "EOF" {
		t.Fatalf("parse ended with %v, want EOF", err)
	}
	return got
}

func TestRESP(t *testing.T) {
	stream := "*2\r\n$3\r\nget\r\n$1\r\nk\r\n" +
		"*5\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n1\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n" + // a bulk string holding CRLF
		"PING\r\n"
	want := map[string]int{"GET": 1, "EVALSHA": 1, "PING": 1}
	if got := parse(t, wirecount.RESP, stream); !maps.Equal(got, want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
}

func pgMsg(typ byte, payload string) string {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(4+len(payload)))
	return string(b) + payload
}

func pgUntyped(code uint32, payload string) string {
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, uint32(8+len(payload)))
	binary.BigEndian.PutUint32(b[4:], code)
	return string(b) + payload
}

func TestPostgreSQL(t *testing.T) {
	stream := pgUntyped(80877103, "") + pgUntyped(196608, "user\x00postgres\x00\x00") +
		pgMsg('Q', "select 1\x00") +
		pgMsg('P', "\x00select $1\x00\x00\x00") + pgMsg('B', "xxxx") + pgMsg('E', "\x00\x00\x00\x00\x00") + pgMsg('S', "") +
		pgMsg('B', "yy") + pgMsg('E', "\x00\x00\x00\x00\x00") + pgMsg('S', "")
	want := map[string]int{"Startup": 1, "Query": 1, "Parse": 1, "Bind": 2, "Execute": 2, "Sync": 2}
	if got := parse(t, wirecount.PostgreSQL, stream); !maps.Equal(got, want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
}

func TestProxyCountsRedisCommands(t *testing.T) {
	benchtest.NeedService(t, "127.0.0.1:6379")
	p, err := wirecount.Listen("127.0.0.1:6379", wirecount.RESP)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), PoolSize: 4})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	for range 5 {
		if err := c.Set(ctx, "wirecount-test", "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.Get(ctx, "wirecount-test").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Counts(); got["SET"] != 5 || got["GET"] != 5 || len(got) != 2 {
		t.Fatalf("counts = %v, want 5 SET and 5 GET", got)
	}
}

func TestProxyCountsPostgresStatements(t *testing.T) {
	benchtest.NeedService(t, "127.0.0.1:5432")
	p, err := wirecount.Listen("127.0.0.1:5432", wirecount.PostgreSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+p.Addr()+"/test?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	p.Reset()
	for i := range 4 {
		var n int
		if err := conn.QueryRow(ctx, "select $1::int + 1", i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("query: %v %d", err, n)
		}
	}
	if got := p.Counts(); got["Execute"] != 4 || got["Sync"] < 4 {
		t.Fatalf("counts = %v, want 4 Execute", got)
	}
}
