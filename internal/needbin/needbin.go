// Package needbin finds the programs that some tests run (redis-server,
// prometheus): `make test` installs them and runs every test, while
// `go test -short ./...` must pass on a machine that has none of them.
package needbin

import (
	"os"
	"os/exec"
	"testing"
)

// Path returns the path of the program name. When it is not installed, the
// test is skipped under -short, with one line saying what it needs, and
// fails otherwise: outside -short the test is the point. install says how
// to get it ("apt-get install redis-server").
func Path(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testing.Short() {
		t.Skipf("needs %s (%s)", name, install)
	}
	t.Fatalf("%s not found in PATH: %s", name, install)
	return ""
}

// File returns path when it exists (a package a setup step installs, as
// bench/noderef's node_modules). Otherwise, as Path: the test is skipped
// under -short with one line saying what it needs, and fails outside it.
func File(t testing.TB, path, install string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if testing.Short() {
		t.Skipf("needs %s (%s)", path, install)
	}
	t.Fatalf("%s not found: %s", path, install)
	return ""
}
