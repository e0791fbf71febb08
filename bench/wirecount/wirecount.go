// Package wirecount counts what clients send to Redis and PostgreSQL, by
// standing between them as a loopback TCP proxy and parsing the client side of
// the protocol (RESP commands; PostgreSQL frontend messages). It counts only
// the traffic of the processes pointed at the proxy, unlike server-wide
// statistics (INFO commandstats, pg_stat_statements) that other users of the
// same server disturb.
package wirecount

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"sync"
)

// Protocol parses one client-to-server byte stream and reports each message.
type Protocol func(r *bufio.Reader, count func(name string)) error

// Proxy forwards loopback connections to an upstream server and counts the
// client's messages by name (a Redis command such as "EVALSHA", or a
// PostgreSQL message such as "Execute").
type Proxy struct {
	ln       net.Listener
	upstream string
	protocol Protocol

	mu     sync.Mutex
	counts map[string]int
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// Listen starts a proxy on 127.0.0.1 for upstream (host:port).
func Listen(upstream string, protocol Protocol) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("wirecount: %w", err)
	}
	p := &Proxy{ln: ln, upstream: upstream, protocol: protocol, counts: map[string]int{}, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Counts returns the messages counted since the last Reset, by name.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// Reset zeroes the counts.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.counts = map[string]int{}
	p.mu.Unlock()
}

// Close stops accepting, closes every proxied connection and waits for them.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) count(name string) {
	p.mu.Lock()
	p.counts[name]++
	p.mu.Unlock()
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

func (p *Proxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, true)
	p.track(server, true)
	defer func() {
		client.Close()
		server.Close()
		p.track(client, false)
		p.track(server, false)
	}()
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(client, server)
		client.Close()
		done <- struct{}{}
	}()
	go func() {
		// The parser reads what is forwarded; a parse error stops the counting
		// (it is reported as a message named "unparsed") but never the traffic.
		pr, pw := io.Pipe()
		go func() {
			if err := p.protocol(bufio.NewReader(pr), p.count); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
				p.count("unparsed")
			}
			_, _ = io.Copy(io.Discard, pr)
		}()
		_, _ = io.Copy(server, io.TeeReader(client, pw))
		pw.Close()
		server.Close()
		done <- struct{}{}
	}()
	<-done
	<-done
}
