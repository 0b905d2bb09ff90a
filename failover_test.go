package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/rawsocket"
	"github.com/zivro/zivro/internal/redisproc"
)

// awaitEvent reads frames until the event name arrives and returns its
// payload.
func awaitEvent(t *testing.T, s *rawsocket.Socket, name string) map[string]any {
	t.Helper()
	for {
		frame := s.Read()
		rest, ok := strings.CutPrefix(frame, `42["`+name+`",`)
		if !ok {
			continue
		}
		var payload map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSuffix(rest, "]")), &payload); err != nil {
			t.Fatalf("%s %q: %v", name, frame, err)
		}
		return payload
	}
}

// joinMatched joins s to the queue and returns its matched payload: the
// second of two users may be told of its pairing before its join's ack,
// which Call would skip.
func joinMatched(t *testing.T, s *rawsocket.Socket, profile string) map[string]any {
	t.Helper()
	id := s.Send("join-queue", profile)
	var matched map[string]any
	acked := false
	for !acked || matched == nil {
		frame := s.Read()
		if rest, ok := strings.CutPrefix(frame, "43"+id+"["); ok {
			if !strings.HasPrefix(rest, `{"ok":true`) {
				t.Fatalf("join: %s", frame)
			}
			acked = true
			continue
		}
		if rest, ok := strings.CutPrefix(frame, `42["matched",`); ok {
			if err := json.Unmarshal([]byte(strings.TrimSuffix(rest, "]")), &matched); err != nil {
				t.Fatalf("matched %q: %v", frame, err)
			}
		}
	}
	return matched
}

// Two servers on Sentinel (REDIS_MODE=sentinel) ride through a failover:
// while no primary answers, a join gets the usual "temporarily
// unavailable" ack; once the replica is promoted, joins go through on
// both, the two users are paired across the instances, and a signal
// relayed between them arrives (the relay resubscribed on the new
// primary).
func TestServersRideThroughASentinelFailover(t *testing.T) {
	g := redisproc.StartSentinel(t)
	env := func() map[string]string {
		return map[string]string{"REDIS_MODE": "sentinel", "REDIS_URL": g.URL(), "REDIS_MASTER_NAME": redisproc.SentinelMaster}
	}
	url1, stop1, done1, log1 := startRunLogged(t, env())
	defer func() { stop1(); <-done1 }()
	url2, stop2, done2, log2 := startRunLogged(t, env())
	defer func() { stop2(); <-done2 }()
	t.Cleanup(func() {
		if t.Failed() {
			for i, l := range []*logRecorder{log1, log2} {
				l.mu.Lock()
				for _, line := range l.raw {
					t.Logf("server %d: %s", i+1, line)
				}
				l.mu.Unlock()
			}
		}
	})
	dial := func(url string) *rawsocket.Socket {
		s, _, err := rawsocket.Dial(t, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := dial(url1), dial(url2)
	a.Join(`{"name":"a"}`)
	joinMatched(t, b, `{"name":"b"}`)
	awaitEvent(t, a, "matched")

	g.KillPrimary(t)
	c := dial(url1)
	refused := 0
	deadline := time.Now().Add(30 * time.Second)
	for {
		reply := c.Call("join-queue", `{"name":"c"}`)
		if reply["ok"] == true {
			break
		}
		if reply["code"] != "unavailable" || reply["error"] != "temporarily unavailable" {
			t.Fatalf("join during the failover: %v, want the usual temporarily unavailable", reply)
		}
		refused++
		if time.Now().After(deadline) {
			t.Fatalf("join still refused 30 s after the primary was killed: %v", reply)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if refused == 0 {
		t.Fatal("no join was refused while no primary answered")
	}
	d := dial(url2)
	md := joinMatched(t, d, `{"name":"d"}`)
	mc := awaitEvent(t, c, "matched")
	if mc["partnerName"] != "d" || md["partnerName"] != "c" {
		t.Fatalf("after the failover c was paired with %v, d with %v", mc["partnerName"], md["partnerName"])
	}
	c.Write(`42["signal",{"to":"` + mc["partnerId"].(string) + `","data":{"type":"ping"}}]`)
	if sig := awaitEvent(t, d, "signal"); sig["from"] != md["partnerId"] {
		t.Fatalf("signal from %v, want c (%v)", sig["from"], md["partnerId"])
	}
	t.Logf("%d joins refused as temporarily unavailable during the failover", refused)
}
