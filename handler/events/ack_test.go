package events

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// Every refusal maps to its code, its text as the client reads it, and the
// reason the metrics count; only an error the server did not expect is
// reported as such (and logged by the caller).
func TestRefusalOf(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		code         code
		text, metric string
		unexpected   bool
	}{
		{"malformed payload", invalid("payload must be an object"), codeInvalid, "payload must be an object", "payload must be an object", false},
		{"unknown event", refuse(codeUnknownEvent, "unknown event"), codeUnknownEvent, "unknown event", "unknown event", false},
		{"signal too large", refusal{code: codeTooLarge, reason: "data larger than 32768 bytes"}, codeTooLarge, "data larger than 32768 bytes", "data larger than 32768 bytes", false},
		{"too many state changes", refuse(codeRateLimited, errTooManyCommands), codeRateLimited, errTooManyCommands, errTooManyCommands, false},
		{"too many pending", refuse(codeTooManyPending, "too many pending requests"), codeTooManyPending, "too many pending requests", "too many pending requests", false},
		{"too many held", refuse(codeTooManyHeld, errTooManyHeld), codeTooManyHeld, errTooManyHeld, errTooManyHeld, false},
		{"busy", fmt.Errorf("join me: %w", queue.ErrBusy), codeBusy, queue.ErrBusy.Error(), queue.ErrBusy.Error(), false},
		{"not joined", fmt.Errorf("next me: %w", queue.ErrNotJoined), codeNotJoined, queue.ErrNotJoined.Error(), queue.ErrNotJoined.Error(), false},
		{"no partner to report", fmt.Errorf("report: %w", queue.ErrNoPartner), codeNoPartner, queue.ErrNoPartner.Error(), queue.ErrNoPartner.Error(), false},
		{"relay with no partner", refuse(codeNoPartner, "no partner"), codeNoPartner, "no partner", "no partner", false},
		{"not your partner", refuse(codeNotYourPartner, "not your partner"), codeNotYourPartner, "not your partner", "not your partner", false},
		{"draining", fmt.Errorf("join: %w", queue.ErrDraining), codeDraining, queue.ErrDraining.Error(), queue.ErrDraining.Error(), false},
		{"instance taken over", fmt.Errorf("next: %w", queue.ErrInstanceGone), codeDraining, queue.ErrDraining.Error(), queue.ErrDraining.Error(), false},
		{"cooling down", fmt.Errorf("join: %w", &queue.CoolDownError{Remaining: 90 * time.Second}), codeCoolingDown, (&queue.CoolDownError{Remaining: 90 * time.Second}).Error(), queue.ErrCoolDown.Error(), false},
		{"banned", fmt.Errorf("join: %w", &queue.BannedError{Until: time.Unix(2e9, 0)}), codeBanned, "this address is banned by the moderators", "this address is banned by the moderators", false},
		{"store down", errors.New("dial tcp: connection refused"), codeUnavailable, "temporarily unavailable", "temporarily unavailable", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, metric, expected := refusalOf(tt.err)
			if reply.OK || reply.Code != tt.code || reply.Error != tt.text || metric != tt.metric || expected == tt.unexpected {
				t.Fatalf("refusalOf(%v) = %+v, %q, expected %v; want code %q, text %q, metric %q, expected %v",
					tt.err, reply, metric, expected, tt.code, tt.text, tt.metric, !tt.unexpected)
			}
		})
	}
}
