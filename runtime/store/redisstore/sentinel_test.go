package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idemgen/idemgen/runtime/idempotency"
	"github.com/idemgen/idemgen/runtime/store/storetest"
	"github.com/idemgen/idemgen/runtime/store/storeurl"
)

// TestSentinelConformance runs the shared Store suite on a Redis master found
// through Sentinel by URL (redis+sentinel://): a private redis-server and one
// sentinel monitoring it, on free loopback ports, stopped at the end.
func TestSentinelConformance(t *testing.T) {
	bin := redisServer(t)
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	master := &node{port: ports[0], dir: filepath.Join(dir, "master")}
	sentinel := &node{port: ports[1], dir: filepath.Join(dir, "sentinel")}
	for _, n := range []*node{master, sentinel} {
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(sentinel.dir, "sentinel.conf")
	err = os.WriteFile(conf, fmt.Appendf(nil, "port %d\nbind 127.0.0.1\ndir %s\nlogfile redis.log\nsentinel monitor idemtest 127.0.0.1 %d 1\n",
		sentinel.port, sentinel.dir, master.port), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	procs := &cluster{bin: bin, nodes: []*node{master, sentinel}}
	t.Cleanup(procs.stop)
	master.cmd = exec.Command(bin, "--port", strconv.Itoa(master.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", master.dir, "--logfile", "redis.log")
	sentinel.cmd = exec.Command(bin, conf, "--sentinel")
	for _, n := range procs.nodes {
		dieWithTest(n.cmd)
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n.exited = make(chan struct{})
		go func(n *node) { n.cmd.Wait(); close(n.exited) }(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = waitFor(ctx, "the sentinel naming the master", func(rc *redis.Client) (bool, error) {
		addr, err := rc.Do(ctx, "SENTINEL", "get-master-addr-by-name", "idemtest").StringSlice()
		return err == nil && len(addr) == 2 && addr[1] == strconv.Itoa(master.port), nil
	}, sentinel)
	if err == nil {
		err = waitFor(ctx, "the master answering", func(rc *redis.Client) (bool, error) {
			return rc.Ping(ctx).Err() == nil, nil
		}, master)
	}
	if err != nil {
		t.Fatalf("%v%s", err, procs.logs())
	}

	storetest.Run(t, func(t *testing.T) idempotency.Store {
		var b [6]byte
		rand.Read(b[:])
		url := "redis+sentinel://" + sentinel.addr() + "/0?master_name=idemtest&prefix=idemsentinel:" + hex.EncodeToString(b[:]) + ":"
		s, closer, err := storeurl.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closer.Close() })
		return s
	})
}
