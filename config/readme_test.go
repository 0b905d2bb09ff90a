package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeDefaults returns the variables of the README's configuration table
// ("| variable | default | meaning |"), each with its default as written.
// A row may list several variables; its default is then one per variable,
// comma-separated, or one for all.
func readmeDefaults(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, rows, ok := strings.Cut(section, "| variable | default | meaning |\n|---|---|---|\n")
	if !ok {
		t.Fatal("README.md's Configuration section has no | variable | default | meaning | table")
	}
	name := regexp.MustCompile("`([A-Z0-9_]+)`")
	got := map[string]string{}
	for _, row := range strings.Split(rows, "\n") {
		if !strings.HasPrefix(row, "|") {
			break
		}
		cells := strings.Split(row, " | ")
		if len(cells) < 3 {
			t.Fatalf("README row %q: want | variable | default | meaning |", row)
		}
		var names []string
		for _, m := range name.FindAllStringSubmatch(strings.TrimPrefix(cells[0], "| "), -1) {
			names = append(names, m[1])
		}
		defaults := strings.Split(cells[1], ", ")
		if len(defaults) != len(names) {
			defaults = []string{cells[1]}
		}
		for i, n := range names {
			if _, twice := got[n]; twice {
				t.Errorf("README lists %s twice", n)
			}
			got[n] = defaults[min(i, len(defaults)-1)]
		}
	}
	return got
}

// The README's configuration table and the table in code list the same
// variables with the same defaults.
func TestREADMEConfigurationTable(t *testing.T) {
	readme := readmeDefaults(t)
	for _, v := range Variables() {
		want := v.DefaultDoc
		switch {
		case want != "":
		case v.Default == "":
			want = "unset"
		default:
			want = "`" + v.Default + "`"
		}
		got, ok := readme[v.Name]
		if !ok {
			t.Errorf("README's configuration table lacks %s (default %s)", v.Name, want)
			continue
		}
		if got != want {
			t.Errorf("%s: README's default %s, the code's %s", v.Name, got, want)
		}
		delete(readme, v.Name)
	}
	for n := range readme {
		t.Errorf("README's configuration table lists %s, which the server does not read", n)
	}
}
