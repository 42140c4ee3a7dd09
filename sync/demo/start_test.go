package demo_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"amtstresen/app"
	portalsync "amtstresen/sync"
	"amtstresen/sync/delivery"
	"amtstresen/sync/demo"
	"amtstresen/sync/internal/memstore"
	"amtstresen/sync/portaltest"
)

func TestStartDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := demo.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	s, err := portalsync.New(d.Config, st, app.Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mails != demo.MailCount || res.Cases < 15 || res.Review < 8 || res.Appointments < 5 {
		t.Errorf("demo result %+v", res)
	}
	t.Log(res.Summary())
}

// TestDemoHasItsOwnKey: the demo signs with a key of its own, not the
// portal's documented test key the tests sign with: a demo delivery is
// genuine for the demo's configuration and forged for one with the test
// key, and the other way round.
func TestDemoHasItsOwnKey(t *testing.T) {
	if demo.PublicKeyBase64() == portaltest.TestPublicKeyBase64() {
		t.Fatal("the demo uses the portal's test key")
	}
	demoMail := demo.NewGenerator(1).Antrag(demo.AntragSpec{Service: "sperrmuell"})
	testMail := portaltest.New(1).Antrag(portaltest.AntragSpec{Service: "sperrmuell"})
	demoPub, testPub := demo.Key().Public().(ed25519.PublicKey), portaltest.TestPublicKey()
	for _, tc := range []struct {
		name string
		raw  []byte
		pub  ed25519.PublicKey
		want app.ReviewReason
	}{
		{"demo mail, demo key", demoMail.Raw, demoPub, ""},
		{"demo mail, test key", demoMail.Raw, testPub, app.ReviewSignatureInvalid},
		{"test mail, demo key", testMail.Raw, demoPub, app.ReviewSignatureInvalid},
		{"test mail, test key", testMail.Raw, testPub, ""},
	} {
		if got := delivery.ParseDelivery(tc.raw, tc.pub, delivery.Limits{}).Review; got != tc.want {
			t.Errorf("%s: review %q, want %q", tc.name, got, tc.want)
		}
	}
}
