package events

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/zivro/zivro/queue"
)

// The fuzz targets of the payloads: go test runs their seeds (f.Add and
// testdata/fuzz/<Target>/) as ordinary tests; make fuzz-short and make fuzz
// run the fuzzer on each.

// FuzzPayloads gives one event's arguments (the JSON array after the name,
// valid UTF-8 and JSON as the wire's decoder lets through) to every
// decoder. None panics, and what each accepts respects the README's caps:
// a profile's fields cleaned (see checkCleaned) and cut to 20, 20, 40
// characters, a name never empty, at most queue.MaxInterests distinct,
// lower-case interests of 24 characters; a signal's target a socket id of
// at most 64 bytes and its data JSON of at most 32 KB, as the client sent
// it; a chat message trimmed, not empty, at most 500 characters, with no
// format character a script does not need; a report's reason one of the
// list.
func FuzzPayloads(f *testing.F) {
	for _, s := range []string{
		`[{"name":"Ana","gender":"female","region":"europe"}]`,
		`[{"name":"  A\u0000n\u001ba\n ","gender":"\tmale","region":"asia\r"}]`,
		`[{"name":"\u202eadmin\u200b\u2066x","interests":["Music"," chess\n","MUSIC","","a","b","c","d"]}]`,
		`[{"name":"علی\u200cرضا","region":"\ud800"}]`,
		`[{"name":"\ud83d\udc69\u200d\ud83d\udcbb","gender":"\ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc7f"}]`,
		`[{"name":null,"interests":null}]`,
		`[{"name":42}]`,
		`[{"interests":"music"}]`,
		`[{"to":"abc","data":{"type":"offer","sdp":{"type":"offer","sdp":"v=0\r\n"}}}]`,
		`[{"to":"abc","data":null}]`,
		`[{"to":"","data":1}]`,
		`[{"to":"x","to":"y","data":[1,2]}]`,
		`[{"message":"  hi there \n"}]`,
		`[{"message":"see \u202egnp.exe\u202c now"}]`,
		`[{"message":" \u200b\t"}]`,
		`[{"message":"a\u0007b"}]`,
		`[{"reason":"spam"}]`,
		`[{"reason":"Spam"}]`,
		`[{"reason":"spam\u0000"}]`,
		`[]`, `[null]`, `["x"]`, `[[1]]`, `[{}]`,
	} {
		f.Add(s)
	}
	f.Add(`[{"name":"` + strings.Repeat("é", 30) + `","message":"` + strings.Repeat("m", 600) + `"}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		if !utf8.ValidString(raw) || !gjson.Valid(raw) || !gjson.Parse(raw).IsArray() {
			return // the wire's decoder refuses it
		}
		args := gjson.Parse(raw).Array()
		if p, err := decodeProfile(args); err == nil {
			checkProfile(t, p)
		} else {
			checkRefusal(t, err)
		}
		if s, err := decodeSignal(args); err == nil {
			if s.to == "" || len(s.to) > maxSocketID {
				t.Fatalf("signal to %q", s.to)
			}
			if len(s.data) > maxSignalSize || !json.Valid([]byte(s.data)) || s.data == "null" {
				t.Fatalf("signal data of %d bytes passed: %.100q", len(s.data), s.data)
			}
			if !strings.Contains(raw, s.data) {
				t.Fatalf("signal data %.100q is not what the client sent", s.data)
			}
		} else {
			checkRefusal(t, err)
		}
		if m, err := decodeChat(args); err == nil {
			if m == "" || utf8.RuneCountInString(m) > maxChatLen || !utf8.ValidString(m) {
				t.Fatalf("chat message %q (%d characters)", m, utf8.RuneCountInString(m))
			}
			// Trimmed, then capped: the cap may end it on a space.
			if strings.TrimLeftFunc(m, unicode.IsSpace) != m || (utf8.RuneCountInString(m) < maxChatLen && strings.TrimSpace(m) != m) {
				t.Fatalf("chat message %q not trimmed", m)
			}
			if stripFormat(m) != m {
				t.Fatalf("chat message %q keeps format characters", m)
			}
			if strings.ContainsFunc(m, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
				t.Fatalf("chat message %q keeps a control character other than a line break", m)
			}
		} else {
			checkRefusal(t, err)
		}
		if r, err := decodeReport(args); err == nil {
			if !slices.Contains(reportReasons, r.reason) {
				t.Fatalf("report reason %q", r.reason)
			}
		} else {
			checkRefusal(t, err)
		}
	})
}

func checkProfile(t *testing.T, p queue.Profile) {
	t.Helper()
	if p.Name == "" {
		t.Fatal("empty name accepted")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"name", p.Name, maxNameLen}, {"gender", p.Gender, maxGenderLen}, {"region", p.Region, maxRegionLen}} {
		if utf8.RuneCountInString(f.v) > f.max {
			t.Fatalf("%s %q: %d characters, cap %d", f.name, f.v, utf8.RuneCountInString(f.v), f.max)
		}
		checkCleaned(t, f.v, f.max)
	}
	if len(p.Interests) > queue.MaxInterests {
		t.Fatalf("%d interests kept, cap %d", len(p.Interests), queue.MaxInterests)
	}
	for i, tag := range p.Interests {
		if tag == "" || utf8.RuneCountInString(tag) > maxTagLen || strings.ToLower(tag) != tag {
			t.Fatalf("interest %q", tag)
		}
		if slices.Contains(p.Interests[:i], tag) {
			t.Fatalf("interest %q twice", tag)
		}
		checkCleaned(t, tag, maxTagLen)
	}
}

// checkRefusal: what a decoder refuses, it refuses as a refusal (its text
// goes to the client's ack), never as another error.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if _, ok := err.(refusal); !ok {
		t.Fatalf("error %v (%T) is not a refusal", err, err)
	}
}

// checkCleaned asserts what clean promises of s: valid UTF-8, no control
// characters, nothing to trim, no format character a script does not
// need, and cleaning it again changes nothing.
func checkCleaned(t *testing.T, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%q is not UTF-8", s)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }); i >= 0 {
		t.Fatalf("%q keeps a control character at %d", s, i)
	}
	if strings.TrimSpace(s) != s {
		t.Fatalf("%q not trimmed", s)
	}
	if stripFormat(s) != s {
		t.Fatalf("%q keeps format characters", s)
	}
	if again := clean(s, max); again != s {
		t.Fatalf("cleaned %q, cleaned again %q", s, again)
	}
}

// FuzzClean: whatever a client sends, even not UTF-8 (clean's input comes
// from JSON that was checked, but clean must not count on it), clean's
// result respects the cap and checkCleaned.
func FuzzClean(f *testing.F) {
	for _, s := range []string{
		"Ana", "  A\x00n\x1ba\n ", "\u202eadmin\u200b", "\xff\xfe", "علی\u200cرضا", "\u200c", "a\u200c",
		"\U0001F469\u200d\U0001F4BB", "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",
		"\U0001F3F4\U000E007F", "\U000E0067", strings.Repeat("é", 30), "x\u00a0\u2028y", "\u0085",
	} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 1 || max > 64 {
			max = 20
		}
		c := clean(s, max)
		if utf8.RuneCountInString(c) > max {
			t.Fatalf("clean(%q, %d) = %q: %d characters", s, max, c, utf8.RuneCountInString(c))
		}
		checkCleaned(t, c, max)
	})
}
