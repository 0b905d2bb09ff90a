package bench

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a small TCP load balancer in front of server instances, as in
// e2e/lib/proxy.mjs: every new connection goes to the current target, as
// a load balancer sends new connections to the instances in rotation;
// Retarget takes an instance out of rotation before it is stopped, as a
// rolling deploy does. A connection ends on both sides when either side
// ends it.
type Proxy struct {
	ln     net.Listener
	target atomic.Pointer[string]
	// Accepted counts the connections taken, Refused those whose target
	// did not answer (closed at once: the client sees a failed dial).
	accepted, refused atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy listens on a free loopback port and sends new connections to
// target (host:port).
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.Retarget(target)
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// URL is the proxy's http://127.0.0.1:port.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Retarget sends new connections to target (host:port) from now on; those
// open stay where they are.
func (p *Proxy) Retarget(target string) { p.target.Store(&target) }

// Accepted and Refused count the connections taken, and those whose target
// did not answer.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Refused: see Accepted.
func (p *Proxy) Refused() int64 { return p.refused.Load() }

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.pipe(client, *p.target.Load())
	}
}

// pipe joins client to a fresh connection to target until either ends.
func (p *Proxy) pipe(client net.Conn, target string) {
	defer p.wg.Done()
	upstream, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		p.refused.Add(1)
		_ = client.Close()
		return
	}
	if !p.track(client, upstream) {
		_ = client.Close()
		_ = upstream.Close()
		return
	}
	var once sync.Once
	end := func() {
		once.Do(func() {
			_ = client.Close()
			_ = upstream.Close()
			p.untrack(client, upstream)
		})
	}
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); _, _ = io.Copy(upstream, client); end() }()
	go func() { defer both.Done(); _, _ = io.Copy(client, upstream); end() }()
	both.Wait()
}

// track registers an open pair; false once the proxy is closing.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// Close stops accepting, cuts every open connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}
