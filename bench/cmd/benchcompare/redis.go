package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// privateRedis is a redis-server this run started for itself: the load and
// round-trip figures then measure our traffic alone, and INFO commandstats
// deltas attribute the server's time to it.
type privateRedis struct {
	addr string
	cmd  *exec.Cmd
}

// startRedis starts `redis-server` (from PATH) on a free loopback port, with
// persistence off, and waits until it answers.
func startRedis(ctx context.Context, dir string) (*privateRedis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.CommandContext(ctx, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning")
	// Its log (startup banner, kernel tuning warnings) is not ours to show.
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &privateRedis{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := c.Ping(ctx).Err(); err == nil {
			return r, nil
		} else if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s: %w", r.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *privateRedis) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// cmdStat is one command's cumulative INFO commandstats entry.
type cmdStat struct {
	calls int64
	usec  int64
}

// commandStats reads INFO commandstats of the Redis at addr.
func commandStats(ctx context.Context, addr string) (map[string]cmdStat, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, err
	}
	return parseCommandStats(info), nil
}

// parseCommandStats parses lines like
// "cmdstat_evalsha:calls=10,usec=360,usec_per_call=36.00,...".
func parseCommandStats(info string) map[string]cmdStat {
	out := map[string]cmdStat{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var s cmdStat
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				s.calls = n
			case "usec":
				s.usec = n
			}
		}
		out[strings.ToUpper(strings.TrimPrefix(name, "cmdstat_"))] = s
	}
	return out
}

// serverMicros returns the Redis server time spent between two snapshots in
// the commands the clients sent (wire: the commands counted on the wire, by
// name). The other entries are left out: the measurement's own INFO, and the
// commands that scripts run, whose time commandstats counts twice, in the
// script's EVALSHA and again under their own names.
func serverMicros(before, after map[string]cmdStat, wire map[string]int) int64 {
	var us int64
	for name, a := range after {
		if _, sent := wire[name]; !sent || name == "INFO" {
			continue
		}
		us += a.usec - before[name].usec
	}
	return us
}

// cpuNanos returns the redis-server process's user+system CPU time (INFO cpu),
// to charge its work per request to the contender that caused it.
func (r *privateRedis) cpuNanos(ctx context.Context) (int64, error) {
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	return parseCPUInfo(info)
}

// parseCPUInfo sums used_cpu_sys and used_cpu_user (seconds, with
// microseconds) of an INFO cpu reply into nanoseconds.
func parseCPUInfo(info string) (int64, error) {
	var ns int64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO cpu %s: %q", k, v)
		}
		ns += int64(sec * 1e9)
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("INFO cpu: no used_cpu_sys and used_cpu_user")
	}
	return ns, nil
}
