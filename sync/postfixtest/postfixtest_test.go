package postfixtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"amtstresen/sync/dovecottest"
)

func send(addr, to, id string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := fmt.Sprintf("From: amt@office.test\r\nTo: %s\r\nMessage-ID: <%s>\r\nSubject: t\r\n\r\nbody\r\n", to, id)
	return c.SendMail("amt@office.test", []string{to}, strings.NewReader(msg))
}

// TestRelayToDovecot: a mail submitted to Postfix lands in the Dovecot
// mailbox of the recipient's local part; a listed recipient is refused
// with 550, another with 450; a stopped Postfix refuses connections and delivers what it
// had queued after Start.
func TestRelayToDovecot(t *testing.T) {
	dc := dovecottest.StartWith(t, dovecottest.Options{LMTP: true})
	pf := Start(t, Options{LMTPAddr: dc.LMTPAddr, Reject: []string{"abgelehnt@portal.test"}, Defer: []string{"spaeter@portal.test"}})

	if err := send(pf.Addr, "rueckkanal@portal.test", "one@office.test"); err != nil {
		t.Fatalf("send: %v\n%s", err, pf.Log())
	}
	waitCount(t, dc, "rueckkanal", 1, pf)

	err := send(pf.Addr, "abgelehnt@portal.test", "two@office.test")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("reject: got %v, want a 550 reply", err)
	}
	if err := send(pf.Addr, "spaeter@portal.test", "two-b@office.test"); !errors.As(err, &se) || se.Code != 450 {
		t.Fatalf("defer: got %v, want a 450 reply", err)
	}

	pf.Stop()
	if err := send(pf.Addr, "rueckkanal@portal.test", "three@office.test"); err == nil {
		t.Fatal("a stopped Postfix accepted a mail")
	}
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	if err := send(pf.Addr, "rueckkanal@portal.test", "four@office.test"); err != nil {
		t.Fatalf("send after restart: %v\n%s", err, pf.Log())
	}
	waitCount(t, dc, "rueckkanal", 2, pf)
}

// TestQueueSurvivesDovecotDown: with Dovecot down Postfix keeps the mail
// in its queue and delivers it when Dovecot is back.
func TestQueueSurvivesDovecotDown(t *testing.T) {
	dc := dovecottest.StartWith(t, dovecottest.Options{LMTP: true})
	pf := Start(t, Options{LMTPAddr: dc.LMTPAddr})
	dc.Kill()
	if err := send(pf.Addr, "rueckkanal@portal.test", "queued@office.test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := pf.QueueSize()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue size %d, want 1\n%s", n, pf.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := dc.Restart(); err != nil {
		t.Fatal(err)
	}
	pf.Flush()
	waitCount(t, dc, "rueckkanal", 1, pf)
}

func waitCount(t *testing.T, dc *dovecottest.Server, user string, want int, pf *Server) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := dc.Doveadm("-f", "flow", "mailbox", "status", "-u", user, "messages", "INBOX")
		if err == nil && strings.Contains(out, fmt.Sprintf("messages=%d", want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailbox of %s: %q %v, want %d\npostfix:\n%s\ndovecot:\n%s", user, out, err, want, pf.Log(), dc.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
