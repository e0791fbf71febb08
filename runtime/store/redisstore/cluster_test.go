package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The cluster tests start their own Redis Cluster (3 masters, 3 replicas) on
// free loopback ports from the redis-server binary, once per test binary: the
// first test that needs it starts it, TestMain stops it. Starting takes about
// two seconds and is bounded by clusterStartTimeout.

const clusterStartTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	sharedCluster.stop()
	os.Exit(code)
}

var sharedCluster lazyCluster

type lazyCluster struct {
	once sync.Once
	c    *cluster
	err  error
	dir  string
}

func (l *lazyCluster) stop() {
	if l.c != nil {
		l.c.stop()
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// testCluster returns the shared cluster, starting it on first use. Without a
// redis-server binary the test is skipped, except under CI=true.
func testCluster(t testing.TB) *cluster {
	t.Helper()
	bin := redisServer(t)
	sharedCluster.once.Do(func() {
		// Not t.TempDir: the cluster outlives the test that starts it.
		sharedCluster.dir, sharedCluster.err = os.MkdirTemp("", "idemgen-redis-cluster-")
		if sharedCluster.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
		defer cancel()
		sharedCluster.c, sharedCluster.err = startCluster(ctx, bin, sharedCluster.dir, 3)
	})
	if sharedCluster.err != nil {
		t.Fatalf("starting a local Redis Cluster: %v", sharedCluster.err)
	}
	return sharedCluster.c
}

// redisServer is the path of the redis-server binary. Without one the test
// is skipped, except under CI=true.
func redisServer(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server not on PATH under CI=true: %v", err)
		}
		t.Skipf("skipping: redis-server not on PATH (%v); CI=true makes this a failure", err)
	}
	return bin
}

// cluster is a local Redis Cluster: nodes[i] for i < masters is a master at
// the start, nodes[masters+i] its replica.
type cluster struct {
	bin   string
	nodes []*node
}

type node struct {
	port, bus int
	dir       string
	id        string
	cmd       *exec.Cmd
	exited    chan struct{}
}

func (n *node) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

func (n *node) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.addr(), DialTimeout: time.Second, DialerRetries: 1, MaxRetries: -1})
}

// freePorts reserves n distinct free loopback ports. (The cluster bus ports
// are chosen too rather than port+10000, which can pass 65535.)
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func startCluster(ctx context.Context, bin, dir string, masters int) (c *cluster, err error) {
	ports, err := freePorts(4 * masters)
	if err != nil {
		return nil, err
	}
	c = &cluster{bin: bin}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w%s", err, c.logs())
			c.stop()
			c = nil
		}
	}()
	for i := range 2 * masters {
		n := &node{port: ports[2*i], bus: ports[2*i+1], dir: filepath.Join(dir, strconv.Itoa(ports[2*i]))}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, n)
		if err := c.start(n); err != nil {
			return c, err
		}
	}
	for _, n := range c.nodes {
		if err := waitFor(ctx, n.addr()+" answering PING", func(rc *redis.Client) (bool, error) {
			return rc.Ping(ctx).Err() == nil, nil
		}, n); err != nil {
			return c, err
		}
		rc := n.client()
		n.id, err = rc.ClusterMyID(ctx).Result()
		rc.Close()
		if err != nil {
			return c, fmt.Errorf("%s: CLUSTER MYID: %w", n.addr(), err)
		}
	}
	const slots = 16384
	for i := range masters {
		rc := c.nodes[i].client()
		err := rc.ClusterAddSlotsRange(ctx, i*slots/masters, (i+1)*slots/masters-1).Err()
		rc.Close()
		if err != nil {
			return c, fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE: %w", c.nodes[i].addr(), err)
		}
	}
	first := c.nodes[0].client()
	for _, n := range c.nodes[1:] {
		if err := first.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.port, n.bus).Err(); err != nil {
			first.Close()
			return c, fmt.Errorf("CLUSTER MEET %s: %w", n.addr(), err)
		}
	}
	first.Close()
	for _, n := range c.nodes {
		if err := waitFor(ctx, n.addr()+" knowing every node", func(rc *redis.Client) (bool, error) {
			out, err := rc.ClusterNodes(ctx).Result()
			if err != nil {
				return false, err
			}
			return strings.Count(out, "connected") == len(c.nodes) && !strings.Contains(out, "handshake"), nil
		}, n); err != nil {
			return c, err
		}
	}
	for i, n := range c.nodes[masters:] {
		rc := n.client()
		err := rc.ClusterReplicate(ctx, c.nodes[i].id).Err()
		rc.Close()
		if err != nil {
			return c, fmt.Errorf("%s: CLUSTER REPLICATE: %w", n.addr(), err)
		}
	}
	return c, c.waitHealthy(ctx)
}

// start runs redis-server for n in cluster mode; the node's config (its id,
// its role, the cluster's view) lives in n.dir, so a restart rejoins.
func (c *cluster) start(n *node) error {
	n.cmd = exec.Command(c.bin,
		"--port", strconv.Itoa(n.port), "--bind", "127.0.0.1",
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(n.bus),
		"--cluster-config-file", "nodes.conf",
		// Detect a dead master after 1s (the default is 15s): failover tests stay short.
		"--cluster-node-timeout", "1000",
		"--cluster-replica-validity-factor", "0",
		"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		"--save", "", "--appendonly", "no",
		"--dir", n.dir, "--logfile", "redis.log")
	dieWithTest(n.cmd)
	if err := n.cmd.Start(); err != nil {
		return err
	}
	n.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(n.cmd, n.exited)
	return nil
}

// kill stops n at once (SIGKILL), as a crash would, and waits for it to exit.
func (c *cluster) kill(n *node) {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Kill()
	<-n.exited
	n.cmd = nil
}

func (c *cluster) stop() {
	for _, n := range c.nodes {
		c.kill(n)
	}
}

// waitHealthy waits until every node reports cluster_state:ok and every
// replica (nodes[len/2:]) is one, with its link to its master up and no sync
// in progress. (A restarted old master first reports itself a master from its
// stale nodes.conf, and takes a moment to learn that it is a replica now.)
func (c *cluster) waitHealthy(ctx context.Context) error {
	for i, n := range c.nodes {
		replica := i >= len(c.nodes)/2
		err := waitFor(ctx, n.addr()+" healthy", func(rc *redis.Client) (bool, error) {
			info, err := rc.ClusterInfo(ctx).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false, err
			}
			if !replica {
				return true, nil
			}
			repl, err := rc.Info(ctx, "replication").Result()
			if err != nil {
				return false, err
			}
			return strings.Contains(repl, "role:slave") && strings.Contains(repl, "master_link_status:up") &&
				strings.Contains(repl, "master_sync_in_progress:0"), nil
		}, n)
		if err != nil {
			return err
		}
	}
	return nil
}

// role is n's role as a surviving node sees it ("master" or "slave"), and for
// a replica its master's id.
func (c *cluster) role(ctx context.Context, from, n *node) (role, master string, err error) {
	rc := from.client()
	defer rc.Close()
	out, err := rc.ClusterNodes(ctx).Result()
	if err != nil {
		return "", "", err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[0] == n.id {
			flags := f[2]
			switch {
			case strings.Contains(flags, "master"):
				return "master", "", nil
			case strings.Contains(flags, "slave"):
				return "slave", f[3], nil
			}
			return flags, "", nil
		}
	}
	return "", "", fmt.Errorf("%s does not list node %s", from.addr(), n.id)
}

// waitFor polls ok on a fresh client of n every 50ms until it reports true or
// ctx ends; the error then says what was awaited.
func waitFor(ctx context.Context, what string, ok func(*redis.Client) (bool, error), n *node) error {
	rc := n.client()
	defer rc.Close()
	var last error
	for {
		done, err := ok(rc)
		if done && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("waiting for %s: %w", what, errors.Join(ctx.Err(), last))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logs returns the tail of every node's log, for a failure message.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, n := range c.nodes {
		data, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		lines = lines[max(0, len(lines)-8):]
		fmt.Fprintf(&b, "\n--- %s redis.log (tail):\n%s", n.addr(), strings.Join(lines, "\n"))
	}
	return b.String()
}

// url is the cluster's store URL: two seed nodes, a prefix of the test's own.
func (c *cluster) url(prefix string, extra ...string) string {
	u := "redis+cluster://" + c.nodes[0].addr() + "?addr=" + c.nodes[1].addr() + "&prefix=" + prefix
	for _, e := range extra {
		u += "&" + e
	}
	return u
}
