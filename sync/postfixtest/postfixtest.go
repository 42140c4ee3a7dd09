// Package postfixtest starts a private Postfix for integration tests and
// benchmarks: the office's mail relay, taking SMTP on a free loopback port
// and handing mail for one domain to Dovecot's LMTP (sync/internal/
// dovecottest with Options{LMTP: true}), so that a submitted mail lands in
// a real mailbox readable by IMAP.
//
// Its own main.cf and master.cf live in DIR/conf, queue and data below DIR;
// the log goes to the test's output buffer (maillog_file = /dev/stdout with
// `postfix start-fg`). Postfix only accepts a config directory that the
// default /etc/postfix/main.cf lists in alternate_config_directories: Start
// adds its directory there (under a lock, as several test binaries may run
// at once) and Stop removes it again. When /etc/postfix/main.cf is missing
// (Debian's "No configuration"), it is created with every inet service of
// the default instance disabled, so that nothing listens if that instance
// is ever started.
//
// Postfix must be installed (Debian: postfix with the debconf answer
// "No configuration"; `make deps-test` does that) and the tests run as
// root. When it is missing, Start fails the test saying so: integration
// tests never skip silently.
package postfixtest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"amtstresen/sync/dovecottest"
)

// Binary is Postfix's control command.
const Binary = "/usr/sbin/postfix"

// DefaultConfig is the default instance's main.cf.
const DefaultConfig = "/etc/postfix/main.cf"

// Options shape the relay.
type Options struct {
	// Domain is the recipient domain handed to LMTP (default "portal.test").
	Domain string
	// LMTPAddr is Dovecot's LMTP listener, 127.0.0.1:port (required).
	LMTPAddr string
	// Reject lists recipient addresses the relay refuses at RCPT TO with
	// "550 5.1.1" (a permanent failure for fault tests).
	Reject []string
	// Defer lists recipient addresses the relay refuses at RCPT TO with
	// "450 4.2.0" (a temporary failure).
	Defer []string
}

// Server is a running private Postfix.
type Server struct {
	Addr    string // 127.0.0.1:port, SMTP without TLS, no login (mynetworks)
	Dir     string
	ConfDir string
	Options Options

	cmd    *exec.Cmd
	exited chan struct{}
	logMu  gosync.Mutex
	log    bytes.Buffer
}

// Start starts Postfix and registers its stop with t.Cleanup.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := StartServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartServer starts Postfix; the caller must Close it.
func StartServer(o Options) (*Server, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("Postfix fehlt (%s): die Integrationstests des Rückkanals brauchen einen echten Postfix. Installieren mit `make deps-test` (oder: echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections; apt-get install -y postfix)", Binary)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("der private Postfix der Integrationstests muss als root laufen")
	}
	if o.LMTPAddr == "" {
		return nil, fmt.Errorf("postfixtest: Options.LMTPAddr fehlt (Dovecot mit dovecottest.Options{LMTP: true} starten)")
	}
	if o.Domain == "" {
		o.Domain = "portal.test"
	}
	dir, err := os.MkdirTemp("", "amtstresen-postfix-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o755)
	s := &Server{Dir: dir, ConfDir: filepath.Join(dir, "conf"), Options: o}
	for _, d := range []string{"conf", "queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chown(filepath.Join(dir, "data"), postfixUID(), -1); err != nil {
		return nil, err
	}
	port, err := dovecottest.FreePort()
	if err != nil {
		return nil, err
	}
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	if err := s.writeConfig(port); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := allowConfigDir(s.ConfDir, true); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if out, err := exec.Command(Binary, "-c", s.ConfDir, "check").CombinedOutput(); err != nil {
		s.Close()
		return nil, fmt.Errorf("postfix check: %v: %s", err, out)
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) writeConfig(port int) error {
	access := func(list []string, action string) string {
		var b []string
		for _, a := range list {
			b = append(b, "{"+a+"="+action+"}")
		}
		return strings.Join(b, " ")
	}
	var restrictions []string
	if rules := strings.TrimSpace(access(s.Options.Reject, "550 5.1.1 Recipient address rejected by test relay") + " " +
		access(s.Options.Defer, "450 4.2.0 Recipient temporarily unavailable on test relay")); rules != "" {
		restrictions = append(restrictions, "check_recipient_access inline:{ "+rules+" }")
	}
	restrictions = append(restrictions, "permit_mynetworks", "reject_unauth_destination")
	main := fmt.Sprintf(`# private Postfix of the Amtstresen tests (sync/postfixtest)
compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = /dev/stdout
myhostname = relay.amtstresen.test
mydomain = amtstresen.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_recipient_restrictions = %[2]s
transport_maps = inline:{ %[3]s=lmtp:inet:%[4]s }
default_transport = error:no other destinations in this test relay
relay_transport = error:no other destinations in this test relay
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
lmtp_connection_cache_on_demand = yes
default_destination_concurrency_limit = 20
notify_classes =
bounce_queue_lifetime = 0
biff = no
`, s.Dir, strings.Join(restrictions, ", "), s.Options.Domain, s.Options.LMTPAddr)
	// Only the services a relay to LMTP needs; nothing chrooted.
	master := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, port)
	if err := os.WriteFile(filepath.Join(s.ConfDir, "main.cf"), []byte(main), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.ConfDir, "master.cf"), []byte(master), 0o644)
}

// Start starts Postfix (again, after Stop) with the same queue: mail it
// had accepted is delivered then. Start and Stop are called from one
// goroutine (the test's).
func (s *Server) Start() error {
	if s.running() {
		return nil
	}
	cmd := exec.Command(Binary, "-c", s.ConfDir, "start-fg")
	cmd.Stdout, cmd.Stderr = (*logWriter)(s), (*logWriter)(s)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postfix: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			// Wait for the greeting: smtpd is really serving then.
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 3)
			_, err = io.ReadFull(c, buf)
			c.Close()
			if err == nil && string(buf) == "220" {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("postfix exited at start: %s", s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.Stop()
	return fmt.Errorf("postfix did not start on %s: %s", s.Addr, s.Log())
}

// Stop stops Postfix (`postfix stop`, then the process group if it lingers)
// and waits until nothing listens on Addr. The queue stays.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	exec.Command(Binary, "-c", s.ConfDir, "stop").Run()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
	for i := 0; i < 250; i++ {
		c, err := net.DialTimeout("tcp", s.Addr, 50*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Close stops Postfix, removes its directory from the default main.cf and
// its files.
func (s *Server) Close() {
	s.Stop()
	allowConfigDir(s.ConfDir, false)
	os.RemoveAll(s.Dir)
}

// Log returns what Postfix logged so far.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

type logWriter Server

func (w *logWriter) Write(p []byte) (int, error) {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	return w.log.Write(p)
}

// Flush asks the queue manager to try deferred mail now.
func (s *Server) Flush() error {
	out, err := exec.Command(Binary, "-c", s.ConfDir, "flush").CombinedOutput()
	if err != nil {
		return fmt.Errorf("postfix flush: %v: %s", err, out)
	}
	return nil
}

// QueueSize returns the number of mails in Postfix's queue (not yet delivered).
func (s *Server) QueueSize() (int, error) {
	n := 0
	err := filepath.Walk(filepath.Join(s.Dir, "queue"), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(filepath.Join(s.Dir, "queue"), p)
		top := strings.SplitN(rel, string(filepath.Separator), 2)[0]
		if fi.Mode().IsRegular() && (top == "incoming" || top == "active" || top == "deferred" || top == "hold" || top == "maildrop") {
			n++
		}
		return nil
	})
	return n, err
}

func postfixUID() int {
	out, err := exec.Command("id", "-u", "postfix").Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// lockFile serialises edits of the default main.cf across test binaries.
const lockFile = "/etc/postfix/.amtstresen-postfixtest.lock"

// allowConfigDir adds dir to (or removes it from) alternate_config_directories
// in the default main.cf, and drops entries whose directory is gone (left by
// a test that was killed).
func allowConfigDir(dir string, add bool) error {
	lf, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock %s: %w", lockFile, err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lockFile, err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(DefaultConfig); os.IsNotExist(err) {
		const fresh = "# Created by the Amtstresen tests (sync/postfixtest) on a Postfix\n" +
			"# installed with \"No configuration\": the default instance offers no network service.\n" +
			"compatibility_level = 3.6\nmaster_service_disable = inet\n"
		if err := os.WriteFile(DefaultConfig, []byte(fresh), 0o644); err != nil {
			return fmt.Errorf("create %s: %w", DefaultConfig, err)
		}
	}
	out, err := exec.Command("postconf", "-c", filepath.Dir(DefaultConfig), "-h", "alternate_config_directories").Output()
	if err != nil {
		return fmt.Errorf("postconf alternate_config_directories: %w", err)
	}
	set := map[string]bool{}
	for _, d := range strings.FieldsFunc(string(out), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if strings.Contains(d, "amtstresen-postfix-") {
			if _, err := os.Stat(d); err != nil {
				continue // a killed test's leftover
			}
		}
		set[d] = true
	}
	if add {
		set[dir] = true
	} else {
		delete(set, dir)
	}
	var list []string
	for d := range set {
		list = append(list, d)
	}
	sort.Strings(list)
	if o, err := exec.Command("postconf", "-c", filepath.Dir(DefaultConfig), "-e", "alternate_config_directories = "+strings.Join(list, ", ")).CombinedOutput(); err != nil {
		return fmt.Errorf("postconf -e alternate_config_directories: %v: %s", err, o)
	}
	return nil
}
