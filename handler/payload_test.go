package handler

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/zivro/zivro/queue"
)

func TestDecodeProfile(t *testing.T) {
	tests := []struct {
		name    string
		args    []any
		want    queue.Profile
		wantErr string
	}{
		{"full", []any{map[string]any{"name": "Ana", "gender": "female", "region": "europe"}}, queue.Profile{Name: "Ana", Gender: "female", Region: "europe"}, ""},
		{"trimmed and cleaned", []any{map[string]any{"name": "  A\u0000n\u001ba\n ", "gender": "\tmale", "region": "asia\r"}}, queue.Profile{Name: "Ana", Gender: "male", Region: "asia"}, ""},
		{"truncated", []any{map[string]any{"name": strings.Repeat("n", 30), "gender": strings.Repeat("g", 30), "region": strings.Repeat("r", 50)}}, queue.Profile{Name: strings.Repeat("n", 20), Gender: strings.Repeat("g", 20), Region: strings.Repeat("r", 40)}, ""},
		{"truncated by characters, not bytes", []any{map[string]any{"name": strings.Repeat("é", 25)}}, queue.Profile{Name: strings.Repeat("é", 20)}, ""},
		{"empty name is Stranger", []any{map[string]any{"name": "   "}}, queue.Profile{Name: "Stranger"}, ""},
		{"missing fields", []any{map[string]any{}}, queue.Profile{Name: "Stranger"}, ""},
		{"null fields", []any{map[string]any{"name": nil, "gender": nil}}, queue.Profile{Name: "Stranger"}, ""},
		{"no payload", nil, queue.Profile{}, "payload missing"},
		{"null payload", []any{nil}, queue.Profile{}, "payload must be an object"},
		{"string payload", []any{"Ana"}, queue.Profile{}, "payload must be an object"},
		{"array payload", []any{[]any{"Ana"}}, queue.Profile{}, "payload must be an object"},
		{"number name", []any{map[string]any{"name": 42.0}}, queue.Profile{}, "name must be a string"},
		{"object region", []any{map[string]any{"name": "Ana", "region": map[string]any{}}}, queue.Profile{}, "region must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeProfile(tt.args)
			checkErr(t, err, tt.wantErr)
			if err == nil && got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeSignal(t *testing.T) {
	offer := map[string]any{"type": "offer", "sdp": "v=0\r\n"}
	tests := []struct {
		name    string
		args    []any
		wantErr string
	}{
		{"offer", []any{map[string]any{"to": "abc", "data": offer}}, ""},
		{"candidate", []any{map[string]any{"to": "abc", "data": map[string]any{"candidate": map[string]any{"sdpMid": "0", "sdpMLineIndex": 0.0}}}}, ""},
		{"data at the cap", []any{map[string]any{"to": "abc", "data": strings.Repeat("x", maxSignalSize-2)}}, ""},
		{"data over the cap", []any{map[string]any{"to": "abc", "data": strings.Repeat("x", maxSignalSize)}}, "data larger than"},
		{"nested data over the cap", []any{map[string]any{"to": "abc", "data": []any{map[string]any{"sdp": strings.Repeat("x", maxSignalSize)}}}}, "data larger than"},
		{"no payload", nil, "payload missing"},
		{"null", []any{nil}, "payload must be an object"},
		{"number", []any{7.0}, "payload must be an object"},
		{"missing to", []any{map[string]any{"data": offer}}, "to must be a socket id"},
		{"number to", []any{map[string]any{"to": 1.0, "data": offer}}, "to must be a socket id"},
		{"huge to", []any{map[string]any{"to": strings.Repeat("a", 1000), "data": offer}}, "to must be a socket id"},
		{"missing data", []any{map[string]any{"to": "abc"}}, "data missing"},
		{"null data", []any{map[string]any{"to": "abc", "data": nil}}, "data missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSignal(tt.args)
			checkErr(t, err, tt.wantErr)
			if err == nil && got.to != "abc" {
				t.Fatalf("to = %q", got.to)
			}
		})
	}
}

func TestDecodeChat(t *testing.T) {
	tests := []struct {
		name    string
		args    []any
		want    string
		wantErr string
	}{
		{"plain", []any{map[string]any{"message": "hi"}}, "hi", ""},
		{"trimmed", []any{map[string]any{"message": "  hi there \n"}}, "hi there", ""},
		{"capped", []any{map[string]any{"message": strings.Repeat("m", 600)}}, strings.Repeat("m", 500), ""},
		{"capped by characters", []any{map[string]any{"message": strings.Repeat("ü", 600)}}, strings.Repeat("ü", 500), ""},
		{"empty after trim", []any{map[string]any{"message": " \t\n"}}, "", "message empty"},
		{"number", []any{map[string]any{"message": 5.0}}, "", "message must be a string"},
		{"missing", []any{map[string]any{}}, "", "message must be a string"},
		{"no payload", nil, "", "payload missing"},
		{"string payload", []any{"hi"}, "", "payload must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeChat(tt.args)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJSONSizeBoundsEncoding(t *testing.T) {
	// The estimate may be generous, never short: a payload that encodes
	// larger than the cap must be counted larger too.
	values := []any{
		"plain",
		map[string]any{"type": "offer", "sdp": strings.Repeat("a=candidate\r\n", 50)},
		[]any{1.0, true, nil, "x", map[string]any{"k": []any{"v"}}},
		map[string]any{"candidate": map[string]any{"candidate": "candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0.0}},
	}
	for _, v := range values {
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonSize(v, 1<<20); got < len(enc)-2*strings.Count(string(enc), `\`) {
			t.Fatalf("jsonSize(%s) = %d, encoding is %d bytes", enc, got, len(enc))
		}
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var r refusal
	if !errors.As(err, &r) || !strings.Contains(r.reason, want) {
		t.Fatalf("error %v, want a refusal containing %q", err, want)
	}
}
