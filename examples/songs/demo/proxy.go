package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// dropProxy is a loopback HTTP proxy that plays a flaky network: for the first
// drop requests it forwards the request to the server, reads the server's whole
// response (so the server has committed the work) and then closes the client's
// connection without answering. Later requests pass through.
type dropProxy struct {
	ln       net.Listener
	upstream string // host:port of the server
	drop     atomic.Int64
	dropped  atomic.Int64
	wg       sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]bool // open client connections, closed by Close
	closed bool
}

// startDropProxy listens on a free loopback port and forwards to upstream,
// dropping the responses of the first drop requests.
func startDropProxy(upstream string, drop int64) (*dropProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &dropProxy{ln: ln, upstream: upstream, conns: make(map[net.Conn]bool)}
	p.drop.Store(drop)
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// URL is the proxy's base URL.
func (p *dropProxy) URL() string { return "http://" + p.ln.Addr().String() }

// Dropped is how many responses the proxy swallowed.
func (p *dropProxy) Dropped() int64 { return p.dropped.Load() }

// Close stops accepting, closes the client connections (idle keep-alive ones
// would otherwise block forever in a read) and waits for their goroutines.
func (p *dropProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *dropProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed {
			// Accepted just as Close ran: Close did not see it.
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}()
	}
}

// handle forwards the requests of one client connection, one at a time, each
// over its own upstream connection.
func (p *dropProxy) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		resp, err := p.forward(req)
		if err != nil {
			return
		}
		if p.drop.Add(-1) >= 0 {
			// The server has answered, so the work is done; the client never
			// hears of it and sees the connection close.
			p.dropped.Add(1)
			return
		}
		err = resp.Write(c)
		if err != nil || resp.Close {
			return
		}
	}
}

// forward sends req to the upstream server and returns its complete response.
func (p *dropProxy) forward(req *http.Request) (*http.Response, error) {
	var d net.Dialer
	up, err := d.DialContext(context.Background(), "tcp", p.upstream)
	if err != nil {
		return nil, err
	}
	defer up.Close()
	req.RequestURI = ""
	req.Close = true
	if err := req.Write(up); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(up), req)
	if err != nil {
		return nil, err
	}
	// Read the whole body before the upstream connection closes.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Close = false
	return resp, nil
}
