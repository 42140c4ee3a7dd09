package mailbox

import (
	"context"
	"testing"

	"github.com/emersion/go-imap/v2"

	"amtstresen/app"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/portaltest"
)

// TestFetchSkipsVanished (point 3): a mail another client expunged
// between the listing and the download (real Dovecot answers for it
// without a body) is skipped without a panic or an error, and the run
// that meets it keeps its cursor, so that nothing is passed over.
func TestFetchSkipsVanished(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(51)
	var mails []*portaltest.Mail
	for range 3 {
		m := g.Antrag(portaltest.AntragSpec{})
		mails = append(mails, m)
		if err := d.Save("INBOX", m.Raw); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: d.Addr, TLS: TLSNone, Username: d.User}}
	cfg.Defaults()
	if err := CheckConfig(&cfg.IMAP); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := Dial(ctx, &cfg.IMAP, d.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Select("INBOX", false); err != nil {
		t.Fatal(err)
	}
	refs, err := c.List(0)
	if err != nil || len(refs) != 3 {
		t.Fatalf("list: %v %d", err, len(refs))
	}
	// Another client takes the second mail away meanwhile.
	other, err := Dial(ctx, &cfg.IMAP, d.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Select("INBOX", false); err != nil {
		t.Fatal(err)
	}
	set := imap.UIDSetNum(imap.UID(refs[1].UID))
	if err := other.Client().Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Client().UIDExpunge(set).Close(); err != nil {
		t.Fatal(err)
	}
	other.Logout()
	items, err := c.Fetch(refs, 25<<20)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(items) != 2 || items[0].UID != refs[0].UID || items[1].UID != refs[2].UID {
		t.Fatalf("fetched %d mails", len(items))
	}
	if headers, err := c.FetchHeaders(refs); err != nil || len(headers) != 2 {
		t.Errorf("headers: %v, %d", err, len(headers))
	}
}
