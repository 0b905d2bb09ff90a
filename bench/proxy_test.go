package bench

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echoNamed answers every line with its name and the line.
func echoNamed(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, name+" "+line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, msg string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return line
}

// TestProxy: new connections go to the current target, open ones stay
// where they are; a target that does not answer is a closed connection;
// Close cuts what is open.
func TestProxy(t *testing.T) {
	a, b := echoNamed(t, "a"), echoNamed(t, "b")
	p, err := StartProxy(a)
	if err != nil {
		t.Fatal(err)
	}
	addr := p.ln.Addr().String()
	c1, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	r1 := bufio.NewReader(c1)
	if got := roundTrip(t, c1, r1, "x"); got != "a x\n" {
		t.Errorf("first connection: %q", got)
	}
	p.Retarget(b)
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := roundTrip(t, c2, bufio.NewReader(c2), "y"); got != "b y\n" {
		t.Errorf("after retarget: %q", got)
	}
	if got := roundTrip(t, c1, r1, "z"); got != "a z\n" {
		t.Errorf("the open connection after retarget: %q", got)
	}

	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Retarget(gone.Addr().String())
	_ = gone.Close()
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	_ = c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c3.Read(make([]byte, 1)); err == nil {
		t.Errorf("a connection to a target that is gone read %d bytes", n)
	}
	if p.Accepted() != 3 || p.Refused() != 1 {
		t.Errorf("accepted %d refused %d, want 3 and 1", p.Accepted(), p.Refused())
	}

	p.Close()
	_ = c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r1.ReadString('\n'); err == nil {
		t.Error("a connection survived Close")
	}
}
