package bench

import (
	"encoding/json"
	"time"
)

type ackReply struct {
	OK    *bool  `json:"ok"`
	Error string `json:"error"`
}

// onNextAck undoes a next that the server refused (it changed nothing): the
// call goes on, and the user presses again a moment later.
func (cr *churnRun) onNextAck(cc *churnClient, room string, args json.RawMessage, ok bool) {
	if !ok {
		return
	}
	cr.nextsAcked.Add(1)
	var r []ackReply
	if err := json.Unmarshal(args, &r); err != nil || len(r) == 0 || r[0].OK == nil || *r[0].OK {
		return
	}
	cr.refusals.Add(1)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.nexts--
	cc.refused++
	switch {
	case cc.evOpen && cc.evRoom == room && cc.pressedInEv:
		cc.pressedInEv = false
		cc.uiRoom = room
		time.AfterFunc(2*time.Millisecond, func() { cr.pressNext(cc) })
	case cc.pendingStale > 0:
		cc.pendingStale--
	}
	if cc.refused == 1 {
		cr.mu.Lock()
		cr.refuseMsg = r[0].Error
		cr.mu.Unlock()
	}
}

type partnerLeftMsg struct {
	Reason string `json:"reason"`
}

func (cr *churnRun) handler(cc *churnClient) Handler {
	return func(_ *Client, ev Event) {
		cr.touch()
		switch ev.Name {
		case "matched":
			cr.onMatched(cc, ev)
		case "partner-left":
			cr.onPartnerLeft(cc, ev)
		default:
			cr.ck.Failf(ckOrder, "client %d got unexpected %s %s", cc.i, ev.Name, ev.Data)
		}
	}
}

func (cr *churnRun) onMatched(cc *churnClient, ev Event) {
	var m matchedMsg
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		cr.ck.Failf(ckPayload, "client %d: matched %s: %v", cc.i, ev.Data, err)
		return
	}
	p, ok := cr.bySID[m.PartnerID]
	if !ok || p == cc.i || m.RoomID == "" {
		cr.ck.Failf(ckPayload, "client %d: matched %s names no other client", cc.i, ev.Data)
		return
	}
	if m.PartnerName != cr.names[p] {
		cr.ck.Failf(ckPayload, "client %d: partnerName %q, want %q", cc.i, m.PartnerName, cr.names[p])
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.evOpen {
		// The server moved us on without a partner-left: only a next of
		// ours, pressed in that room or still pending from before, explains
		// that, and each next explains one room.
		cc.silent++
		potential := cc.pendingStale
		if cc.pressedInEv {
			potential++
		}
		if potential == 0 {
			cr.ck.Failf(ckTwoRooms, "client %d matched into %s while still in %s (no partner-left, no next of its own)",
				cc.i, m.RoomID, cc.evRoom)
		} else {
			cc.pendingStale = potential - 1
		}
		cr.mu.Lock()
		if r := cr.rooms[cc.evRoom]; r != nil {
			r.silent[r.slot(cc.i)] = true
		}
		cr.mu.Unlock()
	}
	cr.mu.Lock()
	r := cr.rooms[m.RoomID]
	if r == nil {
		r = &churnRoom{members: [2]int{cc.i, p}, at: ev.At}
		cr.rooms[m.RoomID] = r
		if cr.running.Load() {
			cr.formed++
		}
	}
	if s := r.slot(cc.i); s < 0 || r.members[1-s] != p {
		cr.ck.Failf(ckRoomID, "room %s: client %d with %d, but it was announced for %v", m.RoomID, cc.i, p, r.members)
	} else {
		if r.told[s] {
			cr.ck.Failf(ckRoomID, "client %d told twice of room %s", cc.i, m.RoomID)
		}
		r.told[s] = true
		r.init[s] = m.IsInitiator
		if r.told[1-s] && r.init[0] == r.init[1] {
			cr.ck.Failf(ckPayload, "room %s: isInitiator %v for both", m.RoomID, m.IsInitiator)
		}
	}
	cr.mu.Unlock()
	cc.evRoom, cc.evOpen, cc.evPartner, cc.pressedInEv = m.RoomID, true, p, false
	cc.uiRoom = m.RoomID
	cc.matched++
	if !cc.nextAt.IsZero() {
		cr.lat.Add(ev.At.Sub(cc.nextAt))
		cc.nextAt = time.Time{}
	}
	if !cr.o.Chaos {
		cr.pressNextLocked(cc)
	}
}

func (r *churnRoom) slot(i int) int {
	switch i {
	case r.members[0]:
		return 0
	case r.members[1]:
		return 1
	}
	return -1
}

func (cr *churnRun) onPartnerLeft(cc *churnClient, ev Event) {
	var m partnerLeftMsg
	if err := json.Unmarshal(ev.Data, &m); err != nil || m.Reason != "next" {
		cr.ck.Failf(ckReason, "client %d: partner-left %s", cc.i, ev.Data)
	}
	cr.partnerLeft.Add(1)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.uiRoom = ""
	if !cc.evOpen {
		cr.ck.Failf(ckOrder, "client %d got partner-left with no open pairing (last room %q)", cc.i, cc.evRoom)
		return
	}
	cc.evOpen = false
	if cc.pressedInEv {
		cc.pendingStale++ // our next came after this: it is still to be used
		cc.pressedInEv = false
	}
	cr.mu.Lock()
	if r := cr.rooms[cc.evRoom]; r != nil {
		r.left++
		if r.left > 1 {
			cr.ck.Failf(ckOnePL, "room %s: both members got partner-left", cc.evRoom)
		}
	}
	cr.mu.Unlock()
}
