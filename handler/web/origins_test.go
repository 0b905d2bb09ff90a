package web

import (
	"errors"
	"strings"
	"testing"
)

func TestParseOriginsRefusesWhatItCannotMatch(t *testing.T) {
	tests := []struct {
		list, wantErr string
	}{
		{"zivro.vercel.app", "scheme"},
		{"ftp://zivro.example", "scheme"},
		{"https://", "scheme://host"},
		{"https://zivro.example/app", "no path"},
		{"https://zivro.example?x=1", "no path"},
		{"https://user@zivro.example", "scheme://host"},
		{"https://*.*.example.com", `one "*"`},
		{"https://a.*.example.com", `one "*"`},
		{"https://*.app", "two labels"},
		{"/.*/", "scheme"},
		{"*", `"*" lets every website`},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			_, err := ParseOrigins(tt.list, false)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseOrigins(%q) = %v, want an error with %q", tt.list, err, tt.wantErr)
			}
		})
	}
	if _, err := ParseOrigins("*", false); !errors.Is(err, ErrAnyOrigin) {
		t.Fatalf(`ParseOrigins("*", false) = %v, want ErrAnyOrigin (config names ALLOW_ANY_ORIGIN with it)`, err)
	}
	if _, err := ParseOrigins("*,https://a.example", true); err == nil {
		t.Fatal(`"*" with other entries accepted`)
	}
}

func TestOriginsAllows(t *testing.T) {
	tests := []struct {
		list    string
		allowed []string
		refused []string
	}{
		{"https://zivro.example, http://localhost:5173/", []string{"https://zivro.example", "http://localhost:5173", "https://ZIVRO.example"},
			[]string{"http://zivro.example", "https://zivro.example:8443", "https://evil.zivro.example", "http://localhost:5174", "null", ""}},
		{"https://*.vercel.app", []string{"https://zivro.vercel.app", "https://zivro-git-main-team.vercel.app"},
			[]string{"https://vercel.app", "https://.vercel.app", "https://a.b.vercel.app", "http://zivro.vercel.app", "https://zivro.vercel.app:444", "https://zivro.vercel.app.evil.com", "https://evil.com/.vercel.app", "https://zivro_x.vercel.app"}},
		{"https://zivro-*-team.vercel.app", []string{"https://zivro-abc123-team.vercel.app", "https://zivro-git-main-team.vercel.app"},
			[]string{"https://zivro--team.vercel.app", "https://other-abc-team.vercel.app", "https://zivro-abc-evil.vercel.app"}},
		{"http://*.lan.example:8080", []string{"http://box.lan.example:8080"}, []string{"http://box.lan.example", "http://box.lan.example:8081"}},
		{"", nil, []string{"https://zivro.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			o, err := ParseOrigins(tt.list, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, origin := range tt.allowed {
				if !o.Allows(origin) {
					t.Errorf("%q refused", origin)
				}
			}
			for _, origin := range tt.refused {
				if o.Allows(origin) {
					t.Errorf("%q allowed", origin)
				}
			}
		})
	}
	any, err := ParseOrigins("*", true)
	if err != nil || !any.Allows("https://anyone.example") {
		t.Fatalf("allow-any: %v", err)
	}
}

// mustOrigins parses a CLIENT_URL known to be valid.
func mustOrigins(list string) Origins {
	o, err := ParseOrigins(list, false)
	if err != nil {
		panic(err)
	}
	return o
}
