package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/pelletier/go-toml/v2"

	"github.com/zivro/zivro/config"
)

// Package deploy holds the deployment files' tests (the Dockerfile, the
// platforms' files, the Grafana dashboard), in a module of its own so that
// the server's go.mod needs none of their parsers.
//
// No Docker engine runs where the tests run: the Dockerfile is parsed with
// BuildKit's own parser and held to the rules it must keep (and to
// hadolint's that apply to it); the platform files are parsed and checked
// against what the server reads.

// readVariables returns every environment variable the server reads: the
// configuration's table (PORT also by `zivro healthcheck`).
func readVariables(t *testing.T) []string {
	t.Helper()
	var keys []string
	for _, v := range config.Variables() {
		keys = append(keys, v.Name)
	}
	sort.Strings(keys)
	if len(keys) < 10 {
		t.Fatalf("the configuration has only %v", keys)
	}
	return keys
}

func TestRenderBlueprintDeclaresEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../render.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var bp struct {
		Services []struct {
			Type            string `yaml:"type"`
			Name            string `yaml:"name"`
			Runtime         string `yaml:"runtime"`
			Plan            string `yaml:"plan"`
			BuildCommand    string `yaml:"buildCommand"`
			NumInstances    int    `yaml:"numInstances"`
			HealthCheckPath string `yaml:"healthCheckPath"`
			StartCommand    string `yaml:"startCommand"`
			MaxmemoryPolicy string `yaml:"maxmemoryPolicy"`
			IPAllowList     *[]any `yaml:"ipAllowList"`
			EnvVars         []struct {
				Key         string         `yaml:"key"`
				Value       *string        `yaml:"value"`
				Sync        *bool          `yaml:"sync"`
				FromService map[string]any `yaml:"fromService"`
			} `yaml:"envVars"`
		} `yaml:"services"`
	}
	if err := yaml.UnmarshalWithOptions(b, &bp, yaml.Strict()); err != nil {
		t.Fatalf("render.yaml: %v", err)
	}
	var web, kv int = -1, -1
	for i, s := range bp.Services {
		switch s.Type {
		case "web":
			web = i
		case "keyvalue":
			kv = i
		}
	}
	if web < 0 || kv < 0 {
		t.Fatalf("render.yaml needs a web service and a keyvalue instance: %+v", bp.Services)
	}
	k := bp.Services[kv]
	if k.MaxmemoryPolicy != "noeviction" || k.IPAllowList == nil {
		t.Errorf("keyvalue %s: maxmemoryPolicy %q (want noeviction), ipAllowList set: %v", k.Name, k.MaxmemoryPolicy, k.IPAllowList != nil)
	}
	w := bp.Services[web]
	if w.NumInstances < 1 {
		t.Errorf("numInstances %d, want at least 1", w.NumInstances)
	}
	if w.HealthCheckPath != "/livez" {
		t.Errorf("health check %q, want /livez", w.HealthCheckPath)
	}
	declared := map[string]bool{}
	for _, v := range w.EnvVars {
		if declared[v.Key] {
			t.Errorf("%s declared twice", v.Key)
		}
		declared[v.Key] = true
		kinds := 0
		for _, set := range []bool{v.Value != nil, v.Sync != nil, v.FromService != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 || (v.Sync != nil && *v.Sync) {
			t.Errorf("%s: want exactly one of a value, sync: false or fromService", v.Key)
		}
		secret := strings.Contains(v.Key, "TOKEN") || strings.Contains(v.Key, "KEY") || strings.Contains(v.Key, "SECRET")
		if secret && v.Sync == nil {
			t.Errorf("%s is a secret: it must be sync: false, not in the file", v.Key)
		}
		if v.Key == "REDIS_URL" && v.FromService["name"] != k.Name {
			t.Errorf("REDIS_URL comes from %v, want the keyvalue %s", v.FromService, k.Name)
		}
	}
	for _, key := range readVariables(t) {
		if !declared[key] {
			t.Errorf("render.yaml does not declare %s, which the server reads", key)
		}
	}
}

func TestRailwayConfig(t *testing.T) {
	b, err := os.ReadFile("../railway.json")
	if err != nil {
		t.Fatal(err)
	}
	var rc struct {
		Schema string `json:"$schema"`
		Build  struct {
			Builder        string `json:"builder"`
			DockerfilePath string `json:"dockerfilePath"`
		} `json:"build"`
		Deploy struct {
			StartCommand            string `json:"startCommand"`
			HealthcheckPath         string `json:"healthcheckPath"`
			HealthcheckTimeout      int    `json:"healthcheckTimeout"`
			RestartPolicyType       string `json:"restartPolicyType"`
			RestartPolicyMaxRetries int    `json:"restartPolicyMaxRetries"`
		} `json:"deploy"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		t.Fatalf("railway.json: %v", err)
	}
	if rc.Build.Builder != "DOCKERFILE" || rc.Build.DockerfilePath != "Dockerfile" {
		t.Errorf("build %+v: want the Dockerfile", rc.Build)
	}
	if _, err := os.Stat(filepath.Join("..", rc.Build.DockerfilePath)); err != nil {
		t.Error(err)
	}
	d := rc.Deploy
	if d.HealthcheckPath != "/livez" || d.HealthcheckTimeout <= 0 || d.StartCommand != finalEntrypoint(t) {
		t.Errorf("deploy %+v: want /livez, a timeout, and the image's entrypoint %q", d, finalEntrypoint(t))
	}
	if !slices.Contains([]string{"ON_FAILURE", "ALWAYS", "NEVER"}, d.RestartPolicyType) {
		t.Errorf("restartPolicyType %q", d.RestartPolicyType)
	}
}

func TestFlyConfig(t *testing.T) {
	b, err := os.ReadFile("../fly.toml")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Build       struct{ Dockerfile string } `toml:"build"`
		Env         map[string]string           `toml:"env"`
		HTTPService struct {
			InternalPort int `toml:"internal_port"`
			Checks       []struct {
				Path string `toml:"path"`
			} `toml:"checks"`
		} `toml:"http_service"`
		Metrics struct {
			Port int    `toml:"port"`
			Path string `toml:"path"`
		} `toml:"metrics"`
	}
	if err := toml.Unmarshal(b, &fc); err != nil {
		t.Fatalf("fly.toml: %v", err)
	}
	if fc.Build.Dockerfile != "Dockerfile" || fc.Env["PORT"] != "8080" || fc.HTTPService.InternalPort != 8080 {
		t.Errorf("fly.toml: build %q, PORT %q, internal_port %d: want the Dockerfile on 8080", fc.Build.Dockerfile, fc.Env["PORT"], fc.HTTPService.InternalPort)
	}
	if len(fc.HTTPService.Checks) == 0 || fc.HTTPService.Checks[0].Path != "/livez" {
		t.Errorf("fly.toml: checks %+v, want /livez", fc.HTTPService.Checks)
	}
	if fc.Metrics.Path != "/metrics" || !strings.HasSuffix(fc.Env["METRICS_ADDR"], ":"+toString(fc.Metrics.Port)) {
		t.Errorf("fly.toml: metrics %+v, METRICS_ADDR %q", fc.Metrics, fc.Env["METRICS_ADDR"])
	}
}

func toString(n int) string { b, _ := json.Marshal(n); return string(b) }

// dockerStages parses the Dockerfile into its stages.
func dockerStages(t *testing.T) []instructions.Stage {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages
}

func finalEntrypoint(t *testing.T) string {
	stages := dockerStages(t)
	for _, cmd := range stages[len(stages)-1].Commands {
		if e, ok := cmd.(*instructions.EntrypointCommand); ok {
			return strings.Join(e.CmdLine, " ")
		}
	}
	return ""
}

func TestDockerfile(t *testing.T) {
	stages := dockerStages(t)
	if len(stages) < 3 {
		t.Fatalf("%d stages: want the client, the server and the runtime", len(stages))
	}
	names := map[string]bool{}
	for _, s := range stages[:len(stages)-1] {
		names[s.Name] = true
	}
	for i, s := range stages {
		// hadolint DL3006/DL3007: every base image tagged, none :latest.
		if !strings.Contains(s.BaseName, ":") || strings.HasSuffix(s.BaseName, ":latest") {
			t.Errorf("stage %d: base %q: pin a tag", i, s.BaseName)
		}
		for _, cmd := range s.Commands {
			switch c := cmd.(type) {
			case *instructions.WorkdirCommand:
				if !strings.HasPrefix(c.Path, "/") { // DL3000
					t.Errorf("WORKDIR %q: use an absolute path", c.Path)
				}
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				if strings.Contains(line, "apt-get install") && !strings.Contains(line, "--no-install-recommends") { // DL3015
					t.Errorf("RUN %q: apt-get install without --no-install-recommends", line)
				}
				if strings.Contains(line, "sudo ") { // DL3004
					t.Errorf("RUN %q: no sudo", line)
				}
				if strings.Contains(line, "go build") && !strings.Contains(line, "CGO_ENABLED=0") {
					t.Errorf("RUN %q: the binary must be static (CGO_ENABLED=0) for a base with no libc", line)
				}
			case *instructions.CopyCommand:
				if c.From != "" && !names[c.From] {
					t.Errorf("COPY --from=%s: no such stage", c.From)
				}
			}
		}
	}

	final := stages[len(stages)-1]
	var user, healthcheck, entrypoint, port, expose string
	var staticDir, copiesClient, copiesBinary bool
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.HealthCheckCommand:
			healthcheck = strings.Join(c.Health.Test, " ")
		case *instructions.EntrypointCommand:
			if !c.PrependShell {
				entrypoint = strings.Join(c.CmdLine, " ")
			} else {
				t.Error("ENTRYPOINT in shell form: signals would not reach the server (DL3025)")
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				switch kv.Key {
				case "PORT":
					port = kv.Value
				case "STATIC_DIR":
					staticDir = kv.Value != ""
				}
			}
		case *instructions.ExposeCommand:
			expose = strings.Join(c.Ports, " ")
		case *instructions.CopyCommand:
			if c.From == "client" {
				copiesClient = true
			}
			if c.From == "server" {
				copiesBinary = true
			}
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("final stage runs as %q: want a non-root user", user)
	}
	if !strings.HasPrefix(healthcheck, "CMD ") || !strings.Contains(healthcheck, "healthcheck") {
		t.Errorf("HEALTHCHECK %q: want `CMD [\"/zivro\", \"healthcheck\"]`", healthcheck)
	}
	if entrypoint != "/zivro" || !copiesBinary || !copiesClient || !staticDir {
		t.Errorf("final stage: entrypoint %q, binary copied %v, client copied %v, STATIC_DIR set %v", entrypoint, copiesBinary, copiesClient, staticDir)
	}
	if port == "" || expose != port {
		t.Errorf("EXPOSE %q, PORT %q: want the same port", expose, port)
	}

	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{".git", ".env", "**/node_modules", "bin/"} {
		if !slices.Contains(strings.Split(string(ignore), "\n"), must) {
			t.Errorf(".dockerignore: %s missing: it would reach the build context", must)
		}
	}
}
