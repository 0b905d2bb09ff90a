package events

import (
	"encoding/json"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/queue"
)

// The payloads the server announces. Structs, not maps: encoding/json sorts
// a map's keys and reflects on every value.
type (
	matchedPayload struct {
		RoomID      string `json:"roomId"`
		PartnerID   string `json:"partnerId"`
		PartnerName string `json:"partnerName"`
		IsInitiator bool   `json:"isInitiator"`
		// Always an array: [] when the two share no interest.
		CommonInterests []string `json:"commonInterests"`
		// The partner's region as it joined ("" when none): always a
		// string, which the original client ignores.
		PartnerRegion string `json:"partnerRegion"`
		// Always a boolean: the two are text-only (both asked for it).
		TextOnly bool `json:"textOnly"`
	}
	partnerLeftPayload struct {
		Reason string `json:"reason"`
	}
)

// Announcer delivers the matchmaking service's announcements as Socket.IO
// events; it implements queue.Notifier.
type Announcer struct {
	out Sender
}

// NewAnnouncer returns an announcer writing through out.
func NewAnnouncer(out Sender) *Announcer { return &Announcer{out: out} }

// Matched emits "matched" to the user.
func (a *Announcer) Matched(to string, m queue.Match) {
	common := m.CommonInterests
	if common == nil {
		common = []string{}
	}
	a.announce(to, "matched", matchedPayload{RoomID: m.RoomID, PartnerID: m.PartnerID, PartnerName: m.PartnerName, IsInitiator: m.Initiator, CommonInterests: common, PartnerRegion: m.PartnerRegion, TextOnly: m.TextOnly})
}

// PartnerLeft emits "partner-left" to the user.
func (a *Announcer) PartnerLeft(to string, reason queue.Reason) {
	a.announce(to, "partner-left", partnerLeftPayload{Reason: string(reason)})
}

// Banned closes the user's connection: its address was banned. Its
// disconnect takes it out of the queue and its call.
func (a *Announcer) Banned(to string) { a.out.DropLocal(to) }

// announce emits to a socket connected here; announcements only concern those.
func (a *Announcer) announce(to, event string, payload any) {
	b, _ := json.Marshal(payload) // structs of strings and bools: never fails
	a.out.SendLocal(to, socketio.NewFrame(event, string(b)))
}
