package cli

import (
	"crypto/ed25519"
	"hash/fnv"

	"amtstresen/app"
	portaldemo "amtstresen/sync/demo"
	"amtstresen/sync/portalsim"
	"amtstresen/sync/rueckkanal"
)

// demoReturn is the demo's return channel: a portal in this process
// (sync/portalsim) that takes the status messages by SMTP on loopback,
// verifies them with the demo offices' public keys and answers each with
// a quittung signed with the demo's portal key into the demo mailbox. The
// offices' keys are made for each start (never the documented test keys).
type demoReturn struct {
	smtp *portalsim.SMTPServer
	keys map[app.OfficeKey]*rueckkanal.OfficeKey
	cfg  *app.Config // the demo's configuration with [smtp] and return_address
}

func startDemoReturn(d *portaldemo.Mailbox) (*demoReturn, error) {
	r := &demoReturn{keys: map[app.OfficeKey]*rueckkanal.OfficeKey{}}
	pubs := map[app.OfficeKey]ed25519.PublicKey{}
	for _, o := range rueckkanal.Offices {
		k, err := rueckkanal.GenerateOfficeKey(o, nil)
		if err != nil {
			return nil, err
		}
		r.keys[o], pubs[o] = k, k.Public()
	}
	p := portalsim.New(portalsim.Config{PortalKey: portaldemo.Key(), OfficeKeys: pubs, Outcome: demoOutcome})
	s, err := p.ListenSMTP(d.Deliver)
	if err != nil {
		return nil, err
	}
	r.smtp = s
	cfg := *d.Config
	cfg.SMTP = app.SMTPConfig{Address: s.Addr, TLS: "none", From: "Bürgerportal-Postfach der Demo <buergerportal@demo.invalid>"}
	cfg.Portal.ReturnAddress = "rueckkanal@portal.demo.invalid"
	r.cfg = &cfg
	return r, nil
}

// demoOutcome: most messages land in the Servicekonto; some are forwarded
// by e-mail, a few cannot be delivered (the demo shows the print queue).
func demoOutcome(s *rueckkanal.Status) rueckkanal.Ergebnis {
	h := fnv.New32a()
	h.Write([]byte(s.Vorgang))
	switch h.Sum32() % 10 {
	case 0:
		return rueckkanal.ErgebnisUnzustellbar
	case 1, 2:
		return rueckkanal.ErgebnisEmail
	}
	return rueckkanal.ErgebnisServicekonto
}

func (r *demoReturn) key(o app.OfficeKey) (*rueckkanal.OfficeKey, error) {
	if k := r.keys[o]; k != nil {
		return k, nil
	}
	return nil, app.Errorf(app.EINVALID, "Die Demo hat keinen Schlüssel für die Dienststelle „%s“.", o)
}

// sender is the demo's sender of status messages to its portal.
func (r *demoReturn) sender(e *env, db senderStore) (*rueckkanal.Sender, error) {
	return buildSender(e, rueckkanal.ConfigFrom(r.cfg), "", db, r.key)
}

func (r *demoReturn) Close() error { return r.smtp.Close() }
