// Package dovecottest starts a private Dovecot IMAP server on a free
// loopback port for integration tests and benchmarks: its own config, run,
// state and mail directories under a temp folder, a static passdb, a static
// userdb (uid nobody), maildir storage, ssl = no (loopback only).
//
// Tests and the measuring programs (ui/cli/internal/…) import it, the
// product never does. Dovecot must be installed (Debian: dovecot-imapd;
// `make deps-test` and .ci/run install it). When it is missing, Start fails the test with a
// message saying so: integration tests never skip silently.
package dovecottest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is the Dovecot server binary.
const Binary = "/usr/sbin/dovecot"

// Server is a running private Dovecot.
type Server struct {
	Addr     string // 127.0.0.1:port
	User     string
	Password string
	Dir      string // everything lives below
	Conf     string // dovecot.conf
	// LMTPAddr is 127.0.0.1:port of Dovecot's LMTP service (Options.LMTP),
	// where a mail server delivers into the mailboxes; "" without it.
	LMTPAddr string

	cmd *exec.Cmd
	uid int
	gid int
}

// Start starts Dovecot and registers its stop with t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Options are optional features of the private Dovecot.
type Options struct {
	// LMTP also starts Dovecot's LMTP service on a loopback port (needs
	// dovecot-lmtpd), so that Postfix can deliver into the mailboxes. The
	// user is the recipient's local part (rueckkanal@portal.test →
	// mailbox of user "rueckkanal").
	LMTP bool
}

// StartWith starts Dovecot with options and registers its stop with t.Cleanup.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := StartServerWith(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartServer starts Dovecot; the caller must Stop it.
func StartServer() (*Server, error) { return StartServerWith(Options{}) }

// StartServerWith starts Dovecot with options; the caller must Stop it.
func StartServerWith(o Options) (*Server, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("Dovecot fehlt (%s): die Integrationstests brauchen einen echten Dovecot. Installieren mit `apt-get install -y dovecot-imapd` oder `make deps-test`", Binary)
	}
	if _, err := exec.LookPath("doveadm"); err != nil {
		return nil, fmt.Errorf("doveadm fehlt: apt-get install -y dovecot-imapd")
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("der private Dovecot der Integrationstests muss als root laufen (er wechselt für die Postfächer zu nobody)")
	}
	dir, err := os.MkdirTemp("", "amtstresen-dovecot-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o755)
	var b [8]byte
	rand.Read(b[:])
	s := &Server{User: "eingang", Password: hex.EncodeToString(b[:]), Dir: dir, uid: 65534, gid: 65534}
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	os.Chown(filepath.Join(dir, "mail"), s.uid, s.gid)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	s.Conf = filepath.Join(dir, "dovecot.conf")
	protocols, lmtp := "imap", ""
	if o.LMTP {
		if _, err := os.Stat("/usr/lib/dovecot/lmtp"); err != nil {
			return nil, fmt.Errorf("Dovecots LMTP fehlt: apt-get install -y dovecot-lmtpd oder `make deps-test`")
		}
		lport, err := FreePort()
		if err != nil {
			return nil, err
		}
		s.LMTPAddr = "127.0.0.1:" + strconv.Itoa(lport)
		protocols = "imap lmtp"
		lmtp = fmt.Sprintf(`service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %d
  }
}
protocol lmtp {
  auth_username_format = %%Ln
}
`, lport)
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
protocols = %[4]s
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = 1
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = dovenull
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = static
  args = password=%[2]s
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[3]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
%[5]s`, dir, s.Password, port, protocols, lmtp)
	if err := os.WriteFile(s.Conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	s.cmd = exec.Command(Binary, "-F", "-c", s.Conf)
	var out bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if s.cmd.ProcessState != nil {
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return fmt.Errorf("dovecot did not start on %s: %s %s", s.Addr, out.String(), log)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Kill stops the server (for "server down" tests); Restart starts it again
// with the same mail.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		s.cmd = nil
	}
	// Child processes (imap, auth) run in other process groups after
	// forking; make sure nothing listens any more.
	for i := 0; i < 100; i++ {
		c, err := net.DialTimeout("tcp", s.Addr, 50*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts the server again after Kill.
func (s *Server) Restart() error { return s.start() }

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	s.Kill()
	os.RemoveAll(s.Dir)
}

// Log returns the Dovecot log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b)
}

// Doveadm runs doveadm with the server's config.
func (s *Server) Doveadm(args ...string) (string, error) {
	cmd := exec.Command("doveadm", append([]string{"-c", s.Conf}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("doveadm %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Save stores one mail in a mailbox with `doveadm save` (creating it).
func (s *Server) Save(mailbox string, raw []byte) error {
	if mailbox != "INBOX" {
		s.Doveadm("mailbox", "create", "-u", s.User, mailbox)
	}
	cmd := exec.Command("doveadm", "-c", s.Conf, "save", "-u", s.User, "-m", mailbox)
	cmd.Stdin = bytes.NewReader(raw)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("doveadm save: %v: %s", err, out)
	}
	return nil
}

// Maildir returns the user's maildir root.
func (s *Server) Maildir() string { return filepath.Join(s.Dir, "mail", s.User, "Maildir") }

// FillInbox writes mails straight into the INBOX maildir (fast, for
// thousands of mails) and lets Dovecot index them.
func (s *Server) FillInbox(raws [][]byte) error {
	root := s.Maildir()
	for _, d := range []string{"", "cur", "new", "tmp"} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return err
		}
		os.Chown(p, s.uid, s.gid)
		os.Chown(filepath.Join(s.Dir, "mail", s.User), s.uid, s.gid)
	}
	base := time.Now().Unix()
	for i, raw := range raws {
		name := fmt.Sprintf("%d.M%dP%d.amtstresen,S=%d", base, i, os.Getpid(), len(raw))
		p := filepath.Join(root, "new", name)
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			return err
		}
		os.Chown(p, s.uid, s.gid)
	}
	_, err := s.Doveadm("force-resync", "-u", s.User, "INBOX")
	if err != nil {
		return err
	}
	_, err = s.Count("INBOX")
	return err
}

// FillMailbox writes mails straight into another mailbox's maildir (the
// Maildir++ folder ".A.B" for "A/B"), in order, and lets Dovecot index
// them: their UIDs follow the order of raws.
func (s *Server) FillMailbox(mailbox string, raws [][]byte) error {
	if mailbox == "INBOX" {
		return s.FillInbox(raws)
	}
	s.Doveadm("mailbox", "create", "-u", s.User, mailbox)
	root := filepath.Join(s.Maildir(), "."+strings.ReplaceAll(mailbox, "/", "."))
	for _, d := range []string{"", "cur", "new", "tmp"} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return err
		}
		os.Chown(p, s.uid, s.gid)
	}
	base := time.Now().Unix()
	for i, raw := range raws {
		// Dovecot assigns UIDs to new mails sorted by the time in the
		// name: one second apart keeps the order of raws.
		name := fmt.Sprintf("%d.M%dP%d.amtstresen,S=%d", base+int64(i), i, os.Getpid(), len(raw))
		p := filepath.Join(root, "new", name)
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			return err
		}
		os.Chown(p, s.uid, s.gid)
	}
	if _, err := s.Doveadm("force-resync", "-u", s.User, mailbox); err != nil {
		return err
	}
	_, err := s.Count(mailbox)
	return err
}

// Count returns the number of mails in a mailbox (0 when it does not exist).
func (s *Server) Count(mailbox string) (int, error) {
	out, err := s.Doveadm("-f", "flow", "mailbox", "status", "-u", s.User, "messages", mailbox)
	if err != nil {
		if strings.Contains(out, "doesn't exist") || strings.Contains(out, "Mailbox doesn't exist") {
			return 0, nil
		}
		return 0, err
	}
	out = strings.TrimSpace(out)
	i := strings.LastIndex(out, "messages=")
	if i < 0 {
		return 0, fmt.Errorf("doveadm mailbox status: %q", out)
	}
	return strconv.Atoi(strings.TrimSpace(out[i+len("messages="):]))
}

// MustCount is Count for tests.
func (s *Server) MustCount(t testing.TB, mailbox string) int {
	t.Helper()
	n, err := s.Count(mailbox)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// SetUIDValidity changes a mailbox's UIDVALIDITY (all UIDs become new).
func (s *Server) SetUIDValidity(mailbox string, v uint32) error {
	_, err := s.Doveadm("mailbox", "update", "-u", s.User, "--uid-validity", strconv.FormatUint(uint64(v), 10), mailbox)
	return err
}

// MessageIDs lists the Message-ID header of every mail in a mailbox.
func (s *Server) MessageIDs(mailbox string) ([]string, error) {
	out, err := s.Doveadm("-f", "tab", "fetch", "-u", s.User, "hdr.message-id", "mailbox", mailbox)
	if err != nil {
		return nil, err
	}
	var ids []string
	for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if i == 0 || strings.TrimSpace(l) == "" {
			continue // header line
		}
		ids = append(ids, strings.Trim(strings.TrimSpace(l), "<>"))
	}
	return ids, nil
}
