package dovecottest

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func TestStart(t *testing.T) {
	s := Start(t)
	if err := s.Save("INBOX", []byte("From: a@b\r\nMessage-ID: <x@y>\r\nSubject: hi\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.FillInbox([][]byte{[]byte("From: a@b\r\nMessage-ID: <z@y>\r\n\r\nb\r\n")}); err != nil {
		t.Fatal(err)
	}
	if n := s.MustCount(t, "INBOX"); n != 2 {
		t.Fatalf("count %d\n%s", n, s.Log())
	}
	ids, err := s.MessageIDs("INBOX")
	if err != nil || len(ids) != 2 {
		t.Fatalf("ids %v %v", ids, err)
	}
	if n := s.MustCount(t, "Übernommen"); n != 0 {
		t.Fatal(n)
	}
	if err := s.SetUIDValidity("INBOX", 4242); err != nil {
		t.Fatal(err)
	}
}

func TestLMTP(t *testing.T) {
	s := StartWith(t, Options{LMTP: true})
	c, err := net.DialTimeout("tcp", s.LMTPAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	lc := smtp.NewClientLMTP(c)
	defer lc.Close()
	if err := lc.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	msg := "From: a@b\r\nTo: rueckkanal@portal.test\r\nMessage-ID: <lmtp@test>\r\n\r\nbody\r\n"
	if err := lc.SendMail("a@b", []string{"rueckkanal@portal.test"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
	out, err := s.Doveadm("-f", "flow", "mailbox", "status", "-u", "rueckkanal", "messages", "INBOX")
	if err != nil || !strings.Contains(out, "messages=1") {
		t.Fatalf("mailbox of rueckkanal: %q %v\n%s", out, err, s.Log())
	}
	if n := s.MustCount(t, "INBOX"); n != 0 {
		t.Fatalf("the mail went to %s too: %d", s.User, n)
	}
}
