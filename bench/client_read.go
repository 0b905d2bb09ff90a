package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			if !c.closed.Load() {
				c.errMu.Lock()
				c.err = fmt.Errorf("read: %w", err)
				c.errMu.Unlock()
			}
			c.failAcks()
			return
		}
		at := time.Now()
		if err := c.dispatch(msg, at); err != nil {
			c.errMu.Lock()
			c.err = err
			c.errMu.Unlock()
			_ = c.conn.Close()
			c.failAcks()
			return
		}
	}
}

func (c *Client) dispatch(msg []byte, at time.Time) error {
	if len(msg) == 0 {
		return errors.New("empty frame")
	}
	switch msg[0] {
	case '2': // ping
		c.pings.Add(1)
		if err := c.write([]byte("3")); err != nil {
			return fmt.Errorf("pong: %w", err)
		}
		return nil
	case '1': // close
		return errors.New("server closed the session")
	case '6', '3': // noop, pong
		return nil
	case '4':
	default:
		return fmt.Errorf("unknown engine.io packet %q", trunc(msg))
	}
	p := msg[1:]
	if len(p) == 0 {
		return errors.New("empty socket.io packet")
	}
	typ := p[0]
	p = p[1:]
	if len(p) > 0 && p[0] == '/' { // namespace other than "/"
		i := bytes.IndexByte(p, ',')
		if i < 0 {
			return fmt.Errorf("bad namespace in %q", trunc(msg))
		}
		p = p[i+1:]
	}
	var id uint64
	hasID := false
	for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
		id = id*10 + uint64(p[0]-'0')
		hasID = true
		p = p[1:]
	}
	switch typ {
	case '2': // EVENT
		var off string
		if c.PID != "" {
			// socket.io-client: with a pid, a last argument that is a
			// string is the event's offset.
			if rest, last, ok := cutLastString(p); ok {
				p, off = rest, last
				c.offset.Store(&off)
			}
		}
		ev, err := parseEvent(p)
		if err != nil {
			return fmt.Errorf("bad event %q: %w", trunc(msg), err)
		}
		ev.At, ev.Offset = at, off
		if h := c.handler.Load(); h != nil {
			(*h)(c, ev)
		}
		if hasID { // the server asked for an ack: answer with nothing
			return c.write(fmt.Appendf(nil, "43%d[]", id))
		}
		return nil
	case '3': // ACK
		if !hasID {
			return fmt.Errorf("ack without id %q", trunc(msg))
		}
		c.ackMu.Lock()
		cb := c.acks[id]
		delete(c.acks, id)
		c.ackMu.Unlock()
		if cb != nil {
			cb(json.RawMessage(bytes.Clone(p)), true)
		}
		return nil
	case '1': // DISCONNECT
		return errors.New("server disconnected the socket")
	case '4': // CONNECT_ERROR
		return fmt.Errorf("connect error %q", trunc(msg))
	default:
		return nil
	}
}

func trunc(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

// parseEvent splits the JSON array `["name",arg,...]` into the name and the
// first argument without decoding either (the hot path of every scenario);
// names with escapes go through encoding/json.
func parseEvent(p []byte) (Event, error) {
	if len(p) < 4 || p[0] != '[' || p[1] != '"' || p[len(p)-1] != ']' {
		return Event{}, errors.New("not an event array")
	}
	q := bytes.IndexByte(p[2:], '"')
	if q < 0 {
		return Event{}, errors.New("unterminated name")
	}
	if bytes.IndexByte(p[2:2+q], '\\') >= 0 {
		var args []json.RawMessage
		if err := json.Unmarshal(p, &args); err != nil || len(args) == 0 {
			return Event{}, fmt.Errorf("event array: %v", err)
		}
		var ev Event
		if err := json.Unmarshal(args[0], &ev.Name); err != nil {
			return Event{}, fmt.Errorf("event name: %w", err)
		}
		if len(args) > 1 {
			ev.Data = args[1]
		}
		return ev, nil
	}
	ev := Event{Name: string(p[2 : 2+q])}
	rest := bytes.TrimSpace(p[3+q : len(p)-1])
	if len(rest) == 0 {
		return ev, nil
	}
	if rest[0] != ',' {
		return Event{}, errors.New("no comma after the name")
	}
	rest = bytes.TrimSpace(rest[1:])
	end := valueEnd(rest)
	if end <= 0 {
		return Event{}, errors.New("bad first argument")
	}
	ev.Data = rest[:end]
	return ev, nil
}

// cutLastString splits the event array p (["name",arg,...]) into the array
// without its last argument and that argument, when there is one after
// the name and it is a JSON string; ok is false otherwise.
func cutLastString(p []byte) (rest []byte, last string, ok bool) {
	if len(p) < 2 || p[0] != '[' {
		return nil, "", false
	}
	// Walk the top-level elements: prevEnd is where the one before the
	// last ends.
	i, n := 1, 0
	prevEnd, lastStart, lastEnd := -1, -1, -1
	for {
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		e := valueEnd(p[i:])
		if e <= 0 {
			return nil, "", false
		}
		prevEnd, lastStart, lastEnd = lastEnd, i, i+e
		n++
		i += e
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if i >= len(p) {
			return nil, "", false
		}
		if p[i] == ']' {
			if i != len(p)-1 {
				return nil, "", false
			}
			break
		}
		if p[i] != ',' {
			return nil, "", false
		}
		i++
	}
	if n < 2 || p[lastStart] != '"' {
		return nil, "", false
	}
	if err := json.Unmarshal(p[lastStart:lastEnd], &last); err != nil {
		return nil, "", false
	}
	rest = append(bytes.Clone(p[:prevEnd]), ']')
	return rest, last, true
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// valueEnd returns the length of the JSON value at the start of b (an
// object, array, string or literal), or -1 when it is not terminated. It
// only tracks nesting and strings; encoding/json validates when the data is
// decoded.
func valueEnd(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	switch b[0] {
	case '{', '[':
		depth, inStr := 0, false
		for i := 0; i < len(b); i++ {
			switch c := b[i]; {
			case inStr && c == '\\':
				i++
			case c == '"':
				inStr = !inStr
			case inStr:
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	case '"':
		for i := 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	default:
		i := bytes.IndexAny(b, ",]} \t\r\n")
		if i < 0 {
			return len(b)
		}
		return i
	}
}
