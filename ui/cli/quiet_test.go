package cli

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// buildProgram builds the real program (the module's main package) into
// dir: the order in which packages start is the program's, not a test's.
func buildProgram(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "amtstresen")
	cmd := exec.Command(goTool, "build", "-tags", "sqlite_fts5", "-o", bin, ".")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Issue 14, point 7: with LANG=C, LANG= or LC_ALL=C.UTF-8 (how systemd and
// cron start jobs) a headless command prints only its own output: no Fyne
// log line on stderr, the program's messages in German. Before, every
// command under LC_ALL=C.UTF-8 began with "Fyne error: Error parsing user
// locale C" on stderr.
func TestHeadlessCommandsQuiet(t *testing.T) {
	bin := buildProgram(t, t.TempDir()) // before confirmEnv moves the cache folder (and Go's build cache with it)
	dbPath, ref := confirmEnv(t)        // an existing database with one case
	home := t.TempDir()
	for _, locale := range [][]string{{"LANG=C"}, {"LANG="}, {"LC_ALL=C.UTF-8"}, {"LANG=C.UTF-8"}} {
		var env []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			switch k {
			case "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME":
				continue
			}
			env = append(env, kv)
		}
		env = append(env, "HOME="+home)
		env = append(env, locale...)
		run := func(args ...string) (string, string, int) {
			cmd := exec.Command(bin, args...)
			cmd.Env = env
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			rc := 0
			if ee, ok := err.(*exec.ExitError); ok {
				rc = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return out.String(), errOut.String(), rc
		}

		out, errOut, rc := run("cases", "--json", "--db", dbPath)
		var cases []map[string]any
		if rc != 0 || errOut != "" || json.Unmarshal([]byte(out), &cases) != nil || len(cases) != 1 || cases[0]["ref"] != ref {
			t.Errorf("%v cases --json: rc %d, stderr %q, stdout %s", locale, rc, errOut, out)
		}
		out, errOut, rc = run("version")
		if rc != 0 || errOut != "" || !strings.HasPrefix(out, "Amtstresen ") {
			t.Errorf("%v version: rc %d, stderr %q, stdout %q", locale, rc, errOut, out)
		}
		out, errOut, rc = run("help")
		if rc != 0 || errOut != "" || !strings.Contains(out, "Befehle") {
			t.Errorf("%v help: rc %d, stderr %q, stdout %q", locale, rc, errOut, out)
		}
		// No configuration: one German line, the program's own.
		out, errOut, rc = run("sync", "--once", "--db", dbPath)
		if rc != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "Fehler: Der Portal-Abgleich ist nicht eingerichtet") {
			t.Errorf("%v sync --once without configuration: rc %d, stdout %q, stderr %q", locale, rc, out, errOut)
		}
	}
}

// Issue 14, point 8: the program hands its one logger to each component;
// none takes slog.Default. A command on a new database logs the store's
// migrations on the command's own stderr (component=storage), and the
// process's default logger receives nothing.
func TestLoggerHandedIn(t *testing.T) {
	emptyHome(t)
	var global bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	out, errOut, rc := runCmd(t, "cases", "--json", "--db", filepath.Join(t.TempDir(), "neu.db"))
	if rc != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("cases on a new database: rc %d\n%s%s", rc, out, errOut)
	}
	if !strings.Contains(errOut, `msg="schema migrated" component=storage`) {
		t.Errorf("the store's log is not on the command's stderr:\n%s", errOut)
	}
	if global.Len() > 0 {
		t.Errorf("logged through slog.Default:\n%s", global.String())
	}
}
