package events

import "testing"

func TestStripFormat(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello", "hello"},
		{"bidi override", "a\u202Eb\u202Cc", "abc"},
		{"bidi isolates and marks", "\u2066a\u2069\u200Eb\u200F\u061C", "ab"},
		{"zero width space, word joiner, BOM, soft hyphen", "a\u200Bb\u2060c\uFEFFd\u00ADe", "abcde"},
		{"ZWJ between Latin letters", "a\u200Db", "ab"},
		{"ZWNJ between Latin letters", "a\u200Cb", "ab"},
		{"ZWNJ at the start or end", "\u200Cمی\u200C", "می"},
		{"Persian ZWNJ", "می\u200Cخواهم", "می\u200Cخواهم"},
		{"Devanagari ZWJ", "क्\u200Dष", "क्\u200Dष"},
		{"Malayalam ZWNJ", "ക\u200Cക", "ക\u200Cക"},
		{"ZWNJ between two scripts", "a\u200Cم", "aم"},
		{"two joiners in a row", "م\u200C\u200Cم", "مم"},
		{"emoji ZWJ sequence", "\U0001F469\u200D\U0001F4BB", "\U0001F469\u200D\U0001F4BB"},
		{"emoji ZWJ after skin tone", "\U0001F469\U0001F3FD\u200D\U0001F52C", "\U0001F469\U0001F3FD\u200D\U0001F52C"},
		{"emoji ZWJ after presentation selector", "\u2764\uFE0F\u200D\U0001F525", "\u2764\uFE0F\u200D\U0001F525"},
		{"ZWJ from letter to emoji", "a\u200D\U0001F4BB", "a\U0001F4BB"},
		{"Scotland flag", "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"},
		{"tags hiding text", "hi\U000E0068\U000E0069", "hi"},
		{"flag without cancel tag", "\U0001F3F4\U000E0067\U000E0062", "\U0001F3F4"},
		{"tags after text that is no flag", "x\U000E0067\U000E007F", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripFormat(tt.in); got != tt.want {
				t.Fatalf("stripFormat(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}
