package socketio

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/types"
)

// chunkReader returns data a few bytes at a time, then err (io.EOF when
// nil), as gorilla's message reader returns a message frame by frame.
type chunkReader struct {
	data  []byte
	chunk int
	err   error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// readFrame returns a message whole, in a slice of its own length, at
// sizes around the pooled buffer's and past the largest it keeps, and
// hands on a failed read's error.
func TestReadFrameReadsAMessageIntoASliceOfItsSize(t *testing.T) {
	tests := []struct {
		size, chunk int
		err         error
	}{
		{size: 0, chunk: 1},
		{size: 1, chunk: 1},
		{size: 300, chunk: 7},
		{size: 2047, chunk: 512},
		{size: 2048, chunk: 2048},
		{size: 2049, chunk: 100},
		{size: 48 << 10, chunk: 4096},
		{size: maxPooledFrame + 1, chunk: 1 << 20},
		{size: 500, chunk: 64, err: websocket.ErrReadLimit},
	}
	for _, tc := range tests {
		data := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
		for range 2 { // the second time with a buffer the pool kept
			got, err := readFrame(&chunkReader{data: data, chunk: tc.chunk, err: tc.err})
			if tc.err != nil {
				if !errors.Is(err, tc.err) || got != nil {
					t.Errorf("size %d: %d bytes, error %v; want none and %v", tc.size, len(got), err, tc.err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, data) || cap(got) != len(data) {
				t.Errorf("size %d, chunks of %d: %d bytes (cap %d), error %v; want the %d bytes in a slice of their size", tc.size, tc.chunk, len(got), cap(got), err, len(data))
			}
		}
	}
}

// onMessage hands the engine the packet the library's parser makes of
// the same message (its OnData), for every packet type, a binary packet
// in base64, an unknown type, an empty message, a binary message, and on
// protocol 3, where the parser alone reads the packets.
func TestOnMessageMakesTheParsersPacket(t *testing.T) {
	tests := []struct {
		name    string
		eio     string
		mt      int
		message string
	}{
		{"message", "4", websocket.TextMessage, `42["signal",{"to":"x","data":{}}]`},
		{"message, empty", "4", websocket.TextMessage, "4"},
		{"open", "4", websocket.TextMessage, "0"},
		{"close", "4", websocket.TextMessage, "1"},
		{"ping probe", "4", websocket.TextMessage, "2probe"},
		{"pong", "4", websocket.TextMessage, "3"},
		{"upgrade", "4", websocket.TextMessage, "5"},
		{"noop", "4", websocket.TextMessage, "6"},
		{"binary in base64", "4", websocket.TextMessage, "bAAEC"},
		{"unknown type", "4", websocket.TextMessage, "9x"},
		{"empty", "4", websocket.TextMessage, ""},
		{"binary", "4", websocket.BinaryMessage, "\x00\x01\x02"},
		{"protocol 3 message", "3", websocket.TextMessage, `42["chat-message",{"message":"hi"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := unconnectedTransport(tc.eio)
			var got []*packet.Packet
			_ = w.On("packet", func(args ...any) { got = append(got, args[0].(*packet.Packet)) })

			w.onMessage(tc.mt, []byte(tc.message))

			var in types.BufferInterface = types.NewStringBuffer([]byte(tc.message))
			if tc.mt == websocket.BinaryMessage {
				in = types.NewBytesBuffer([]byte(tc.message))
			}
			want, _ := w.Parser().DecodePacket(in)
			if len(got) != 1 {
				t.Fatalf("%d packets, want 1", len(got))
			}
			if got[0].Type != want.Type || reflect.TypeOf(got[0].Data) != reflect.TypeOf(want.Data) || content(got[0].Data) != content(want.Data) {
				t.Errorf("packet %s %T %q; the parser's: %s %T %q", got[0].Type, got[0].Data, content(got[0].Data), want.Type, want.Data, content(want.Data))
			}
		})
	}
}

// content is a packet's data as text ("" for none).
func content(data io.Reader) string {
	if data == nil || reflect.ValueOf(data).IsNil() {
		return ""
	}
	if b, ok := data.(interface{ Bytes() []byte }); ok {
		return string(b.Bytes())
	}
	var sb strings.Builder
	_, _ = io.Copy(&sb, data)
	return sb.String()
}
