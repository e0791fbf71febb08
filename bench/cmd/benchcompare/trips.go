package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"

	"github.com/idemgen/idemgen/bench/contender"
	"github.com/idemgen/idemgen/bench/loadgen"
	"github.com/idemgen/idemgen/bench/report"
	"github.com/idemgen/idemgen/bench/wirecount"
	"github.com/idemgen/idemgen/bench/workload"
)

// tripRequests is how many first requests (and as many replays) are counted.
const tripRequests = 50

// runTrips counts, for each contender with a Redis or PostgreSQL store, the
// store messages per first request and per replay, through a counting proxy.
//
// privateServer says that redisAddr is a redis-server of this run alone.
func runTrips(ctx context.Context, contenders []string, redisAddr, redisDB string, privateServer bool, pgAddr, pgPath string, doc *report.Doc) {
	for _, name := range contenders {
		info, ok := contender.Lookup(name)
		if !ok || (info.Store != "redis" && info.Store != "postgres") {
			continue
		}
		row, err := measureTrips(ctx, name, info.Store, redisAddr, redisDB, privateServer, pgAddr, pgPath)
		if err != nil {
			doc.Notes = append(doc.Notes, fmt.Sprintf("round trips of %s: %v", name, err))
			continue
		}
		doc.Trips = append(doc.Trips, row)
	}
}

func measureTrips(ctx context.Context, name, store, redisAddr, redisDB string, privateServer bool, pgAddr, pgPath string) (report.TripRow, error) {
	row := report.TripRow{Contender: name, Store: store}
	var (
		proxy *wirecount.Proxy
		env   contender.Env
		err   error
	)
	if store == "redis" {
		proxy, err = wirecount.Listen(redisAddr, wirecount.RESP)
		if err != nil {
			return row, err
		}
		env.RedisURL = "redis://" + proxy.Addr() + "/" + redisDB
	} else {
		proxy, err = wirecount.Listen(pgAddr, wirecount.PostgreSQL)
		if err != nil {
			return row, err
		}
		env.PostgresURL = "postgres://postgres@" + proxy.Addr() + pgPath
	}
	defer proxy.Close()
	c, err := startChild(ctx, name, "trips", env, -1)
	if err != nil {
		return row, err
	}
	defer c.stop()
	body, err := workload.Body(1024)
	if err != nil {
		return row, err
	}
	client := loadgen.NewClient(1)
	defer client.CloseIdleConnections()
	run := rand.Uint32()
	send := func(n uint64) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(workload.KeyHeader, loadgen.Key(run, n))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("key %d: status %d, want 201", n, resp.StatusCode)
		}
		return nil
	}
	// Warm up: connections, prepared statements, script loads.
	for n := range uint64(5) {
		if err := send(1_000_000 + n); err != nil {
			return row, err
		}
		if err := send(1_000_000 + n); err != nil {
			return row, err
		}
	}
	// Redis's own time (INFO commandstats) is attributed to us only on a
	// private redis-server that nobody else uses.
	stats := store == "redis" && privateServer
	measure := func() (map[string]int, float64, error) {
		var before map[string]cmdStat
		if stats {
			if before, err = commandStats(ctx, redisAddr); err != nil {
				return nil, 0, err
			}
		}
		proxy.Reset()
		for n := range uint64(tripRequests) {
			if err := send(n); err != nil {
				return nil, 0, err
			}
		}
		counts := proxy.Counts()
		if !stats {
			return counts, 0, nil
		}
		after, err := commandStats(ctx, redisAddr)
		if err != nil {
			return nil, 0, err
		}
		return counts, float64(serverMicros(before, after, counts)) / tripRequests, nil
	}
	first, firstUS, err := measure()
	if err != nil {
		return row, err
	}
	replay, replayUS, err := measure()
	if err != nil {
		return row, err
	}
	row.FirstServerMicros, row.ReplayServerMicros = firstUS, replayUS
	row.First, row.FirstRoundTrips, row.FirstDetail = perRequest(store, first)
	row.Replay, row.ReplayRoundTrips, row.ReplayDetail = perRequest(store, replay)
	return row, nil
}

// perRequest turns message counts into per-request figures: commands (Redis,
// one round trip each unless pipelined) or statements and round trips
// (PostgreSQL: Query + Execute, Query + Sync).
func perRequest(store string, counts map[string]int) (msgs, trips float64, detail string) {
	n := float64(tripRequests)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(counts[k])/n))
	}
	detail = strings.Join(parts, ", ")
	if store == "redis" {
		total := 0
		for _, v := range counts {
			total += v
		}
		return float64(total) / n, float64(total) / n, detail
	}
	return float64(counts["Query"]+counts["Execute"]) / n, float64(counts["Query"]+counts["Sync"]) / n, detail
}
