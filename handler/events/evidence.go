package events

import (
	"bytes"
	"encoding/base64"
	"image/jpeg"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/zivro/zivro/queue"
)

// stillPrefix starts the only still a report may carry: a JPEG data URL
// (a bare base64 string is taken too).
const stillPrefix = "data:image/jpeg;base64,"

// decodeEvidence checks a report's evidence, { lines?: [{ mine: bool,
// text: string, at?: number }], still?: JPEG data URL }: at most
// queue.MaxEvidenceLines lines of at most queue.MaxEvidenceLineChars
// characters, a JPEG of at most queue.MaxStillBytes and MaxStillWidth ×
// MaxStillHeight. Absent or null: no evidence (the original client never
// sends any). Lines are cleaned as chat is. Over a bound: too-large;
// anything else off: invalid.
func decodeEvidence(v gjson.Result) (*queue.Evidence, error) {
	if !v.Exists() || v.Type == gjson.Null {
		return nil, nil
	}
	if !v.IsObject() {
		return nil, invalid("evidence must be an object")
	}
	var ev queue.Evidence
	if lines := v.Get("lines"); lines.Exists() && lines.Type != gjson.Null {
		if !lines.IsArray() {
			return nil, invalid("evidence lines must be an array")
		}
		arr := lines.Array()
		if len(arr) > queue.MaxEvidenceLines {
			return nil, refuse(codeTooLarge, "evidence over 20 chat lines")
		}
		for _, l := range arr {
			line, err := decodeEvidenceLine(l)
			if err != nil {
				return nil, err
			}
			ev.Lines = append(ev.Lines, line)
		}
	}
	if still := v.Get("still"); still.Exists() && still.Type != gjson.Null {
		if still.Type != gjson.String {
			return nil, invalid("evidence still must be a string")
		}
		img, err := decodeStill(still.Str)
		if err != nil {
			return nil, err
		}
		ev.Still = img
	}
	if len(ev.Lines) == 0 && ev.Still == nil {
		return nil, nil
	}
	return &ev, nil
}

func decodeEvidenceLine(l gjson.Result) (queue.EvidenceLine, error) {
	if !l.IsObject() {
		return queue.EvidenceLine{}, invalid("evidence line must be an object")
	}
	mine, text, at := l.Get("mine"), l.Get("text"), l.Get("at")
	if mine.Type != gjson.True && mine.Type != gjson.False {
		return queue.EvidenceLine{}, invalid("evidence line's mine must be a boolean")
	}
	if text.Type != gjson.String {
		return queue.EvidenceLine{}, invalid("evidence line's text must be a string")
	}
	if utf8.RuneCountInString(text.Str) > queue.MaxEvidenceLineChars {
		return queue.EvidenceLine{}, refuse(codeTooLarge, "evidence line over 300 characters")
	}
	var ms int64
	if at.Exists() && at.Type != gjson.Null {
		if at.Type != gjson.Number || at.Num < 0 || at.Num > 1e15 {
			return queue.EvidenceLine{}, invalid("evidence line's at must be a time in ms")
		}
		ms = int64(at.Num)
	}
	clean := strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, text.Str)
	return queue.EvidenceLine{Mine: mine.Type == gjson.True, Text: strings.TrimSpace(stripFormat(clean)), At: ms}, nil
}

// decodeStill checks a still: base64 of a JPEG whose header says at most
// MaxStillWidth × MaxStillHeight, of at most MaxStillBytes.
func decodeStill(s string) ([]byte, error) {
	s = strings.TrimPrefix(s, stillPrefix)
	if base64.StdEncoding.DecodedLen(len(s)) > queue.MaxStillBytes+3 {
		return nil, refuse(codeTooLarge, "evidence still over 12 KB")
	}
	img, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, invalid("evidence still must be a JPEG data URL")
	}
	if len(img) > queue.MaxStillBytes {
		return nil, refuse(codeTooLarge, "evidence still over 12 KB")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return nil, invalid("evidence still must be a JPEG")
	}
	if cfg.Width > queue.MaxStillWidth || cfg.Height > queue.MaxStillHeight {
		return nil, refuse(codeTooLarge, "evidence still over 160×120")
	}
	return img, nil
}
