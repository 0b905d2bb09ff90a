package events

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

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
		{"format characters", []any{map[string]any{"name": "\u202Eadmin\u200B\u2066x", "gender": "\u200Fm\u00ADale", "region": "\uFEFFasia"}}, queue.Profile{Name: "adminx", Gender: "male", Region: "asia"}, ""},
		{"only format characters is Stranger", []any{map[string]any{"name": "\u200B\u200D\u202E"}}, queue.Profile{Name: "Stranger"}, ""},
		{"joiner between replacement characters is Stranger", []any{map[string]any{"name": "\uFFFD\u200D\uFFFD", "region": "x\u0001\u200D\u0001"}}, queue.Profile{Name: "Stranger", Region: "x"}, ""},
		{"joiner cut off at the cap", []any{map[string]any{"name": strings.Repeat("n", 18) + "\U0001F469\u200D\U0001F4BB"}}, queue.Profile{Name: strings.Repeat("n", 18) + "\U0001F469"}, ""},
		{"Persian ZWNJ kept", []any{map[string]any{"name": "علی\u200Cرضا"}}, queue.Profile{Name: "علی\u200Cرضا"}, ""},
		{"empty name is Stranger", []any{map[string]any{"name": "   "}}, queue.Profile{Name: "Stranger"}, ""},
		{"missing fields", []any{map[string]any{}}, queue.Profile{Name: "Stranger"}, ""},
		{"null fields", []any{map[string]any{"name": nil, "gender": nil}}, queue.Profile{Name: "Stranger"}, ""},
		{"no payload", nil, queue.Profile{}, "payload missing"},
		{"null payload", []any{nil}, queue.Profile{}, "payload must be an object"},
		{"string payload", []any{"Ana"}, queue.Profile{}, "payload must be an object"},
		{"array payload", []any{[]any{"Ana"}}, queue.Profile{}, "payload must be an object"},
		{"number name", []any{map[string]any{"name": 42.0}}, queue.Profile{}, "name must be a string"},
		{"object region", []any{map[string]any{"name": "Ana", "region": map[string]any{}}}, queue.Profile{}, "region must be a string"},
		{"interests", []any{map[string]any{"name": "Ana", "interests": []any{"Music", " chess\n"}}}, queue.Profile{Name: "Ana", Interests: []string{"music", "chess"}}, ""},
		{"interests cleaned, repeats and empties dropped, five kept", []any{map[string]any{"interests": []any{"a", "A", " ", "b", "c", "d", "e", "f", strings.Repeat("x", 30)}}}, queue.Profile{Name: "Stranger", Interests: []string{"a", "b", "c", "d", "e"}}, ""},
		{"long interest truncated", []any{map[string]any{"interests": []any{strings.Repeat("X", 30)}}}, queue.Profile{Name: "Stranger", Interests: []string{strings.Repeat("x", 24)}}, ""},
		{"null interests", []any{map[string]any{"interests": nil}}, queue.Profile{Name: "Stranger"}, ""},
		{"empty interests", []any{map[string]any{"interests": []any{}}}, queue.Profile{Name: "Stranger"}, ""},
		{"string interests", []any{map[string]any{"interests": "music"}}, queue.Profile{}, "interests must be an array of strings"},
		{"number in interests", []any{map[string]any{"interests": []any{"music", 1.0}}}, queue.Profile{}, "interests must be an array of strings"},
		{"text only", []any{map[string]any{"name": "Ana", "textOnly": true}}, queue.Profile{Name: "Ana", TextOnly: true}, ""},
		{"text only false", []any{map[string]any{"name": "Ana", "textOnly": false}}, queue.Profile{Name: "Ana"}, ""},
		{"null text only", []any{map[string]any{"name": "Ana", "textOnly": nil}}, queue.Profile{Name: "Ana"}, ""},
		{"string text only", []any{map[string]any{"textOnly": "true"}}, queue.Profile{}, "textOnly must be a boolean"},
		{"number text only", []any{map[string]any{"textOnly": 1.0}}, queue.Profile{}, "textOnly must be a boolean"},
		{"object text only", []any{map[string]any{"textOnly": map[string]any{}}}, queue.Profile{}, "textOnly must be a boolean"},
		{"language", []any{map[string]any{"name": "Ana", "language": "es"}}, queue.Profile{Name: "Ana", Language: "es"}, ""},
		{"three-letter language", []any{map[string]any{"language": "fil"}}, queue.Profile{Name: "Stranger", Language: "fil"}, ""},
		{"null language", []any{map[string]any{"language": nil}}, queue.Profile{Name: "Stranger"}, ""},
		{"upper-case language", []any{map[string]any{"language": "EN"}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"language with a region", []any{map[string]any{"language": "en-US"}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"one-letter language", []any{map[string]any{"language": "e"}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"four-letter language", []any{map[string]any{"language": "engl"}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"empty language", []any{map[string]any{"language": ""}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"padded language", []any{map[string]any{"language": " en"}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"non-ASCII language", []any{map[string]any{"language": "eñ"}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"number language", []any{map[string]any{"language": 12.0}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"array language", []any{map[string]any{"language": []any{"en"}}}, queue.Profile{}, "language must be 2 or 3 lower-case letters"},
		{"every field", []any{map[string]any{"name": "Ana", "gender": "female", "region": "Chile", "interests": []any{"chess"}, "textOnly": true, "language": "es"}}, queue.Profile{Name: "Ana", Gender: "female", Region: "Chile", Interests: []string{"chess"}, TextOnly: true, Language: "es"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeProfile(rawArgs(t, tt.args))
			checkErr(t, err, tt.wantErr)
			if err == nil && !reflect.DeepEqual(got, tt.want) {
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
		{"data over the cap by one byte", []any{map[string]any{"to": "abc", "data": strings.Repeat("x", maxSignalSize-1)}}, "data larger than"},
		{"nested data over the cap", []any{map[string]any{"to": "abc", "data": []any{map[string]any{"sdp": strings.Repeat("x", maxSignalSize)}}}}, "data larger than"},
		{"no payload", nil, "payload missing"},
		{"null", []any{nil}, "payload must be an object"},
		{"number", []any{7.0}, "payload must be an object"},
		{"missing to", []any{map[string]any{"data": offer}}, "to must be a socket id"},
		{"number to", []any{map[string]any{"to": 1.0, "data": offer}}, "to must be a socket id"},
		{"huge to", []any{map[string]any{"to": strings.Repeat("a", 1000), "data": offer}}, "to must be a socket id"},
		{"missing data", []any{map[string]any{"to": "abc"}}, "data missing"},
		{"null data", []any{map[string]any{"to": "abc", "data": nil}}, "data missing"},
		{"TO is not to", []any{map[string]any{"TO": "abc", "data": offer}}, "to must be a socket id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSignal(rawArgs(t, tt.args))
			checkErr(t, err, tt.wantErr)
			if err != nil {
				return
			}
			// The data is relayed as the client encoded it.
			want, _ := json.Marshal(tt.args[0].(map[string]any)["data"])
			if got.to != "abc" || got.data != string(want) {
				t.Fatalf("got to %q, data %s; want abc, %s", got.to, got.data, want)
			}
		})
	}
}

func TestSignalFieldsAsJavaScriptReadsThem(t *testing.T) {
	tests := []struct {
		frame, wantTo, wantData string // frame: an event's JSON array, as the client sent it
	}{
		{`["signal",{"\u0074o":"abc","data":1}]`, "abc", "1"},
		{`["signal",{"to":"x","to":"abc","data":1,"data":{"a":[2]}}]`, "abc", `{"a":[2]}`},
		{`["signal",{ "to" : "abc" , "data" : "\u00e9" }]`, "abc", `"\u00e9"`},
	}
	for _, tt := range tests {
		sig, err := decodeSignal(gjson.Parse(tt.frame).Array()[1:])
		if err != nil {
			t.Fatalf("%s: %v", tt.frame, err)
		}
		if sig.to != tt.wantTo || sig.data != tt.wantData {
			t.Errorf("%s: to %q data %s, want %q %s", tt.frame, sig.to, sig.data, tt.wantTo, tt.wantData)
		}
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
		{"control characters removed, line breaks kept", []any{map[string]any{"message": "ring\a \x1b[31mred\r\nnext\tline"}}, "ring [31mred\nnextline", ""},
		{"bidi override removed", []any{map[string]any{"message": "see \u202Egnp.exe\u202C now"}}, "see gnp.exe now", ""},
		{"zero-width removed", []any{map[string]any{"message": "pa\u200By\u200Dpal\u2060"}}, "paypal", ""},
		{"only format characters is empty", []any{map[string]any{"message": "\u200B \u2066"}}, "", "message empty"},
		{"joiner cut off at the cap", []any{map[string]any{"message": strings.Repeat("m", 498) + "\U0001F469\u200D\U0001F4BB"}}, strings.Repeat("m", 498) + "\U0001F469", ""},
		{"emoji sequence kept", []any{map[string]any{"message": "hi \U0001F469\u200D\U0001F4BB"}}, "hi \U0001F469\u200D\U0001F4BB", ""},
		{"number", []any{map[string]any{"message": 5.0}}, "", "message must be a string"},
		{"missing", []any{map[string]any{}}, "", "message must be a string"},
		{"no payload", nil, "", "payload missing"},
		{"string payload", []any{"hi"}, "", "payload must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeChat(rawArgs(t, tt.args))
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// rawArgs encodes event arguments as a client sends them, and takes them
// as the decoder does.
func rawArgs(t *testing.T, args []any) []gjson.Result {
	t.Helper()
	b, err := json.Marshal(append([]any{"event"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	return gjson.ParseBytes(b).Array()[1:]
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

func TestDecodeReport(t *testing.T) {
	tests := []struct {
		name    string
		args    []any
		want    string
		wantErr string
	}{
		{"spam", []any{map[string]any{"reason": "spam"}}, "spam", ""},
		{"other", []any{map[string]any{"reason": "other"}}, "other", ""},
		{"unknown reason", []any{map[string]any{"reason": "he said my name is Bob"}}, "", "reason must be one of"},
		{"reason of another case", []any{map[string]any{"reason": "Spam"}}, "", "reason must be one of"},
		{"number reason", []any{map[string]any{"reason": 1.0}}, "", "reason must be one of"},
		{"no reason", []any{map[string]any{}}, "", "reason must be one of"},
		{"no payload", nil, "", "payload missing"},
		{"string payload", []any{"spam"}, "", "payload must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeReport(rawArgs(t, tt.args))
			checkErr(t, err, tt.wantErr)
			if err == nil && got.reason != tt.want {
				t.Fatalf("got %q, want %q", got.reason, tt.want)
			}
		})
	}
}
