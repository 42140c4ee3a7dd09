package cli

// The return channel (Rückkanal, issue 16): the offices' signing keys,
// the outbox of status messages and their sending. Wiring only: the
// messages are composed and sent by sync/rueckkanal, stored by the store.

import (
	"fmt"
	"strings"

	"amtstresen/app"
	"amtstresen/sync/rueckkanal"
)

// runOfficeKey creates or shows an office's signing key (admin only).
// create makes a new Ed25519 pair: the private key goes into the
// [[office]] key_file of that office (a new file, mode 0600) or else into
// the OS keyring; the public key is printed for the portal operator.
// Neither the private key nor anything derived from it beyond the public
// key is printed or logged.
func runOfficeKey(e *env, args []string) error {
	fs := newFlags("office-key", e)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "create" && pos[0] != "show") {
		return usageError("Aufruf: amtstresen office-key create|show DIENSTSTELLE (kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell)")
	}
	office := app.OfficeKey(strings.TrimSpace(pos[1]))
	if _, err := e.officeFlag(string(office)); err != nil || office == "" {
		return usageError(fmt.Sprintf("Unbekannte Dienststelle „%s“. Möglich sind: kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell.", pos[1]))
	}
	db, _, err := e.openAs(app.RoleAdmin, "Den Signaturschlüssel einer Dienststelle zu verwalten")
	if err != nil {
		return err
	}
	db.Close() // only the role was needed
	oc := rueckkanal.OfficeConfigFor(e.cfg, office)
	if pos[0] == "create" {
		_, err := rueckkanal.CreateOfficeKey(oc, e.stdout)
		return err
	}
	k, err := rueckkanal.LoadOfficeKey(oc)
	if err != nil {
		return err
	}
	where := "im Schlüsselbund des Betriebssystems"
	if oc.KeyFile != "" {
		where = "in der Datei " + oc.KeyFile
	}
	fmt.Fprintf(e.stdout, "Signaturschlüssel der Dienststelle %s (%s).\n\nÖffentlicher Schlüssel für den Portalbetreiber (Base64, Ed25519):\n\n%s\n", office, where, k.PublicBase64())
	return nil
}
