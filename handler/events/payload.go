package events

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/zivro/zivro/queue"
)

// Limits on what clients may send. Whole messages above the transport's
// buffer size never get here: the library closes the sender's connection.
const (
	maxNameLen    = 20
	maxGenderLen  = 20
	maxRegionLen  = 40
	maxTagLen     = 24 // characters of one interest
	maxChatLen    = 500
	maxSignalSize = 32 << 10 // bytes of the signal's data, as the client encoded it
	maxSocketID   = 64
	defaultName   = "Stranger"
)

// object returns the fields of the event's first argument, which must be a
// JSON object. Of a field given twice, the last counts, as in JavaScript.
func object(args []gjson.Result) (map[string]gjson.Result, error) {
	if len(args) == 0 {
		return nil, invalid("payload missing")
	}
	if !args[0].IsObject() {
		return nil, invalid("payload must be an object")
	}
	obj := make(map[string]gjson.Result, 4)
	args[0].ForEach(func(key, value gjson.Result) bool {
		obj[key.Str] = value
		return true
	})
	return obj, nil
}

// optionalString returns field as a string; a missing or null field is "".
func optionalString(obj map[string]gjson.Result, field string) (string, error) {
	switch v := obj[field]; v.Type {
	case gjson.Null:
		return "", nil
	case gjson.String:
		return v.Str, nil
	}
	return "", invalid("%s must be a string", field)
}

// clean trims s, removes control characters and format characters (see
// stripFormat) and keeps at most max characters. Control characters go
// first: stripFormat keeps a joiner by its neighbours, and a neighbour
// removed after it (two bytes that are not UTF-8, taken as U+FFFD) left a
// joiner alone, an invisible name. The cut can split a joined pair or a
// flag's tag sequence, so what is left of it goes too.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(stripFormat(s))
	if utf8.RuneCountInString(s) > max {
		s = strings.TrimSpace(stripFormat(string([]rune(s)[:max])))
	}
	return s
}

// decodeProfile checks a join-queue payload: an object whose fields, when
// present, are strings, but interests (an array of strings), textOnly (a
// boolean) and language (see decodeLanguage).
func decodeProfile(args []gjson.Result) (queue.Profile, error) {
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
	if p.Interests, err = decodeInterests(obj["interests"]); err != nil {
		return queue.Profile{}, err
	}
	if p.TextOnly, err = optionalBool(obj, "textOnly"); err != nil {
		return queue.Profile{}, err
	}
	if p.Language, err = decodeLanguage(obj["language"]); err != nil {
		return queue.Profile{}, err
	}
	return p, nil
}

// optionalBool returns field as a boolean; a missing or null field is
// false. Nothing else passes for one ("true", 1): a client that sends it
// has a bug worth hearing of.
func optionalBool(obj map[string]gjson.Result, field string) (bool, error) {
	switch v := obj[field]; v.Type {
	case gjson.Null:
		return false, nil
	case gjson.True, gjson.False:
		return v.Bool(), nil
	}
	return false, invalid("%s must be a boolean", field)
}

// decodeLanguage checks the optional language of a join: a BCP 47 primary
// language subtag, 2 or 3 lower-case ASCII letters ("en", "fil"), as a
// client takes it from navigator.language. It is compared as it is, so
// anything else ("EN", "en-US", "") is refused rather than guessed at: two
// spellings of one language would never meet.
func decodeLanguage(v gjson.Result) (string, error) {
	if v.Type == gjson.Null {
		return "", nil
	}
	lang := v.Str
	ok := v.Type == gjson.String && len(lang) >= 2 && len(lang) <= 3
	for i := 0; ok && i < len(lang); i++ {
		ok = 'a' <= lang[i] && lang[i] <= 'z'
	}
	if !ok {
		return "", invalid("language must be 2 or 3 lower-case letters")
	}
	return lang, nil
}

// decodeInterests checks the optional interests of a join: an array of
// strings, each cleaned like a name and lower-cased (tags compare without
// case); empty and repeated tags are dropped, and only the first
// queue.MaxInterests are kept.
func decodeInterests(v gjson.Result) ([]string, error) {
	if v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsArray() {
		return nil, invalid("interests must be an array of strings")
	}
	var tags []string
	var err error
	v.ForEach(func(_, t gjson.Result) bool {
		if t.Type != gjson.String {
			err = invalid("interests must be an array of strings")
			return false
		}
		tag := strings.ToLower(clean(t.Str, maxTagLen))
		if tag != "" && !slices.Contains(tags, tag) && len(tags) < queue.MaxInterests {
			tags = append(tags, tag)
		}
		return true
	})
	return tags, err
}

// signal is a decoded signal event.
type signal struct {
	to   string
	data string // JSON, as the client sent it: relayed untouched
}

// decodeSignal checks a signal payload: { to: socket id, data: any JSON up to
// maxSignalSize }.
func decodeSignal(args []gjson.Result) (signal, error) {
	obj, err := object(args)
	if err != nil {
		return signal{}, err
	}
	to := obj["to"]
	if to.Type != gjson.String || to.Str == "" || len(to.Str) > maxSocketID {
		return signal{}, invalid("to must be a socket id")
	}
	data := obj["data"]
	if data.Type == gjson.Null {
		return signal{}, invalid("data missing")
	}
	if len(data.Raw) > maxSignalSize {
		return signal{}, refusal{code: codeTooLarge, reason: fmt.Sprintf("data larger than %d bytes", maxSignalSize)}
	}
	return signal{to: to.Str, data: data.Raw}, nil
}

// decodeChat checks a chat-message payload and returns the message trimmed
// and capped; an empty message is refused.
func decodeChat(args []gjson.Result) (string, error) {
	obj, err := object(args)
	if err != nil {
		return "", err
	}
	if obj["message"].Type != gjson.String {
		return "", invalid("message must be a string")
	}
	// Control characters go as from a name, but a pasted line break stays:
	// the message is text, shown as text.
	msg := strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, obj["message"].Str)
	msg = strings.TrimSpace(stripFormat(msg))
	if msg == "" {
		return "", invalid("message empty")
	}
	if utf8.RuneCountInString(msg) > maxChatLen {
		// The cut can split a joined pair or a flag's tag sequence.
		msg = strings.TrimSpace(stripFormat(string([]rune(msg)[:maxChatLen])))
	}
	return msg, nil
}

// reportReasons are the reasons a report may give: a fixed list, so that a
// report carries no free text (and nothing personal) to the moderators' log.
var reportReasons = []string{"nudity", "harassment", "spam", "underage", "other"}

// report is a checked report payload.
type report struct {
	reason   string
	evidence *queue.Evidence
}

// decodeReport checks a report payload: { reason: one of reportReasons,
// evidence? } (see decodeEvidence).
func decodeReport(args []gjson.Result) (report, error) {
	obj, err := object(args)
	if err != nil {
		return report{}, err
	}
	reason := obj["reason"]
	if reason.Type != gjson.String || !slices.Contains(reportReasons, reason.Str) {
		return report{}, invalid("reason must be one of %s", strings.Join(reportReasons, ", "))
	}
	ev, err := decodeEvidence(obj["evidence"])
	if err != nil {
		return report{}, err
	}
	return report{reason: reason.Str, evidence: ev}, nil
}
