package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

func (c *Client) failAcks() {
	c.ackMu.Lock()
	cbs := make([]func(json.RawMessage, bool), 0, len(c.acks))
	for id, cb := range c.acks {
		cbs = append(cbs, cb)
		delete(c.acks, id)
	}
	c.ackMu.Unlock()
	for _, cb := range cbs {
		cb(nil, false)
	}
}

// Emit sends the event name with one argument (none when arg is nil).
func (c *Client) Emit(name string, arg any) error {
	return c.emit(name, arg, 0, false)
}

// EmitAck sends the event with an ack id and waits for the server's ack,
// returning its arguments as a JSON array; ctx bounds the wait. Not from a
// Handler: the ack is read by the goroutine that runs handlers.
func (c *Client) EmitAck(ctx context.Context, name string, arg any) (json.RawMessage, error) {
	ch := make(chan json.RawMessage, 1)
	id := c.addAck(func(r json.RawMessage, ok bool) {
		if ok {
			ch <- r
		} else {
			close(ch)
		}
	})
	if err := c.emit(name, arg, id, true); err != nil {
		c.dropAck(id)
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("ack %s: connection closed", name)
		}
		return r, nil
	case <-ctx.Done():
		c.dropAck(id)
		return nil, fmt.Errorf("ack %s: %w", name, ctx.Err())
	}
}

// EmitCallback sends the event with an ack id; cb runs on the reader
// goroutine, in order with the events, when the ack arrives (ok true) or the
// connection ends first (ok false).
func (c *Client) EmitCallback(name string, arg any, cb func(args json.RawMessage, ok bool)) error {
	id := c.addAck(cb)
	if err := c.emit(name, arg, id, true); err != nil {
		c.dropAck(id)
		return err
	}
	return nil
}

func (c *Client) addAck(cb func(json.RawMessage, bool)) uint64 {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	c.ackID++
	c.acks[c.ackID] = cb
	return c.ackID
}

func (c *Client) dropAck(id uint64) {
	c.ackMu.Lock()
	delete(c.acks, id)
	c.ackMu.Unlock()
}

func (c *Client) emit(name string, arg any, id uint64, withID bool) error {
	var payload []byte
	if arg != nil {
		var err error
		if raw, ok := arg.(json.RawMessage); ok {
			payload = raw
		} else if payload, err = json.Marshal(arg); err != nil {
			return fmt.Errorf("emit %s: marshal: %w", name, err)
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := append(c.wbuf[:0], '4', '2')
	if withID {
		b = strconv.AppendUint(b, id, 10)
	}
	b = append(b, '[')
	b = strconv.AppendQuote(b, name)
	if payload != nil {
		b = append(b, ',')
		b = append(b, payload...)
	}
	b = append(b, ']')
	c.wbuf = b
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("emit %s: %w", name, err)
	}
	return nil
}
