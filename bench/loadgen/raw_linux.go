package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Generators are the names of the generators that run here, the default
// first.
var Generators = []string{"raw", "nethttp"}

// rawTimeout bounds one request, like NewClient's Timeout.
const rawTimeout = 30 * time.Second

// Raw is the generator over raw keep-alive TCP connections, driven by one
// epoll loop on one thread: one connection per client and target, HTTP/1.1,
// each client's request bytes built once with only the idempotency key
// written per request (one write system call), and a response parser that
// reads what it needs (the status line, Content-Length, Transfer-Encoding:
// chunked, Connection: close) and keeps the body only when the receipt's
// execution is checked. Per request it costs a write, a recvmsg and a share
// of one epoll_wait, where a goroutine per client over net.Conn also pays a
// read that finds nothing yet and the scheduler's wake-up of the goroutine.
// A latency ends at the kernel's receive time of the answer (SO_TIMESTAMPNS),
// not when the loop gets to it.
//
// A connection the server closes is replaced by a new one. A request that
// fails on a reused connection before any byte of its answer arrives is sent
// once more on a new connection, as net/http's Transport does for requests
// with an Idempotency-Key (the server closed the idle connection).
// Connections stay open between runs (a warm-up run's serve the measured run)
// until Close. Runs of one Raw must not overlap.
type Raw struct {
	mu   sync.Mutex
	idle map[string][]*rawConn // by address
	br   *bufio.Reader         // the parser's, reset to each answer's bytes
	src  rawSource
}

// NewRaw returns a raw-connection generator.
func NewRaw() *Raw {
	g := &Raw{idle: map[string][]*rawConn{}}
	g.br = bufio.NewReaderSize(&g.src, rawReadBuffer)
	return g
}

// Close closes the connections kept between runs.
func (g *Raw) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.idle {
		for _, c := range l {
			_ = syscall.Close(c.fd)
		}
	}
	clear(g.idle)
}

// rawConn is one keep-alive connection.
type rawConn struct {
	addr string
	fd   int
	// used reports that the connection has carried an answer: a failure
	// before the first byte of the next one means the server closed it.
	used bool
	in   []byte // the answer's bytes read so far
	eof  bool
	// arrived is when the kernel received the last bytes read (Unix ns,
	// SO_TIMESTAMPNS), 0 when unknown.
	arrived int64
}

// rawClient is one client of a run.
type rawClient struct {
	id      int
	w       *worker
	targets []rawTarget // own copies: the key is written in place
	conns   []*rawConn  // per target
	cur     *rawConn    // carrying the request in flight, nil when none
	ti      int
	k       key
	t0      time.Time
	retried bool
	body    []byte
}

// rawRun is one run's loop state.
type rawRun struct {
	g       *Raw
	ctx     context.Context
	p       *plan
	epfd    int
	oob     [64]byte // control messages of recvmsg
	addrs   map[string]syscall.Sockaddr
	clients []*rawClient
}

// Run performs one load run over g's connections.
func (g *Raw) Run(ctx context.Context, cfg Config) (Result, error) {
	if err := validate(cfg); err != nil {
		return Result{}, err
	}
	r := &rawRun{g: g, ctx: ctx, addrs: map[string]syscall.Sockaddr{}}
	var targets []rawTarget
	for _, u := range cfg.Targets {
		t, err := newRawTarget(u, cfg.Body)
		if err != nil {
			return Result{}, err
		}
		if _, ok := r.addrs[t.addr]; !ok {
			sa, err := sockaddr(t.addr)
			if err != nil {
				return Result{}, err
			}
			r.addrs[t.addr] = sa
		}
		targets = append(targets, t)
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: epoll: %w", err)
	}
	defer syscall.Close(epfd)
	r.epfd = epfd
	p, err := newPlan(cfg)
	if err != nil {
		return Result{}, err
	}
	r.p = p
	for i, w := range p.workers {
		c := &rawClient{id: i, w: w, targets: make([]rawTarget, len(targets)), conns: make([]*rawConn, len(targets))}
		for j, t := range targets {
			c.targets[j] = rawTarget{addr: t.addr, req: append([]byte(nil), t.req...), keyAt: t.keyAt}
		}
		r.clients = append(r.clients, c)
	}
	r.loop()
	return p.result(ctx)
}

// loop sends every client's requests until the run is over and its answers
// are in.
func (r *rawRun) loop() {
	active := 0
	now := time.Now()
	for _, c := range r.clients {
		if r.start(c, now) {
			active++
		}
	}
	events := make([]syscall.EpollEvent, len(r.clients))
	lastScan := now
	for active > 0 {
		n, err := epollWait(r.epfd, events, 100)
		if err != nil && err != syscall.EINTR {
			break
		}
		if n == 0 {
			runtime.Gosched() // let the process's other goroutines in
		}
		now = time.Now()
		for _, ev := range events[:max(n, 0)] {
			c := r.clients[ev.Pad]
			if c.cur == nil || c.cur.fd != int(ev.Fd) {
				continue // a connection closed earlier in this batch
			}
			if r.readable(c, now) {
				active--
			}
		}
		if r.ctx.Err() != nil {
			break
		}
		if now.Sub(lastScan) > time.Second {
			lastScan = now
			for _, c := range r.clients {
				if c.cur != nil && now.Sub(c.t0) > rawTimeout {
					c.w.errors++
					r.drop(c)
					if !r.start(c, now) {
						active--
					}
				}
			}
		}
	}
	// Keep the connections with nothing in flight for the next run.
	for _, c := range r.clients {
		for ti, conn := range c.conns {
			if conn == nil {
				continue
			}
			if conn == c.cur || r.ctx.Err() != nil {
				_ = syscall.Close(conn.fd)
			} else {
				r.g.put(conn)
			}
			c.conns[ti] = nil
		}
		c.cur = nil
	}
}

// start sends c's next request; false when c has none left. A request that
// cannot be sent counts as an error, and the next one is tried.
func (r *rawRun) start(c *rawClient, now time.Time) bool {
	for {
		n, k, ok := r.p.next(r.ctx, c.w, now)
		if !ok {
			return false
		}
		c.k, c.ti, c.t0, c.retried = k, int(n%uint64(len(c.targets))), now, false
		t := &c.targets[c.ti]
		copy(t.req[t.keyAt:], k[:])
		if r.send(c) {
			return true
		}
		c.w.errors++
		now = time.Now()
	}
}

// send writes c's request on its connection to the target, retrying once on
// a new connection when a reused one fails.
func (r *rawRun) send(c *rawClient) bool {
	for {
		conn := c.conns[c.ti]
		if conn == nil {
			var err error
			if conn, err = r.conn(c); err != nil {
				return false
			}
		}
		c.cur = conn
		if err := writeAll(conn.fd, c.targets[c.ti].req); err == nil {
			return true
		}
		reused := conn.used
		r.drop(c)
		if !reused || c.retried {
			return false
		}
		c.retried = true
	}
}

// readable reads what arrived for c's request; when its answer is complete it
// records it and starts the next request. It reports whether c has no
// request left.
func (r *rawRun) readable(c *rawClient, now time.Time) bool {
	conn := c.cur
	for !conn.eof {
		if cap(conn.in)-len(conn.in) < 4096 {
			conn.in = append(conn.in[:cap(conn.in)], make([]byte, max(8192, cap(conn.in)))...)[:len(conn.in)]
		}
		free := conn.in[len(conn.in):cap(conn.in)]
		m, ts, err := rawRecv(conn.fd, free, &r.oob)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			break
		}
		if err != nil || m == 0 {
			conn.eof = true
			break
		}
		conn.in = conn.in[:len(conn.in)+m]
		if ts > 0 {
			conn.arrived = ts
		}
		if m < len(free) {
			break
		}
	}
	r.g.src = rawSource{data: conn.in, eof: conn.eof}
	r.g.br.Reset(&r.g.src)
	status, body, closeConn, err := readResponse(r.g.br, r.p.check, c.body[:0])
	if errors.Is(err, errMore) {
		return false // wait for the rest
	}
	if err != nil {
		if conn.used && len(conn.in) == 0 && !c.retried {
			// The server closed the idle connection: once more on a new one.
			c.retried = true
			r.drop(c)
			if r.send(c) {
				return false
			}
		} else {
			r.drop(c)
		}
		c.w.errors++
		return !r.start(c, now)
	}
	if body != nil {
		c.body = body
	}
	// The answer's latency ends when the kernel received it, not when the
	// loop got to it (after the answers before it in the same wake-up).
	end := now
	if conn.arrived > 0 {
		if at := time.Unix(0, conn.arrived); at.After(c.t0) && at.Before(now) {
			end = c.t0.Add(at.Sub(c.t0)) // keeps t0's monotonic reading
		}
	}
	r.p.answered(c.w, &c.k, c.t0, end, status, body)
	conn.in, conn.arrived = conn.in[:0], 0
	if closeConn {
		r.drop(c)
	} else {
		conn.used = true
	}
	c.cur = nil
	return !r.start(c, now)
}

// conn returns an idle connection to c's target or a new one, registered
// with the run's epoll for c.
func (r *rawRun) conn(c *rawClient) (*rawConn, error) {
	addr := c.targets[c.ti].addr
	conn := r.g.get(addr)
	if conn == nil {
		fd, err := dial(r.addrs[addr])
		if err != nil {
			return nil, err
		}
		conn = &rawConn{addr: addr, fd: fd}
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(conn.fd), Pad: int32(c.id)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, conn.fd, &ev); err != nil {
		_ = syscall.Close(conn.fd)
		return nil, err
	}
	c.conns[c.ti] = conn
	return conn, nil
}

// drop closes c's current connection.
func (r *rawRun) drop(c *rawClient) {
	if c.cur == nil {
		return
	}
	_ = syscall.Close(c.cur.fd) // also leaves the epoll set
	for i, conn := range c.conns {
		if conn == c.cur {
			c.conns[i] = nil
		}
	}
	c.cur = nil
}

func (g *Raw) get(addr string) *rawConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.idle[addr]
	if len(l) == 0 {
		return nil
	}
	c := l[len(l)-1]
	g.idle[addr] = l[:len(l)-1]
	return c
}

func (g *Raw) put(c *rawConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.in, c.eof = c.in[:0], false
	g.idle[c.addr] = append(g.idle[c.addr], c)
}

// sockaddr resolves a host:port.
func sockaddr(addr string) (syscall.Sockaddr, error) {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if ip4 := a.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	}
	sa := &syscall.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	return sa, nil
}

// dial connects a TCP socket to sa (blocking, at most rawTimeout) and makes
// it non-blocking, without Nagle's delay.
func dial(sa syscall.Sockaddr) (int, error) {
	family := syscall.AF_INET
	if _, ok := sa.(*syscall.SockaddrInet6); ok {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	tv := syscall.NsecToTimeval(rawTimeout.Nanoseconds())
	if err = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err == nil {
		if err = syscall.Connect(fd, sa); err == nil {
			if err = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err == nil {
				err = syscall.SetNonblock(fd, true)
			}
			// Receive times, for latencies that end when the answer arrived.
			_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		}
	}
	if err != nil {
		_ = syscall.Close(fd)
		return -1, fmt.Errorf("loadgen: connect: %w", err)
	}
	return fd, nil
}

// writeAll writes b to the non-blocking fd, waiting (poll) when its send
// buffer is full.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := rawWrite(fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			pfd := pollFd{fd: int32(fd), events: 0x4} // POLLOUT
			if _, _, e := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(rawTimeout.Milliseconds())); e != 0 && e != syscall.EINTR {
				return e
			}
			continue
		case err != nil:
			return err
		case n == 0:
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// The loop's system calls are raw: they do not tell the Go scheduler, so the
// loop keeps its thread's P while epoll_wait blocks. With an ordinary
// syscall and GOMAXPROCS=1 (the benchmark pins this process to one CPU) the
// scheduler's monitor takes the P from every wait longer than 20 µs and then
// polls every 20 µs itself, which cost the generator about 12% of its CPU
// (perf). The price: while the loop waits (at most 100 ms), no other
// goroutine of a one-P process runs.

func epollWait(epfd int, events []syscall.EpollEvent, msec int) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawRecv reads into b and returns the kernel's receive time of the data
// (SCM_TIMESTAMPNS, Unix ns; 0 when there is none).
func rawRecv(fd int, b []byte, oob *[64]byte) (int, int64, error) {
	iov := syscall.Iovec{Base: &b[0]}
	iov.SetLen(len(b))
	msg := syscall.Msghdr{Iov: &iov, Iovlen: 1, Control: &oob[0]}
	msg.SetControllen(len(oob))
	n, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), 0)
	if e != 0 {
		return 0, 0, e
	}
	var ts int64
	const hdr = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	for off := 0; off+hdr <= int(msg.Controllen); {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[off]))
		if h.Len < uint64(hdr) || off+int(h.Len) > int(msg.Controllen) {
			break
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SO_TIMESTAMPNS && int(h.Len) >= hdr+16 {
			t := (*syscall.Timespec)(unsafe.Pointer(&oob[off+hdr]))
			ts = t.Nano()
		}
		off += (int(h.Len) + 7) &^ 7
	}
	return int(n), ts, nil
}

func rawWrite(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
