package events

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/zivro/zivro/handler/clientaddr"
	"github.com/zivro/zivro/queue"
)

// Issue 13's events at the edge: interests and the address key reach the
// service with a join, report and block are commands, and their refusals
// say why.

func TestJoinCarriesInterestsAndTheAddressKey(t *testing.T) {
	keys := clientaddr.NewAddressKeys([]byte("test"))
	f := newFixture(t, Config{Addresses: keys})
	f.conn.addr = "203.0.113.7:4242"
	f.sess = f.h.open(f.conn) // again, with the address set
	f.sess.Event(event("join-queue", 1, `{"name":"Ann","interests":["Music"," chess "]}`))
	if got := f.conn.waitAcks(t, 1); got[0] != `1 {"ok":true}` {
		t.Fatalf("acks %q", got)
	}
	f.svc.mu.Lock()
	p := f.svc.joined
	f.svc.mu.Unlock()
	if !reflect.DeepEqual(p.Interests, []string{"music", "chess"}) {
		t.Fatalf("interests %q, want [music chess]", p.Interests)
	}
	want, _ := keys.Keys(context.Background(), "203.0.113.7")
	if p.Addr != want.Addr || p.Net != want.Net {
		t.Fatalf("keys %q %q, want %+v (the connection's address and network, hashed)", p.Addr, p.Net, want)
	}
}

func TestReportAndBlockEvents(t *testing.T) {
	coolDown := &queue.CoolDownError{Remaining: 90 * time.Second}
	tests := []struct {
		name     string
		svcErr   error
		ev       string
		args     string
		wantCall string // "" when the service must not be called
		want     string
	}{
		{"report", nil, "report", `{"reason":"spam"}`, "report me spam", `1 {"ok":true}`},
		{"report, free text", nil, "report", `{"reason":"Bob from Leeds was rude"}`, "", `1 {"ok":false,"code":"invalid","error":"reason must be one of nudity, harassment, spam, underage, other"}`},
		{"report, no payload", nil, "report", ``, "", `1 {"ok":false,"code":"invalid","error":"payload missing"}`},
		{"report, no partner", fmt.Errorf("report by me: %w", queue.ErrNoPartner), "report", `{"reason":"other"}`, "report me other", `1 {"ok":false,"code":"no-partner","error":"no partner to report or block"}`},
		{"block", nil, "block", ``, "block me", `1 {"ok":true}`},
		{"block, no partner", fmt.Errorf("block by me: %w", queue.ErrNoPartner), "block", ``, "block me", `1 {"ok":false,"code":"no-partner","error":"no partner to report or block"}`},
		{"join in a cool-down", fmt.Errorf("join me: %w", coolDown), "join-queue", `{"name":"Ann"}`, "join me Ann", `1 {"ok":false,"code":"cooling-down","error":"cooling down after reports: try again in 90 s"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			f.svc.err = tt.svcErr
			f.sess.Event(event(tt.ev, 1, tt.args))
			if got := f.conn.waitAcks(t, 1); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("acks %q, want [%s]", got, tt.want)
			}
			var calls []string
			for _, c := range f.svc.callList() {
				if c != "connect me" {
					calls = append(calls, c)
				}
			}
			if want := []string{tt.wantCall}; tt.wantCall == "" && len(calls) != 0 || tt.wantCall != "" && !reflect.DeepEqual(calls, want) {
				t.Fatalf("service calls %q, want %q", calls, tt.wantCall)
			}
		})
	}
}

func TestMatchedPayload(t *testing.T) {
	out := &fakeSender{}
	a := NewAnnouncer(out)
	a.Matched("x", queue.Match{RoomID: "r", PartnerID: "y", PartnerName: "Y", CommonInterests: []string{"music"}, PartnerRegion: "Chile"})
	a.Matched("y", queue.Match{RoomID: "r", PartnerID: "x", PartnerName: "X", Initiator: true})
	a.Matched("t", queue.Match{RoomID: "s", PartnerID: "u", PartnerName: "U", TextOnly: true, PartnerRegion: "asia"})
	// commonInterests, partnerRegion and textOnly are always there, of
	// their type: a client reads them without checking.
	want := []sent{
		{to: "x", name: "matched", payload: `{"roomId":"r","partnerId":"y","partnerName":"Y","isInitiator":false,"commonInterests":["music"],"partnerRegion":"Chile","textOnly":false}`, local: true},
		{to: "y", name: "matched", payload: `{"roomId":"r","partnerId":"x","partnerName":"X","isInitiator":true,"commonInterests":[],"partnerRegion":"","textOnly":false}`, local: true},
		{to: "t", name: "matched", payload: `{"roomId":"s","partnerId":"u","partnerName":"U","isInitiator":false,"commonInterests":[],"partnerRegion":"asia","textOnly":true}`, local: true},
	}
	if got := out.frames(); !reflect.DeepEqual(got, want) {
		t.Fatalf("sent %+v, want %+v", got, want)
	}
}
