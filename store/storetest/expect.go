package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zivro/zivro/queue"
)

// What the suite's tests expect: each test user's name, address, network
// and region follow from its id, the events of a pairing are built from the
// two ids, and checkInvariants holds every run to the ordering rules.

func nameOf(id string) string { return "name of " + id }

// addrOf is the address key of a test user: each has its own, unless its
// id says which one it shares ("a@x" is at x; "a@x~n" is at x in network n).
func addrOf(id string) string {
	id, _, _ = strings.Cut(id, "~")
	if _, at, ok := strings.Cut(id, "@"); ok {
		return "addr " + at
	}
	return "addr of " + id
}

// netOf is the network key of a test user's address: its own address's,
// unless its id names the network ("a@x~n" is in n).
func netOf(id string) string {
	if _, n, ok := strings.Cut(id, "~"); ok {
		return "net " + n
	}
	return "net of " + addrOf(id)
}

// regionOf is the region a test user gives, its own: a matched event must
// carry the partner's.
func regionOf(id string) string { return "region of " + id }

func profileOf(id string, interests ...string) queue.Profile {
	return queue.Profile{Name: nameOf(id), Gender: "other", Region: regionOf(id), Addr: addrOf(id), Interests: interests}
}

func peer(id string) queue.Peer { return queue.Peer{ID: id, Addr: addrOf(id), Net: netOf(id)} }

// matchedPair is the two events of a pairing: the responder's first.
func matchedPair(initiator, responder string) []queue.Event {
	return matchedOn(initiator, responder)
}

// matchedOn is matchedPair for two users sharing the interests common.
func matchedOn(initiator, responder string, common ...string) []queue.Event {
	return []queue.Event{
		{Kind: queue.EventMatched, User: responder, Partner: initiator, PartnerName: nameOf(initiator), PartnerAddr: addrOf(initiator), PartnerRegion: regionOf(initiator), Common: common},
		{Kind: queue.EventMatched, User: initiator, Partner: responder, PartnerName: nameOf(responder), PartnerAddr: addrOf(responder), PartnerRegion: regionOf(responder), Initiator: true, Common: common},
	}
}

// textPair is matchedOn for two text-only users.
func textPair(initiator, responder string, common ...string) []queue.Event {
	evs := matchedOn(initiator, responder, common...)
	for i := range evs {
		evs[i].TextOnly = true
	}
	return evs
}

func left(id string, r queue.Reason) queue.Event {
	return queue.Event{Kind: queue.EventPartnerLeft, User: id, Reason: r}
}

func done(id string) queue.Event {
	return queue.Event{Kind: queue.EventDone, User: id}
}

func seq(parts ...any) []queue.Event {
	var evs []queue.Event
	for _, p := range parts {
		switch p := p.(type) {
		case queue.Event:
			evs = append(evs, p)
		case []queue.Event:
			evs = append(evs, p...)
		default:
			panic(fmt.Sprintf("seq: %T", p))
		}
	}
	return evs
}

func format(evs []queue.Event) string {
	var b strings.Builder
	for _, e := range evs {
		switch e.Kind {
		case queue.EventMatched:
			fmt.Fprintf(&b, "\tmatched %s with %s (%q, %q, %q) room %q initiator %v common %q text %v\n", e.User, e.Partner, e.PartnerName, e.PartnerAddr, e.PartnerRegion, e.Room, e.Initiator, e.Common, e.TextOnly)
		case queue.EventPartnerLeft:
			fmt.Fprintf(&b, "\tpartner-left to %s (%s) about %q\n", e.User, e.Reason, e.Partner)
		case queue.EventDone:
			fmt.Fprintf(&b, "\tdone %s\n", e.User)
		case queue.EventResumed:
			fmt.Fprintf(&b, "\tresumed %s with %q (%q) left %q\n", e.User, e.Partner, e.PartnerAddr, e.Reason)
		case queue.EventBanned:
			fmt.Fprintf(&b, "\tbanned %s\n", e.Addr)
		default:
			fmt.Fprintf(&b, "\t%+v\n", e)
		}
	}
	if b.Len() == 0 {
		return "\t(none)\n"
	}
	return b.String()
}

// checkInvariants checks what must hold for any event stream: the two
// matched events of a pairing are adjacent, responder first, mirror each
// other and share a room no other pairing has; nobody is told of a second
// partner before the first is gone; partner-left goes only to a user that was
// told of a partner.
func checkInvariants(t *testing.T, evs []queue.Event) {
	t.Helper()
	partner := map[string]string{}
	rooms := map[string]bool{}
	for i := 0; i < len(evs); i++ {
		e := evs[i]
		switch e.Kind {
		case queue.EventMatched:
			if e.Initiator || i+1 == len(evs) {
				t.Errorf("event %d: %s's matched event is not a responder's followed by its initiator's", i, e.User)
				continue
			}
			f := evs[i+1]
			if f.Kind != queue.EventMatched || !f.Initiator || f.User != e.Partner || f.Partner != e.User || f.Room != e.Room {
				t.Errorf("events %d, %d: not the two halves of one pairing:\n%s", i, i+1, format(evs[i:i+2]))
				continue
			}
			if e.Room == "" || rooms[e.Room] {
				t.Errorf("event %d: room %q is empty or was used before", i, e.Room)
			}
			rooms[e.Room] = true
			for _, u := range []string{e.User, f.User} {
				if p := partner[u]; p != "" {
					t.Errorf("event %d: %s matched while still paired with %s", i, u, p)
				}
			}
			partner[e.User], partner[f.User] = f.User, e.User
			i++
		case queue.EventPartnerLeft:
			if e.Partner != "" && partner[e.User] != e.Partner {
				// A reconciliation's word about a pairing the stream never
				// showed (the store lost it), or one that ended.
				continue
			}
			if partner[e.User] == "" {
				t.Errorf("event %d: partner-left to %s, who has no partner", i, e.User)
			}
			delete(partner, e.User)
		case queue.EventDone:
			delete(partner, e.User)
		case queue.EventResumed:
			if e.Partner != partner[e.User] {
				t.Errorf("event %d: %s resumed with partner %q, the stream says %q", i, e.User, e.Partner, partner[e.User])
			}
		case queue.EventBanned:
			if e.Addr == "" || e.User != "" {
				t.Errorf("event %d: a ban of no address, or for a user: %+v", i, e)
			}
		default:
			t.Errorf("event %d: unknown kind %d", i, e.Kind)
		}
	}
}
