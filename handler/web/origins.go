package web

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Origins is the set of web origins whose pages may use the server: exact origins, patterns with one wildcard in the host's
// first label (preview deployments), or, when asked for explicitly, any.
type Origins struct {
	any      bool
	exact    map[string]bool
	patterns []originPattern
	entries  []string // as configured, normalized: for logs
}

// originPattern matches scheme://<prefix><label part><suffix><rest>[:port]:
// the wildcard stands for one or more letters, digits or hyphens, inside
// the first label of the host, never for a dot.
type originPattern struct {
	scheme, prefix, suffix, rest, port string
}

// ErrAnyOrigin is ParseOrigins's refusal of "*" when allowAny does not say
// that every origin is meant.
var ErrAnyOrigin = errors.New(`"*" lets every website use this server`)

// ParseOrigins parses a list of comma-separated origins, each
// scheme://host[:port] with scheme http or https and nothing after the host
// (a trailing slash is dropped). The first label of the host may hold one
// "*" (https://*.example.com, https://zivro-*.vercel.app), followed by at
// least two labels. "*" alone allows every origin, and only when allowAny
// says that is meant (ErrAnyOrigin otherwise). An empty list allows no
// cross-origin request. An error names the entry at fault.
func ParseOrigins(list string, allowAny bool) (Origins, error) {
	o := Origins{exact: map[string]bool{}}
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimRight(strings.TrimSpace(entry), "/")
		if entry == "" {
			continue
		}
		if entry == "*" {
			if !allowAny {
				return Origins{}, ErrAnyOrigin
			}
			o.any = true
			o.entries = append(o.entries, entry)
			continue
		}
		if err := o.add(strings.ToLower(entry)); err != nil {
			return Origins{}, fmt.Errorf("entry %q: %w", entry, err)
		}
	}
	if o.any && len(o.entries) > 1 {
		return Origins{}, errors.New(`"*" allows every origin: list nothing else with it`)
	}
	return o, nil
}

func (o *Origins) add(entry string) error {
	const form = "want scheme://host[:port], like https://zivro.example.com or https://zivro-*.vercel.app"
	u, err := url.Parse(entry)
	if err != nil {
		return fmt.Errorf("%s: %w", form, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("scheme %q: %s", u.Scheme, form)
	case u.Host == "" || u.Opaque != "" || u.User != nil:
		return errors.New(form)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(entry, "?") || strings.HasSuffix(entry, "#"):
		return fmt.Errorf("an origin has no path, query or fragment: %s", form)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || (port == "" && strings.HasSuffix(u.Host, ":")) {
		return errors.New(form)
	}
	o.entries = append(o.entries, entry)
	if !strings.Contains(host, "*") {
		o.exact[entry] = true
		return nil
	}
	label, rest, _ := strings.Cut(host, ".")
	prefix, suffix, _ := strings.Cut(label, "*")
	switch {
	case strings.Count(host, "*") > 1 || strings.Contains(rest, "*"):
		return errors.New(`one "*", in the first label of the host only`)
	case strings.Count(rest, ".") < 1:
		return errors.New(`a "*" needs at least two labels after it (https://*.example.com, not https://*.com)`)
	}
	o.patterns = append(o.patterns, originPattern{scheme: u.Scheme, prefix: prefix, suffix: suffix, rest: "." + rest, port: port})
	return nil
}

// Allows reports whether a page of origin (the Origin header) may use the
// server.
func (o Origins) Allows(origin string) bool {
	if o.any {
		return true
	}
	origin = strings.ToLower(origin)
	if o.exact[origin] {
		return true
	}
	for _, p := range o.patterns {
		if p.matches(origin) {
			return true
		}
	}
	return false
}

func (p originPattern) matches(origin string) bool {
	rest, ok := strings.CutPrefix(origin, p.scheme+"://")
	if !ok {
		return false
	}
	if p.port != "" {
		if rest, ok = strings.CutSuffix(rest, ":"+p.port); !ok {
			return false
		}
	}
	label, ok := strings.CutSuffix(rest, p.rest)
	if !ok {
		return false
	}
	middle, ok := strings.CutPrefix(label, p.prefix)
	if !ok {
		return false
	}
	if middle, ok = strings.CutSuffix(middle, p.suffix); !ok || middle == "" {
		return false
	}
	for _, c := range middle {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// String lists the configured origins, for logs.
func (o Origins) String() string { return strings.Join(o.entries, ",") }
