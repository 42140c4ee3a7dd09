package dovecottest

import "testing"

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
