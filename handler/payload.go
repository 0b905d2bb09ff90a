package handler

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/zivro/zivro/queue"
)

// Limits on what clients may send. Whole messages above the transport's
// buffer size never get here: the library closes the sender's connection.
const (
	maxNameLen    = 20
	maxGenderLen  = 20
	maxRegionLen  = 40
	maxChatLen    = 500
	maxSignalSize = 32 << 10 // bytes of the signal's data, as JSON would count them
	maxSocketID   = 64
	defaultName   = "Stranger"
)

// refusal is client input the server will not act on; its text is what the
// client's ack carries.
type refusal struct{ reason string }

func (r refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error {
	return refusal{reason: fmt.Sprintf(format, args...)}
}

// object returns the event's first argument as a JSON object.
func object(args []any) (map[string]any, error) {
	if len(args) == 0 {
		return nil, refuse("payload missing")
	}
	obj, ok := args[0].(map[string]any)
	if !ok {
		return nil, refuse("payload must be an object")
	}
	return obj, nil
}

// optionalString returns field as a string; a missing or null field is "".
func optionalString(obj map[string]any, field string) (string, error) {
	v, ok := obj[field]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", refuse("%s must be a string", field)
	}
	return s, nil
}

// clean trims s, removes control characters and keeps at most max characters.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		s = strings.TrimSpace(string([]rune(s)[:max]))
	}
	return s
}

// decodeProfile checks a join-queue payload: an object whose fields, when
// present, are strings.
func decodeProfile(args []any) (queue.Profile, error) {
	obj, err := object(args)
	if err != nil {
		return queue.Profile{}, err
	}
	var raw [3]string
	for i, field := range []string{"name", "gender", "region"} {
		if raw[i], err = optionalString(obj, field); err != nil {
			return queue.Profile{}, err
		}
	}
	p := queue.Profile{
		Name:   clean(raw[0], maxNameLen),
		Gender: clean(raw[1], maxGenderLen),
		Region: clean(raw[2], maxRegionLen),
	}
	if p.Name == "" {
		p.Name = defaultName
	}
	return p, nil
}

// signal is a decoded signal event.
type signal struct {
	to   string
	data any
}

// decodeSignal checks a signal payload: { to: socket id, data: any JSON up to
// maxSignalSize }.
func decodeSignal(args []any) (signal, error) {
	obj, err := object(args)
	if err != nil {
		return signal{}, err
	}
	to, ok := obj["to"].(string)
	if !ok || to == "" || len(to) > maxSocketID {
		return signal{}, refuse("to must be a socket id")
	}
	data, ok := obj["data"]
	if !ok || data == nil {
		return signal{}, refuse("data missing")
	}
	if jsonSize(data, maxSignalSize) > maxSignalSize {
		return signal{}, refuse("data larger than %d bytes", maxSignalSize)
	}
	return signal{to: to, data: data}, nil
}

// decodeChat checks a chat-message payload and returns the message trimmed
// and capped; an empty message is refused.
func decodeChat(args []any) (string, error) {
	obj, err := object(args)
	if err != nil {
		return "", err
	}
	msg, ok := obj["message"].(string)
	if !ok {
		return "", refuse("message must be a string")
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return "", refuse("message empty")
	}
	if utf8.RuneCountInString(msg) > maxChatLen {
		msg = string([]rune(msg)[:maxChatLen])
	}
	return msg, nil
}

// jsonSize estimates the size of v encoded as JSON, and stops counting once
// it passes limit: cheaper than encoding on the relay's hot path.
func jsonSize(v any, limit int) int {
	switch v := v.(type) {
	case string:
		return len(v) + 2
	case map[string]any:
		n := 2
		for k, e := range v {
			n += len(k) + 4 + jsonSize(e, limit-n)
			if n > limit {
				return n
			}
		}
		return n
	case []any:
		n := 2
		for _, e := range v {
			n += jsonSize(e, limit-n) + 1
			if n > limit {
				return n
			}
		}
		return n
	default: // numbers, booleans, null
		return 24
	}
}
