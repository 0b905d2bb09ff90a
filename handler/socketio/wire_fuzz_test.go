package socketio

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets of the wire: go test runs their seeds (f.Add and
// testdata/fuzz/<Target>/) as ordinary tests; make fuzz-short and make fuzz
// run the fuzzer on each. Each asserts what must hold of every input, not
// only that nothing panics.

// wireSeeds are Socket.IO packets as they come inside Engine.IO's message
// "4": the frames of the contract, and the attacks of the README's abuse
// list (testdata/fuzz/FuzzDecoder has the large ones).
var wireSeeds = []string{
	`0`,
	`0{"token":"x"}`,
	`0/,{"a":1}`,
	`0/other,`,
	`1`,
	`2["join-queue",{"name":"Ana","gender":"f","region":"eu","interests":["music"]}]`,
	`21["join-queue",{"name":"a"}]`,
	`2["next"]`,
	`2["leave-queue"]`,
	`23["signal",{"to":"abc","data":{"type":"offer","sdp":{"type":"offer","sdp":"v=0\r\n"}}}]`,
	`2["chat-message",{"message":"hi \u202e there"}]`,
	`24["report",{"reason":"spam"}]`,
	`2/,7["chat-message",{"message":"hi"}]`,
	`2/other,["next"]`,
	`30[{"ok":true}]`,
	`3/,5["x"]`,
	`31`,
	`2`,
	`42`, // Engine.IO's message 4 left in: an event the library would panic on
	`21`,
	`2[]`,
	`2null`,
	`2["disconnect"]`,
	`2["connect_error"]`,
	"2[\"signal\",{\"data\":\"\xff\"}]",
	`299999999999999999999["next"]`,
	`451000000-["x",{"_placeholder":true,"num":0}]`,
	`51-["x",{"_placeholder":true,"num":0}]`,
	`61-[{"_placeholder":true,"num":0}]`,
	`2["signal",{"to":"x","data":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}]`,
	`2["x","\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]`,
	`0` + strings.Repeat("{\"a\":", 33) + `1` + strings.Repeat("}", 33),
	`2["next",` + strings.Repeat(`"x",`, 100) + `1]`,
}

// FuzzDecoder feeds one packet to a decoder, connected to the namespace or
// not. Whatever the packet: no panic; a refused packet reaches neither the
// handler nor the library; binary packets are refused; an event handed
// over has a name that is not reserved, and unless refused for its nesting
// its arguments are JSON that encoding/json (a browser's JSON.parse) takes,
// nested at most maxNesting levels, and its frame encoded again is
// accepted again as the same event.
func FuzzDecoder(f *testing.F) {
	for _, s := range wireSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, frame string, connect bool) {
		d := newDecoderUnderTest(t, connect)
		err := d.Add(frame)
		if err != nil {
			if len(d.events) > 0 || len(d.library) > 0 {
				t.Fatalf("refused (%v), yet %d events handed over and %d packets to the library", err, len(d.events), len(d.library))
			}
			return
		}
		if len(frame) > 0 && (frame[0] == '5' || frame[0] == '6') {
			t.Fatalf("binary packet %q accepted", frame)
		}
		if !connect && len(d.events) > 0 {
			t.Fatalf("event %q handed over before the namespace connect", d.events[0].Name)
		}
		if len(d.events)+len(d.library) > 1 {
			t.Fatalf("one packet, %d events and %d library packets", len(d.events), len(d.library))
		}
		for _, ev := range d.events {
			checkEvent(t, ev)
		}
	})
}

// checkEvent asserts what holds of every event handed to the handler.
func checkEvent(t *testing.T, ev Event) {
	t.Helper()
	if ev.Refused != "" {
		if ev.Name != "" || ev.Args != nil {
			t.Fatalf("refused event read anyway: %q %v", ev.Name, ev.Args)
		}
		return
	}
	if reserved(ev.Name) {
		t.Fatalf("reserved name %q handed over", ev.Name)
	}
	if !utf8.ValidString(ev.Name) {
		t.Fatalf("name %q is not UTF-8", ev.Name)
	}
	again := encodeEvent(ev)
	depth, err := jsonDepth(again[strings.IndexByte(again, '['):])
	if err != nil {
		t.Fatalf("arguments %q are not JSON to encoding/json: %v", again, err)
	}
	if depth > maxNesting {
		t.Fatalf("event nested %d levels handed over (limit %d): %q", depth, maxNesting, again)
	}
	d := newDecoderUnderTest(t, true)
	if err := d.Add(again); err != nil {
		t.Fatalf("event %q encoded again as %q: refused: %v", ev.Name, again, err)
	}
	if len(d.events) != 1 {
		t.Fatalf("%q encoded again: %d events", again, len(d.events))
	}
	if got, want := describe(d.events[0]), describe(ev); got != want {
		t.Fatalf("encoded again as %q: %s, want %s", again, got, want)
	}
	// Each argument relayed in a frame of the server's (a signal's data
	// goes out as it came) is one the partner's client decodes.
	for _, a := range ev.Args {
		relay := string(NewFrame("relay", `{"data":`, a.Raw, `}`).b)
		d := newDecoderUnderTest(t, true)
		if err := d.Add(relay); err != nil || len(d.events) != 1 || describe(d.events[0]) != `relay [{"data":`+a.Raw+`}]` {
			t.Fatalf("relay frame %q: %v, %d events", relay, err, len(d.events))
		}
	}
}

// encodeEvent is the event packet a client would send for ev.
func encodeEvent(ev Event) string {
	var b strings.Builder
	b.WriteByte('2')
	if ev.WantsAck {
		b.WriteString(strconv.FormatUint(ev.AckID, 10))
	}
	name, _ := json.Marshal(ev.Name)
	b.WriteByte('[')
	b.Write(name)
	for _, a := range ev.Args {
		b.WriteByte(',')
		b.WriteString(a.Raw)
	}
	b.WriteByte(']')
	return b.String()
}

// jsonDepth returns how deeply the JSON text s nests arrays and objects,
// as encoding/json reads it: an account independent of nestedDeeper's.
func jsonDepth(s string) (int, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	depth, top := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				return 0, io.ErrUnexpectedEOF
			}
			return top, nil
		}
		if err != nil {
			return 0, err
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			top = max(top, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

// FuzzNesting checks the nesting bound. On valid JSON, nestedDeeper agrees
// with encoding/json's count; and whatever a client puts inside 33 levels,
// in any packet, is refused: an event of the default namespace is handed
// over refused, unread; any other packet closes the connection.
func FuzzNesting(f *testing.F) {
	for _, s := range []string{
		`1`, `"x"`, `[]`, `{"a":[1,{"b":"]]]]"}]}`, `"\"[[["`, `]]]]`, `"`, `\`, `[[[`,
		strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
		strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
		strings.Repeat(`{"a":`, maxNesting+1) + "0" + strings.Repeat("}", maxNesting+1),
	} {
		f.Add([]byte(s))
	}
	deep := strings.Repeat("[", maxNesting)
	shut := strings.Repeat("]", maxNesting)
	f.Fuzz(func(t *testing.T, b []byte) {
		if depth, err := jsonDepth(string(b)); err == nil && json.Valid(b) {
			if got, want := nestedDeeper(b, maxNesting), depth > maxNesting; got != want {
				t.Fatalf("nestedDeeper(%q) = %v, but it nests %d levels", b, got, depth)
			}
		}
		if !nestedDeeper([]byte("["+deep+string(b)), maxNesting) {
			t.Fatalf("%d levels, then %q: not refused", maxNesting+1, b)
		}
		inner := deep + string(b) + shut
		ev, err := decodeEvent([]byte(`2["signal",` + inner + `]`))
		if err != nil || ev.Refused == "" || ev.Name != "" {
			t.Fatalf("event nested over %d levels: %+v, %v", maxNesting, ev, err)
		}
		for _, frame := range []string{`2/,["signal",` + inner + `]`, `31[` + inner + `]`, `0` + inner} {
			d := newDecoderUnderTest(t, frame[0] != '0')
			if err := d.Add(frame); err == nil || len(d.library) > 0 || len(d.events) > 0 {
				t.Fatalf("%q: error %v, %d library packets, %d events", frame, err, len(d.library), len(d.events))
			}
		}
		// A payload inside the bound is not refused for its depth.
		if depth, err := jsonDepth(string(b)); err == nil && json.Valid(b) && utf8.Valid(b) && depth <= maxNesting-1 {
			ev, err := decodeEvent([]byte(`2["signal",` + string(b) + `]`))
			if err != nil || ev.Refused != "" {
				t.Fatalf("event nested %d levels refused: %+v, %v", depth+1, ev, err)
			}
		}
	})
}
