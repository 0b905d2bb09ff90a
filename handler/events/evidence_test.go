package events

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zivro/zivro/queue"
)

// still encodes a w×h picture as JPEG (noisy: a large file at a high
// quality), or PNG.
func still(t *testing.T, w, h int, noisy bool, quality int, asPNG bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x), uint8(y), 128, 255}
			if noisy {
				c = color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: quality})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func dataURL(b []byte) string { return stillPrefix + base64.StdEncoding.EncodeToString(b) }

func TestDecodeReportEvidence(t *testing.T) {
	small := still(t, 160, 120, false, 60, false)
	if len(small) > queue.MaxStillBytes {
		t.Fatalf("test still of %d bytes is over the bound", len(small))
	}
	big := still(t, 160, 120, true, 100, false)
	if len(big) <= queue.MaxStillBytes {
		t.Fatalf("test still of %d bytes is not over the bound", len(big))
	}
	line := func(mine bool, text string) map[string]any {
		return map[string]any{"mine": mine, "text": text, "at": 1700000000000.0}
	}
	lines := func(n int) []any {
		var ls []any
		for i := range n {
			ls = append(ls, line(i%2 == 0, "line"))
		}
		return ls
	}
	report := func(ev any) []any { return []any{map[string]any{"reason": "nudity", "evidence": ev}} }
	tests := []struct {
		name     string
		args     []any
		wantErr  string
		wantCode code
		check    func(t *testing.T, ev *queue.Evidence)
	}{
		{name: "none", args: []any{map[string]any{"reason": "spam"}}, check: func(t *testing.T, ev *queue.Evidence) {
			if ev != nil {
				t.Fatalf("evidence %+v from a report without", ev)
			}
		}},
		{name: "null", args: report(nil), check: func(t *testing.T, ev *queue.Evidence) {
			if ev != nil {
				t.Fatalf("evidence %+v from null", ev)
			}
		}},
		{name: "lines and still", args: report(map[string]any{"lines": []any{line(true, "hi"), line(false, " rude\u202e words \x07")}, "still": dataURL(small)}),
			check: func(t *testing.T, ev *queue.Evidence) {
				if ev == nil || len(ev.Lines) != 2 || !ev.Lines[0].Mine || ev.Lines[1].Mine || ev.Lines[1].Text != "rude words" || ev.Lines[1].At != 1700000000000 {
					t.Fatalf("evidence %+v", ev)
				}
				if !bytes.Equal(ev.Still, small) {
					t.Fatal("still not kept as sent")
				}
			}},
		{name: "bare base64 still", args: report(map[string]any{"still": base64.StdEncoding.EncodeToString(small)}), check: func(t *testing.T, ev *queue.Evidence) {
			if ev == nil || len(ev.Still) == 0 || ev.Lines != nil {
				t.Fatalf("evidence %+v", ev)
			}
		}},
		{name: "20 lines", args: report(map[string]any{"lines": lines(20)})},
		{name: "21 lines", args: report(map[string]any{"lines": lines(21)}), wantErr: "over 20 chat lines", wantCode: codeTooLarge},
		{name: "long line", args: report(map[string]any{"lines": []any{line(true, strings.Repeat("é", 301))}}), wantErr: "over 300 characters", wantCode: codeTooLarge},
		{name: "still over 12 KB", args: report(map[string]any{"still": dataURL(big)}), wantErr: "over 12 KB", wantCode: codeTooLarge},
		{name: "still wider", args: report(map[string]any{"still": dataURL(still(t, 161, 120, false, 50, false))}), wantErr: "over 160×120", wantCode: codeTooLarge},
		{name: "still taller", args: report(map[string]any{"still": dataURL(still(t, 100, 121, false, 50, false))}), wantErr: "over 160×120", wantCode: codeTooLarge},
		{name: "png still", args: report(map[string]any{"still": dataURL(still(t, 16, 12, false, 0, true))}), wantErr: "must be a JPEG", wantCode: codeInvalid},
		{name: "not base64", args: report(map[string]any{"still": stillPrefix + "@@@"}), wantErr: "JPEG data URL", wantCode: codeInvalid},
		{name: "still a number", args: report(map[string]any{"still": 1.0}), wantErr: "still must be a string", wantCode: codeInvalid},
		{name: "evidence a string", args: report("everything"), wantErr: "evidence must be an object", wantCode: codeInvalid},
		{name: "lines an object", args: report(map[string]any{"lines": map[string]any{}}), wantErr: "lines must be an array", wantCode: codeInvalid},
		{name: "line without mine", args: report(map[string]any{"lines": []any{map[string]any{"text": "x"}}}), wantErr: "mine must be a boolean", wantCode: codeInvalid},
		{name: "line text a number", args: report(map[string]any{"lines": []any{map[string]any{"mine": true, "text": 3.0}}}), wantErr: "text must be a string", wantCode: codeInvalid},
		{name: "line at negative", args: report(map[string]any{"lines": []any{map[string]any{"mine": true, "text": "x", "at": -1.0}}}), wantErr: "time in ms", wantCode: codeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeReport(rawArgs(t, tt.args))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				var r refusal
				if errors.As(err, &r) && r.code != tt.wantCode {
					t.Fatalf("code %q, want %q", r.code, tt.wantCode)
				}
				return
			}
			if tt.check != nil {
				tt.check(t, got.evidence)
			}
		})
	}
}
