package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
)

// cases: creating a case, its state changes, notes and messages.
var cases = []test{
	{"CreateCaseIdempotent", testCreateCaseIdempotent},
	{"RefsPerOfficeAndYear", testRefsPerOfficeAndYear},
	{"CreateCaseValidation", testCreateCaseValidation},
	{"CreateCaseFlagsAndAttachments", testCreateCaseFlagsAndAttachments},
	{"CreatedCaseAsStored", testCreatedCaseAsStored},
	{"CreateCasesTogether", testCreateCasesTogether},
	{"ProvisionalRefOfOfflineIntake", testProvisionalRef},
	{"ClaimRelease", testClaimRelease},
	{"StatusTransitions", testStatusTransitions},
	{"SetStatus", testSetStatus},
	{"Forward", testForward},
	{"Notes", testNotes},
	{"MessagesAndWithdrawal", testMessagesAndWithdrawal},
	{"FailedChangeRecordsNoReceipt", testFailedChangeRecordsNoReceipt},
	{"CaseAuditCarriesCaseOffice", testCaseAuditCarriesCaseOffice},
}

// testCreateCaseIdempotent: the idempotency key (the portal case id, the
// counter form's UUID) makes a repeated creation return the first case.
func testCreateCaseIdempotent(e *env) {
	nc := e.dogCase("p-1", "Anna", "Muster", app.OfficeCochem, Start)
	c1, created, err := e.st.CreateCase(e.ctx, nc, nil)
	if err != nil || !created {
		e.Fatalf("first: %v, created %v", err, created)
	}
	if c1.Ref != "COC-2026-00001" || c1.Status != app.StatusReceived || c1.Office != app.OfficeCochem || c1.PortalCase != "p-1" {
		e.Errorf("case: %+v", c1)
	}
	if !c1.ReceivedAt.Equal(Start) || c1.Applicant != nc.Applicant || c1.Municipality != nc.Routing.Municipality || c1.RoutingReason == "" {
		e.Errorf("case data: %+v", c1)
	}
	if string(c1.Raw) != string(nc.Raw) || !strings.Contains(string(c1.Fields), "276098106543210") {
		e.Errorf("documents not kept whole: raw %s fields %s", c1.Raw, c1.Fields)
	}
	// The same key again (a re-delivery): same case, no number used up.
	again := e.dogCase("p-1", "Anna", "Muster-Geändert", app.OfficeCochem, Start.Add(time.Hour))
	c2, created, err := e.st.CreateCase(e.ctx, again, nil)
	if err != nil || created || c2.ID != c1.ID || c2.Ref != c1.Ref || c2.Applicant.LastName != "Muster" {
		e.Fatalf("repeat: %v, created %v, %+v", err, created, c2)
	}
	c3 := e.create(e.dogCase("p-2", "Karl", "Zender", app.OfficeCochem, Start))
	if c3.Ref != "COC-2026-00002" {
		e.Errorf("next ref = %s, want COC-2026-00002", c3.Ref)
	}
	if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{}); n != 2 {
		e.Errorf("%d cases, want 2", n)
	}
	if got := e.auditActions(c1.Ref); len(got) != 1 || got[0] != "portal case.create channel=portal office=vg-cochem" {
		e.Errorf("audit = %q", got)
	}
	// Counter cases without portal id, each with its own form key.
	for i, key := range []string{"form-a", "form-b", "form-a"} {
		nc := e.dogCase(key, "Eva", "Thal", app.OfficeZell, Start)
		nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, "mm"
		c, created, err := e.st.CreateCase(e.ctx, nc, nil)
		if err != nil || created != (i < 2) || c.PortalCase != "" || c.Raw != nil {
			e.Errorf("counter case %d: %v created %v %+v", i, err, created, c)
		}
	}
}

// testRefsPerOfficeAndYear: references count per office code and per
// year of receipt in Europe/Berlin, without gaps.
func testRefsPerOfficeAndYear(e *env) {
	// New Year's Eve 23:30 UTC is already the new year in Berlin.
	newYear := time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)
	for i, tc := range []struct {
		office app.OfficeKey
		at     time.Time
		want   string
	}{
		{app.OfficeZell, Start, "ZEL-2026-00001"},
		{app.OfficeZell, Start, "ZEL-2026-00002"},
		{app.OfficeCochem, Start, "COC-2026-00001"},
		{app.OfficeKreis, Start, "KV-2026-00001"},
		{app.OfficeKaisersesch, Start, "KAI-2026-00001"},
		{app.OfficeUlmen, Start, "ULM-2026-00001"},
		{"", Start, "CZ-2026-00001"},
		{"", Start, "CZ-2026-00002"},
		{app.OfficeZell, time.Date(2025, 3, 1, 9, 0, 0, 0, app.Berlin), "ZEL-2025-00001"},
		{app.OfficeZell, newYear.Add(-time.Hour), "ZEL-2025-00002"},
		{app.OfficeZell, newYear, "ZEL-2026-00003"},
		{app.OfficeZell, Start, "ZEL-2026-00004"},
	} {
		nc := e.dogCase("k"+string(rune('a'+i)), "A", "B", app.OfficeZell, tc.at)
		nc.Routing.Office = tc.office
		c := e.create(nc)
		if c.Ref != tc.want {
			e.Errorf("%d: ref %s, want %s", i, c.Ref, tc.want)
		}
		if c.Office != tc.office {
			e.Errorf("%d: office %q, want %q", i, c.Office, tc.office)
		}
	}
}

func testCreateCaseValidation(e *env) {
	for name, mod := range map[string]func(*app.NewCase){
		"unknown office": func(nc *app.NewCase) { nc.Routing.Office = "vg-atlantis" },
		"no service":     func(nc *app.NewCase) { nc.Service = " " },
		"bad fields":     func(nc *app.NewCase) { nc.Fields = []byte("{nope") },
		"bad raw":        func(nc *app.NewCase) { nc.Raw = []byte("[") },
		"bad channel":    func(nc *app.NewCase) { nc.Channel = "fax" },
	} {
		nc := e.dogCase("k-"+name, "A", "B", app.OfficeZell, Start)
		mod(nc)
		_, _, err := e.st.CreateCase(e.ctx, nc, nil)
		e.wantCode(err, app.EINVALID)
	}
	if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{}); n != 0 {
		e.Errorf("%d cases created from invalid input", n)
	}
}

// testCreateCaseFlagsAndAttachments: flags without repeats in the order
// given (the case's, then routing's); files are stored by the hash of
// their data (the hash the sender announced does not count), under their
// base name; a missing file keeps its announcement and its problem.
func testCreateCaseFlagsAndAttachments(e *env) {
	photo := []byte("JPEG … Impfpass")
	sum := sha256.Sum256(photo)
	hexSum := hex.EncodeToString(sum[:])
	nc := e.dogCase("p-1", "Anna", "Muster", "", Start)
	nc.Flags = []app.Flag{app.FlagAttachmentMissing, app.FlagRoutingUnclear}
	nc.Routing.Flags = []app.Flag{app.FlagRoutingUnclear, app.FlagOutsideDistrict}
	nc.Attachments = []app.NewAttachment{
		{Attachment: app.Attachment{Name: `..\..\Windows\impfpass.jpg`, Type: "image/jpeg", Size: 1, SHA256: "announced"}, Data: photo},
		{Attachment: app.Attachment{Name: "fehlt.pdf", Type: "application/pdf", Size: 99, SHA256: "ABC", Problem: "Die Anlage fehlt in der Sendung."}},
		{Attachment: app.Attachment{Name: "../../etc/kopie.jpg", Type: "image/jpeg"}, Data: photo},
	}
	c := e.create(nc)
	if want := []app.Flag{app.FlagAttachmentMissing, app.FlagRoutingUnclear, app.FlagOutsideDistrict}; !slices.Equal(c.Flags, want) {
		e.Errorf("flags = %v, want %v", c.Flags, want)
	}
	want := []app.Attachment{
		{Name: "impfpass.jpg", Type: "image/jpeg", Size: int64(len(photo)), SHA256: hexSum, Received: true},
		{Name: "fehlt.pdf", Type: "application/pdf", Size: 99, SHA256: "abc", Problem: "Die Anlage fehlt in der Sendung."},
		{Name: "kopie.jpg", Type: "image/jpeg", Size: int64(len(photo)), SHA256: hexSum, Received: true},
	}
	if len(c.Attachments) != len(want) {
		e.Fatalf("attachments = %+v", c.Attachments)
	}
	for i := range want {
		if c.Attachments[i] != want[i] {
			e.Errorf("attachment %d = %+v, want %+v", i, c.Attachments[i], want[i])
		}
	}
	data, err := e.st.AttachmentData(e.ctx, strings.ToUpper(hexSum))
	if err != nil || string(data) != string(photo) {
		e.Errorf("data = %q, %v", data, err)
	}
	// Another case with the same file refers to the same content.
	other := e.dogCase("p-2", "Bernd", "Beispiel", app.OfficeZell, Start)
	other.Attachments = []app.NewAttachment{{Attachment: app.Attachment{Name: "pass.jpg", Type: "image/jpeg"}, Data: photo}}
	if c2 := e.create(other); len(c2.Attachments) != 1 || c2.Attachments[0].SHA256 != hexSum {
		e.Errorf("same file in another case: %+v", c2.Attachments)
	}
	if data, err := e.st.AttachmentData(e.ctx, hexSum); err != nil || string(data) != string(photo) {
		e.Errorf("shared data = %q, %v", data, err)
	}
	_, err = e.st.AttachmentData(e.ctx, "abc")
	e.wantCode(err, app.ENOTFOUND)
}

// testCreatedCaseAsStored: the case CreateCase (and CreatePreparedCase
// for a case PrepareCase prepared) returns equals what a read returns, for
// every kind of input, inside a batch and outside.
func testCreatedCaseAsStored(e *env) {
	at := time.Date(2026, 11, 29, 8, 15, 30, 123456000, time.UTC)
	e.clock.set(at)
	createdCaseAsStored(e, e.st, at, nil)
}

// CreatedCaseAsStored runs the check of the test CreatedCaseAsStored on
// st, with prepared called on each case st prepared (PrepareCase) before
// it is created: for an adapter to check that its own preparation, not a
// check on the way, made the case. st's clock must stand still at now.
func CreatedCaseAsStored(t *testing.T, st app.PortalStore, now time.Time, prepared func(app.PreparedCase)) {
	createdCaseAsStored(&env{T: t, ctx: context.Background()}, st, now, prepared)
}

func createdCaseAsStored(e *env, st app.PortalStore, now time.Time, prepared func(app.PreparedCase)) {
	photo := []byte("PDF … Nachweis")
	variants := map[string]func(nc *app.NewCase){
		"plain": func(nc *app.NewCase) {},
		"flags and attachments": func(nc *app.NewCase) {
			nc.Flags = []app.Flag{app.FlagAttachmentMismatch, app.FlagRoutingUnclear}
			nc.Routing.Flags = []app.Flag{app.FlagRoutingUnclear, app.FlagOutsideDistrict}
			nc.Attachments = []app.NewAttachment{
				{Attachment: app.Attachment{Name: `C:\tmp\nachweis.pdf`, Type: "application/pdf", Size: 3, SHA256: "x", Problem: "Größe stimmt nicht"}, Data: photo},
				{Attachment: app.Attachment{Name: "fehlt.jpg", Type: "image/jpeg", Size: 7, SHA256: " ABCD "}},
			}
		},
		"undecided, no raw, empty fields": func(nc *app.NewCase) {
			nc.Routing = app.Decision{Reason: "Postleitzahl unklar"}
			nc.Raw, nc.Fields = nil, nil
		},
		"counter, received now": func(nc *app.NewCase) {
			nc.Channel, nc.PortalCase, nc.ReceivedAt, nc.Clerk = app.ChannelCounter, "", time.Time{}, "MÜL"
			nc.Presented = []app.PresentedDocument{{Name: "Personalausweis"}, {Name: "Impfpass", Copy: true}}
		},
		"received with microseconds, other zone": func(nc *app.NewCase) {
			nc.ReceivedAt = time.Date(2026, 12, 31, 23, 59, 59, 987654000, app.Berlin)
			nc.Applicant.Phone, nc.Applicant.Salutation = "0261 1234", ""
		},
		"invalid UTF-8 in the name": func(nc *app.NewCase) {
			nc.Applicant.LastName = "M\xfcller"
			nc.Applicant.Address.Place = "Zell \ufffd (Mosel)"
		},
	}
	i := 0
	for name, change := range variants {
		for _, mode := range []string{"direct", "batch", "prepared", "prepared, batch"} {
			inBatch := strings.HasSuffix(mode, "batch")
			i++
			nc := e.dogCase(fmt.Sprintf("p-%d", i), "Zoë", "Çelik-Müller", app.OfficeCochem, Start)
			change(nc)
			var prep app.PreparedCase
			if strings.HasPrefix(mode, "prepared") {
				prep = st.PrepareCase(nc)
				if prepared != nil {
					prepared(prep)
				}
			}
			var got *app.Case
			create := func(st app.PortalStore) error {
				rc := &app.Receipt{Mailbox: "INBOX", UID: uint32(i), SHA256: fmt.Sprintf("<%d@x>", i)}
				var c *app.Case
				var created bool
				var err error
				if prep != nil {
					c, created, err = st.CreatePreparedCase(e.ctx, prep, rc)
				} else {
					c, created, err = st.CreateCase(e.ctx, nc, rc)
				}
				if err == nil && !created {
					err = fmt.Errorf("not created")
				}
				got = c
				return err
			}
			var err error
			if inBatch {
				err = st.Batch(e.ctx, create)
			} else {
				err = create(st)
			}
			if err != nil {
				e.Fatalf("%s (%s): %v", name, mode, err)
			}
			read, err := st.CaseByRef(e.ctx, got.Ref)
			if err != nil {
				e.Fatal(err)
			}
			if !reflect.DeepEqual(got, read) {
				e.Errorf("%s (%s):\nreturned %+v\nread     %+v", name, mode, got, read)
			}
			// And both are right: the time of a case without one is now,
			// a file is stored under the hash of its data.
			if nc.ReceivedAt.IsZero() && !got.ReceivedAt.Equal(now) {
				e.Errorf("%s (%s): received %v, want now", name, mode, got.ReceivedAt)
			}
			for k, f := range nc.Attachments {
				if sum := sha256.Sum256(f.Data); f.Data != nil && got.Attachments[k].SHA256 != hex.EncodeToString(sum[:]) {
					e.Errorf("%s (%s): file %d stored as %s", name, mode, k, got.Attachments[k].SHA256)
				}
			}
		}
	}
}

// testCreateCasesTogether: CreatePreparedCases (the sync's run of
// applications) writes for each case what CreatePreparedCase writes (a
// twin created one by one reads the same but for its identity, audit and
// search included), numbers each office's cases in the order given
// without gaps, reports a key known before or repeated in the run as not
// created (its receipt recorded all the same), and stops at a case that
// fails: the cases before it stand, it and those after it leave nothing.
func testCreateCasesTogether(e *env) {
	e.clock.set(Start) // the same time of change for a case and its twin
	photo := []byte("PDF … Nachweis")
	offices := []app.OfficeKey{app.OfficeCochem, app.OfficeZell}
	mk := func(key string, i int) *app.NewCase {
		nc := e.dogCase(key, "Zoë", fmt.Sprintf("Blockfeld%c", 'a'+i), offices[i%2], Start.Add(time.Duration(i)*time.Minute))
		switch i % 5 {
		case 1:
			nc.Flags = []app.Flag{app.FlagAttachmentMismatch}
			nc.Routing.Flags = []app.Flag{app.FlagRoutingUnclear}
			nc.Attachments = []app.NewAttachment{
				{Attachment: app.Attachment{Name: `C:\tmp\nachweis.pdf`, Type: "application/pdf", Size: 3, SHA256: "x"}, Data: photo},
				{Attachment: app.Attachment{Name: "fehlt.jpg", Type: "image/jpeg", Size: 7, SHA256: " ABCD ", Problem: "fehlt"}},
			}
		case 2:
			nc.Routing = app.Decision{Reason: "Postleitzahl unklar"}
			nc.Raw, nc.Fields = nil, nil
		case 3:
			nc.ReceivedAt = time.Date(2026, 12, 31, 23, 59, 59, 987654000, app.Berlin)
		case 4:
			nc.Applicant.Address.Place = "Zell \xfc (Mosel)"
		}
		return nc
	}
	known := e.create(e.dogCase("b-known", "Anna", "Vorher", app.OfficeCochem, Start))
	var ncs []*app.NewCase
	for i := 0; i < 13; i++ {
		ncs = append(ncs, mk(fmt.Sprintf("b-%d", i), i))
	}
	ncs[5] = e.dogCase("b-known", "Anna", "Nochmal", app.OfficeCochem, Start) // known before
	ncs[8] = mk("b-2", 2)                                                     // repeats the run's third case
	ncs[10].Routing.Office = "vg-unbekannt"                                   // fails: the run stops there
	var ps []app.PreparedCase
	var rcs []*app.Receipt
	for i, nc := range ncs {
		ps = append(ps, e.st.PrepareCase(nc))
		rcs = append(rcs, &app.Receipt{SHA256: fmt.Sprintf("sum-%d", i), Mailbox: "INBOX", UID: uint32(i + 1), Kind: "antrag", PortalCase: nc.PortalCase})
	}
	var created []bool
	var failed error
	e.ok(e.st.Batch(e.ctx, func(tx app.PortalStore) error {
		created, failed = tx.CreatePreparedCases(e.ctx, ps, rcs)
		return nil
	}))
	e.wantCode(failed, app.EINVALID)
	want := []bool{true, true, true, true, true, false, true, true, false, true}
	if !slices.Equal(created, want) {
		e.Fatalf("created %v, want %v", created, want)
	}
	// Numbers in the order given, per office, after the case before.
	next := map[app.OfficeKey]int{app.OfficeCochem: 2, app.OfficeZell: 1, "": 1}
	prefix := map[app.OfficeKey]string{app.OfficeCochem: "COC", app.OfficeZell: "ZEL", "": "CZ"}
	for i, nc := range ncs[:len(created)] {
		c, err := e.st.CaseByPortalID(e.ctx, nc.PortalCase)
		e.ok(err)
		if !e.hasReceipt(e.st, rcs[i].SHA256) {
			e.Errorf("case %d: no receipt", i)
		}
		if !created[i] {
			continue
		}
		o := nc.Routing.Office
		if ref := app.FormatRef(prefix[o], c.ReceivedAt.In(app.Berlin).Year(), next[o]); c.Ref != ref {
			e.Errorf("case %d: %s, want %s", i, c.Ref, ref)
		}
		next[o]++
		// Its twin, created one by one, reads the same.
		twin := *nc
		twin.IdempotencyKey, twin.PortalCase = "t-"+nc.IdempotencyKey, "t-"+nc.PortalCase
		tc, ok, err := e.st.CreatePreparedCase(e.ctx, e.st.PrepareCase(&twin), nil)
		if err != nil || !ok {
			e.Fatalf("twin %d: %v, %v", i, ok, err)
		}
		tc, err = e.st.CaseByRef(e.ctx, tc.Ref)
		e.ok(err)
		if a, b := e.auditActions(c.Ref), e.auditActions(tc.Ref); !slices.Equal(a, b) || len(a) != 1 {
			e.Errorf("case %d: audit %v, twin %v", i, a, b)
		}
		e.wantSearch(fmt.Sprintf("Blockfeld%c", 'a'+i), []string{c.Ref, tc.Ref})
		c.ID, c.Ref, c.PortalCase, tc.ID, tc.Ref, tc.PortalCase = 0, "", "", 0, "", ""
		if !reflect.DeepEqual(c, tc) {
			e.Errorf("case %d:\ntogether %+v\nalone    %+v", i, c, tc)
		}
	}
	if c, err := e.st.CaseByPortalID(e.ctx, "b-known"); err != nil || c.Ref != known.Ref || c.Applicant.LastName != "Vorher" {
		e.Errorf("known case: %+v, %v", c, err)
	}
	// The failing case and those after it: nothing.
	for i := len(created); i < len(ncs); i++ {
		_, err := e.st.CaseByPortalID(e.ctx, ncs[i].PortalCase)
		e.wantCode(err, app.ENOTFOUND)
		if e.hasReceipt(e.st, rcs[i].SHA256) {
			e.Errorf("case %d: receipt recorded", i)
		}
	}
	// Outside a batch: the cases before the failing one stay.
	created, failed = e.st.CreatePreparedCases(e.ctx, ps[11:], rcs[11:])
	if failed != nil || !slices.Equal(created, []bool{true, true}) {
		e.Errorf("rest: %v, %v", created, failed)
	}
}

func testClaimRelease(e *env) {
	c := e.create(e.dogCase("p-1", "Anna", "Muster", app.OfficeCochem, Start))
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	ab := app.Actor{Clerk: "ab", Office: app.OfficeCochem}
	steps := []struct {
		name     string
		do       func() error
		code     string
		assignee string
	}{
		{"claim free", func() error { return e.st.Claim(e.ctx, c.Ref, mm) }, "", "mm"},
		{"claim again", func() error { return e.st.Claim(e.ctx, strings.ToLower(c.Ref), mm) }, "", "mm"},
		{"claim held", func() error { return e.st.Claim(e.ctx, c.Ref, ab) }, app.ECONFLICT, "mm"},
		{"release by other", func() error { return e.st.Release(e.ctx, c.Ref, ab) }, app.ECONFLICT, "mm"},
		{"release", func() error { return e.st.Release(e.ctx, c.Ref, mm) }, "", ""},
		{"release free", func() error { return e.st.Release(e.ctx, c.Ref, mm) }, "", ""},
		{"claim by other", func() error { return e.st.Claim(e.ctx, c.Ref, ab) }, "", "ab"},
		{"no clerk", func() error { return e.st.Claim(e.ctx, c.Ref, app.Actor{}) }, app.EINVALID, "ab"},
		{"unknown", func() error { return e.st.Claim(e.ctx, "ZEL-1999-00001", mm) }, app.ENOTFOUND, "ab"},
	}
	for _, s := range steps {
		err := s.do()
		if s.code == "" && err != nil {
			e.Fatalf("%s: %v", s.name, err)
		}
		if s.code != "" {
			e.wantCode(err, s.code)
		}
		got := e.mustCase(c.Ref)
		if got.Assignee != s.assignee {
			e.Fatalf("%s: assignee %q, want %q", s.name, got.Assignee, s.assignee)
		}
		if got.Status != app.StatusReceived {
			e.Fatalf("%s: claiming changed the status to %s", s.name, got.Status)
		}
	}
	err := e.st.Claim(e.ctx, c.Ref, mm)
	if msg := app.ErrorMessage(err); msg != "Der Vorgang "+c.Ref+" wird bereits von ab bearbeitet." {
		e.Errorf("message = %q", msg)
	}
	want := []string{"mm case.claim ", "mm case.release ", "ab case.claim "}
	if got := e.auditActions(c.Ref)[1:]; strings.Join(got, "|") != strings.Join(want, "|") {
		e.Errorf("audit = %q, want %q", got, want)
	}
	// A closed case is not claimed.
	e.ok(e.st.Release(e.ctx, c.Ref, ab))
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusWithdrawn, "auf Wunsch", mm))
	e.wantCode(e.st.Claim(e.ctx, c.Ref, mm), app.EINVALID)
}

// pathTo leads from "received" to each status.
var pathTo = map[app.Status][]app.Status{
	app.StatusReceived:   nil,
	app.StatusInProgress: {app.StatusInProgress},
	app.StatusWaiting:    {app.StatusInProgress, app.StatusWaiting},
	app.StatusDone:       {app.StatusInProgress, app.StatusDone},
	app.StatusRejected:   {app.StatusInProgress, app.StatusRejected},
	app.StatusWithdrawn:  {app.StatusWithdrawn},
}

// testStatusTransitions: every move between two statuses (and to an
// unknown one) is allowed exactly when app.CheckTransition allows it; a
// refused move changes nothing, an allowed one sets closed_at exactly
// for a final status and writes one status note and one audit entry.
func testStatusTransitions(e *env) {
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	allowed := 0
	for _, from := range app.AllStatuses {
		for _, to := range append(slices.Clone(app.AllStatuses), "archived") {
			c := e.create(e.dogCase(fmt.Sprintf("%s-%s", from, to), "Anna", "Muster", app.OfficeCochem, Start))
			for _, s := range pathTo[from] {
				e.ok(e.st.SetStatus(e.ctx, c.Ref, s, "Weg", mm))
			}
			before := e.mustCase(c.Ref)
			notes, _ := e.st.Notes(e.ctx, c.Ref)
			audits := len(e.auditActions(c.Ref))
			err := e.st.SetStatus(e.ctx, c.Ref, to, "Grund", mm)
			got := e.mustCase(c.Ref)
			after, _ := e.st.Notes(e.ctx, c.Ref)
			if app.CheckTransition(from, to) != nil {
				if app.ErrorCode(err) != app.EINVALID {
					e.Errorf("%s → %s: %v, want EINVALID", from, to, err)
				}
				if !reflect.DeepEqual(got, before) || len(after) != len(notes) || len(e.auditActions(c.Ref)) != audits {
					e.Errorf("%s → %s refused but changed the case: %+v", from, to, got)
				}
				continue
			}
			allowed++
			if err != nil {
				e.Errorf("%s → %s: %v", from, to, err)
				continue
			}
			if got.Status != to || got.ClosedAt.IsZero() == to.Final() || !got.UpdatedAt.After(before.UpdatedAt) {
				e.Errorf("%s → %s: status %s closed %v updated %v", from, to, got.Status, got.ClosedAt, got.UpdatedAt)
			}
			if len(after) != len(notes)+1 || after[len(after)-1].Kind != "status" || !strings.HasSuffix(after[len(after)-1].Text, ": Grund") {
				e.Errorf("%s → %s: notes %+v", from, to, after)
			}
			if a := e.auditActions(c.Ref); len(a) != audits+1 || a[len(a)-1] != fmt.Sprintf("mm case.status %s->%s", from, to) {
				e.Errorf("%s → %s: audit %q", from, to, a)
			}
		}
	}
	if allowed != 10 {
		e.Errorf("%d moves allowed; the status rules of app name 10", allowed)
	}
}

func testSetStatus(e *env) {
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	for _, tc := range []struct {
		path []app.Status // moves from received
		code string       // of the last move
	}{
		{[]app.Status{app.StatusInProgress}, ""},
		{[]app.Status{app.StatusWithdrawn}, ""},
		{[]app.Status{app.StatusDone}, app.EINVALID},
		{[]app.Status{app.StatusWaiting}, app.EINVALID},
		{[]app.Status{app.StatusReceived}, app.EINVALID},
		{[]app.Status{app.StatusInProgress, app.StatusWaiting, app.StatusInProgress, app.StatusDone}, ""},
		{[]app.Status{app.StatusInProgress, app.StatusRejected}, ""},
		{[]app.Status{app.StatusInProgress, app.StatusDone, app.StatusInProgress}, app.EINVALID},
		{[]app.Status{app.StatusWithdrawn, app.StatusInProgress}, app.EINVALID},
		{[]app.Status{"archived"}, app.EINVALID},
	} {
		key := fmt.Sprint(tc.path)
		c := e.create(e.dogCase(key, "Anna", "Muster", app.OfficeCochem, Start))
		cur := app.StatusReceived
		for i, to := range tc.path {
			err := e.st.SetStatus(e.ctx, c.Ref, to, "Grund "+string(to), mm)
			if i < len(tc.path)-1 || tc.code == "" {
				if err != nil {
					e.Fatalf("%v: move %d: %v", tc.path, i, err)
				}
				cur = to
				continue
			}
			e.wantCode(err, tc.code)
		}
		got := e.mustCase(c.Ref)
		if got.Status != cur {
			e.Errorf("%v: status %s, want %s", tc.path, got.Status, cur)
		}
		if got.ClosedAt.IsZero() == cur.Final() {
			e.Errorf("%v: closed_at %v with status %s", tc.path, got.ClosedAt, cur)
		}
	}

	// Reasons, notes and audit: a reason is required for every move
	// except to "in_progress".
	c := e.create(e.dogCase("p-1", "Anna", "Muster", app.OfficeCochem, Start))
	if err := e.st.SetStatus(e.ctx, c.Ref, app.StatusInProgress, "", mm); err != nil {
		e.Fatalf("in_progress without reason: %v", err)
	}
	e.wantCode(e.st.SetStatus(e.ctx, c.Ref, app.StatusRejected, "  ", mm), app.EINVALID)
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusRejected, "Hund nicht im Kreis", mm))
	notes, err := e.st.Notes(e.ctx, c.Ref)
	if err != nil || len(notes) != 2 {
		e.Fatalf("notes %+v, %v", notes, err)
	}
	if n := notes[1]; n.Kind != "status" || n.Author != "mm" || n.Text != "In Bearbeitung → Abgelehnt: Hund nicht im Kreis" {
		e.Errorf("status note = %+v", n)
	}
	want := "portal case.create channel=portal office=vg-cochem|mm case.status received->in_progress|mm case.status in_progress->rejected"
	if got := strings.Join(e.auditActions(c.Ref), "|"); got != want {
		e.Errorf("audit = %s", got)
	}
	e.wantCode(e.st.SetStatus(e.ctx, "COC-2026-09999", app.StatusWithdrawn, "x", mm), app.ENOTFOUND)
	e.wantCode(e.st.SetStatus(e.ctx, c.Ref, app.StatusWithdrawn, "x", app.Actor{}), app.EINVALID)
}

// testForward: forwarding needs a reason and another known office; the
// case keeps its reference, loses its assignee, remembers where it came
// from and appears in the new office's queue; a closed case stays.
func testForward(e *env) {
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	c := e.create(e.dogCase("p-1", "Anna", "Muster", app.OfficeCochem, Start))
	e.ok(e.st.Claim(e.ctx, c.Ref, mm))
	for _, tc := range []struct {
		to     app.OfficeKey
		reason string
		code   string
	}{
		{app.OfficeKaisersesch, "", app.EINVALID},
		{app.OfficeKaisersesch, "  ", app.EINVALID},
		{"vg-atlantis", "weil", app.EINVALID},
		{"", "weil", app.EINVALID},
		{app.OfficeCochem, "weil", app.EINVALID},
	} {
		e.wantCode(e.st.Forward(e.ctx, c.Ref, tc.to, tc.reason, mm), tc.code)
	}
	e.wantCode(e.st.Forward(e.ctx, "COC-2026-09999", app.OfficeZell, "weil", mm), app.ENOTFOUND)
	e.ok(e.st.Forward(e.ctx, c.Ref, app.OfficeKaisersesch, "Bürger wohnt in Landkern", mm))
	got := e.mustCase(c.Ref)
	if got.Office != app.OfficeKaisersesch || got.ForwardedFrom != app.OfficeCochem || got.Assignee != "" || got.Ref != c.Ref {
		e.Errorf("after forward: %+v", got)
	}
	notes, _ := e.st.Notes(e.ctx, c.Ref)
	if len(notes) != 1 || notes[0].Kind != "forward" || notes[0].Text != "VG Cochem → VG Kaisersesch: Bürger wohnt in Landkern" {
		e.Errorf("notes = %+v", notes)
	}
	if a := e.auditActions(c.Ref); a[len(a)-1] != "mm case.forward vg-cochem->vg-kaisersesch" {
		e.Errorf("audit = %q", a)
	}
	// The queue of the new office has it, the old one's no longer.
	if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{Offices: []app.OfficeKey{app.OfficeKaisersesch}}); n != 1 {
		e.Errorf("Kaisersesch has %d cases", n)
	}
	if n, _ := e.st.CountCases(e.ctx, app.CaseFilter{Offices: []app.OfficeKey{app.OfficeCochem}}); n != 0 {
		e.Errorf("Cochem still has %d cases", n)
	}
	e.ok(e.st.SetStatus(e.ctx, c.Ref, app.StatusWithdrawn, "zurückgezogen", mm))
	e.wantCode(e.st.Forward(e.ctx, c.Ref, app.OfficeZell, "weil", mm), app.EINVALID)
}

func testNotes(e *env) {
	mm := app.Actor{Clerk: "mm", Office: app.OfficeCochem}
	c := e.create(e.dogCase("p-1", "Anna", "Muster", app.OfficeCochem, Start))
	e.wantCode(e.st.AddNote(e.ctx, c.Ref, " ", mm), app.EINVALID)
	e.wantCode(e.st.AddNote(e.ctx, "COC-2026-09999", "x", mm), app.ENOTFOUND)
	e.ok(e.st.AddNote(e.ctx, c.Ref, "Rückruf vereinbart", mm))
	e.ok(e.st.AddNote(e.ctx, strings.ToLower(c.Ref), "Unterlagen angefordert", mm))
	notes, err := e.st.Notes(e.ctx, c.Ref)
	if err != nil || len(notes) != 2 || notes[0].Text != "Rückruf vereinbart" || notes[0].Kind != "note" || notes[0].CaseID != c.ID ||
		notes[0].Author != "mm" || notes[1].Text != "Unterlagen angefordert" || !notes[1].At.After(notes[0].At) {
		e.Errorf("notes = %+v, %v", notes, err)
	}
	_, err = e.st.Notes(e.ctx, "COC-2026-09999")
	e.wantCode(err, app.ENOTFOUND)
	// The audit log names the action, never the text.
	es, _ := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: c.Ref})
	notesAudited := 0
	for _, x := range es {
		if strings.Contains(x.Detail, "Rückruf") {
			e.Errorf("note text in audit: %+v", x)
		}
		if x.Action == "case.note" {
			notesAudited++
		}
	}
	if notesAudited != 2 {
		e.Errorf("%d notes audited, want 2", notesAudited)
	}
}

// testMessagesAndWithdrawal: a citizen's message is kept once per key,
// with its files, whatever mail brought it; a signed withdrawal closes
// the case once; each mail's receipt is recorded with its effect.
func testMessagesAndWithdrawal(e *env) {
	c := e.create(e.dogCase("p-1", "Anna", "Muster", app.OfficeCochem, Start))
	rc := func(id string) *app.Receipt {
		return &app.Receipt{Mailbox: "INBOX", UIDValidity: 7, UID: 1, SHA256: id, MessageID: id, Kind: "nachricht"}
	}
	n := &app.Note{At: Start.Add(-time.Hour), Author: "Bürger", Kind: "message", Text: "Anbei der Impfpass."}
	files := []app.NewAttachment{{Attachment: app.Attachment{Name: "impfpass.jpg", Type: "image/jpeg"}, Data: []byte("jpg")}}

	e.wantCode(e.st.AddMessage(e.ctx, "unbekannt", "k1", n, files, rc("<m0@x>")), app.ENOTFOUND)
	if e.hasReceipt(e.st, "<m0@x>") {
		e.Error("receipt recorded for a failed message")
	}
	for i := 0; i < 2; i++ { // the second is a re-delivery with a new Message-ID
		e.ok(e.st.AddMessage(e.ctx, "p-1", "k1", n, files, rc("<m"+string(rune('1'+i))+"@x>")))
	}
	notes, _ := e.st.Notes(e.ctx, c.Ref)
	if len(notes) != 1 || notes[0].Kind != "message" || notes[0].Text != n.Text || !notes[0].At.Equal(n.At) {
		e.Fatalf("notes = %+v", notes)
	}
	if a := notes[0].Attachments; len(a) != 1 || !a[0].Received || a[0].Size != 3 {
		e.Errorf("message attachments = %+v", a)
	}
	if data, err := e.st.AttachmentData(e.ctx, notes[0].Attachments[0].SHA256); err != nil || string(data) != "jpg" {
		e.Errorf("message file = %q, %v", data, err)
	}
	if got := e.mustCase(c.Ref); len(got.Attachments) != 0 {
		e.Errorf("message files listed as case attachments: %+v", got.Attachments)
	}
	for _, id := range []string{"<m1@x>", "<m2@x>"} {
		if !e.hasReceipt(e.st, id) {
			e.Errorf("%s not recorded", id)
		}
	}

	e.wantCode(e.st.Withdraw(e.ctx, "unbekannt", "x", rc("<w0@x>")), app.ENOTFOUND)
	e.ok(e.st.Withdraw(e.ctx, "p-1", "Hund doch nicht gekauft", rc("<w1@x>")))
	got := e.mustCase(c.Ref)
	if got.Status != app.StatusWithdrawn || got.ClosedAt.IsZero() {
		e.Errorf("after withdrawal: %s %v", got.Status, got.ClosedAt)
	}
	// Again (re-delivery): no change, receipt recorded.
	e.ok(e.st.Withdraw(e.ctx, "p-1", "Hund doch nicht gekauft", rc("<w2@x>")))
	notes, _ = e.st.Notes(e.ctx, c.Ref)
	if len(notes) != 2 || notes[1].Kind != "status" || notes[1].Author != "Bürger" ||
		notes[1].Text != "Eingegangen → Zurückgenommen: Rücknahme durch den Bürger: Hund doch nicht gekauft" {
		e.Errorf("notes = %+v", notes)
	}
	for _, id := range []string{"<w1@x>", "<w2@x>"} {
		if !e.hasReceipt(e.st, id) {
			e.Errorf("%s not recorded", id)
		}
	}
	want := "portal case.create channel=portal office=vg-cochem|portal case.message files=1|portal case.status received->withdrawn"
	if got := strings.Join(e.auditActions(c.Ref), "|"); got != want {
		e.Errorf("audit = %s", got)
	}
}

// testFailedChangeRecordsNoReceipt: the receipt is part of the change: a
// change that fails records none, and uses up no reference number; a
// duplicate delivery records its own.
func testFailedChangeRecordsNoReceipt(e *env) {
	rc := &app.Receipt{Mailbox: "INBOX", UIDValidity: 1, UID: 5, SHA256: "<a@x>", Kind: "antrag"}
	bad := e.dogCase("p-1", "Anna", "Muster", app.OfficeZell, Start)
	bad.Fields = []byte("{kaputt")
	_, _, err := e.st.CreateCase(e.ctx, bad, rc)
	e.wantCode(err, app.EINVALID)
	if e.hasReceipt(e.st, "<a@x>") {
		e.Error("receipt recorded for a failed creation")
	}
	nc := e.dogCase("p-1", "Anna", "Muster", app.OfficeZell, Start)
	c, created, err := e.st.CreateCase(e.ctx, nc, rc)
	if err != nil || !created || c.Ref != "ZEL-2026-00001" {
		e.Fatalf("retry: %v %v %+v", err, created, c)
	}
	got, err := e.st.Receipts(e.ctx, []string{"<a@x>"})
	if r := got["<a@x>"]; err != nil || r.Mailbox != "INBOX" || r.UIDValidity != 1 || r.UID != 5 || r.Kind != "antrag" || r.SHA256 != "<a@x>" {
		e.Errorf("receipt = %+v, %v", r, err)
	}
	rc2 := *rc
	rc2.SHA256, rc2.UID = "<b@x>", 6
	if _, created, err := e.st.CreateCase(e.ctx, nc, &rc2); err != nil || created {
		e.Fatalf("duplicate: %v %v", err, created)
	}
	if !e.hasReceipt(e.st, "<b@x>") {
		e.Error("duplicate's receipt not recorded")
	}
}

// testCaseAuditCarriesCaseOffice (issue 13, points 5, 6, 23): every action
// on a case is audited with the case's office (not the clerk's, which is
// empty for an administrator), so that `audit --office` and a lead's
// view find them; the clerk's display name is kept beside the account;
// the documents shown at the counter are stored with the case.
func testCaseAuditCarriesCaseOffice(e *env) {
	nc := e.dogCase("k1", "Anna", "Muster", app.OfficeZell, Start)
	nc.Channel, nc.Clerk, nc.ClerkName = app.ChannelCounter, "root", "Maria Müller"
	nc.Presented = []app.PresentedDocument{{Name: "Personalausweis oder Reisepass"}, {Name: "Impfpass", Copy: true}}
	c := e.create(nc)
	admin := app.Actor{Clerk: "root", Role: app.RoleAdmin, Name: "Maria Müller"} // no office of its own
	steps := []error{
		e.st.Claim(e.ctx, c.Ref, admin),
		e.st.SetStatus(e.ctx, c.Ref, app.StatusInProgress, "", admin),
		e.st.AddNote(e.ctx, c.Ref, "Rückruf vereinbart", admin),
		e.st.Release(e.ctx, c.Ref, admin),
		e.st.Forward(e.ctx, c.Ref, app.OfficeCochem, "Hund lebt in Cochem", admin),
	}
	for i, err := range steps {
		if err != nil {
			e.Fatalf("step %d: %v", i, err)
		}
	}
	es, err := e.st.AuditEntries(e.ctx, app.AuditFilter{Ref: c.Ref, Office: app.OfficeZell})
	if err != nil {
		e.Fatal(err)
	}
	var got []string
	for _, x := range es {
		got = append(got, x.Action)
		if x.Name != "Maria Müller" {
			e.Errorf("%s: name %q", x.Action, x.Name)
		}
	}
	if want := "case.create case.claim case.status case.note case.release case.forward"; strings.Join(got, " ") != want {
		e.Errorf("audit --office vg-zell --ref %s finds %v, want %s", c.Ref, got, want)
	}
	back := e.mustCase(c.Ref)
	if len(back.Presented) != 2 || !back.Presented[1].Copy || back.Presented[0].Name != "Personalausweis oder Reisepass" {
		e.Errorf("presented = %+v", back.Presented)
	}
}

// A walk-in case taken while the counter was offline keeps the
// provisional reference of its receipt: it finds the case, the case
// shows it, the audit entry names it; writing it again (a replay after a
// crash) gives the same case. Only a counter case may carry one, and only
// in the form app.ProvisionalRef builds.
func testProvisionalRef(e *env) {
	nc := e.dogCase("form-1", "Anna", "Schmitt", app.OfficeZell, Start)
	nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk = app.ChannelCounter, "", nil, "mm"
	nc.ProvisionalRef = app.ProvisionalRef("ZEL", 2026, "0b1c2d3e4f5a")
	if nc.ProvisionalRef != "ZEL-2026-V-3E4F5A" || !app.IsProvisionalRef(nc.ProvisionalRef) {
		e.Fatalf("provisional ref %q", nc.ProvisionalRef)
	}
	c := e.create(nc)
	if c.ProvisionalRef != nc.ProvisionalRef || c.Ref == nc.ProvisionalRef || c.Pending() {
		e.Errorf("created: ref %q provisional %q pending %v", c.Ref, c.ProvisionalRef, c.Pending())
	}
	got, err := e.st.CaseByRef(e.ctx, nc.ProvisionalRef)
	if err != nil || got.ID != c.ID || got.ProvisionalRef != nc.ProvisionalRef {
		e.Fatalf("by provisional ref: %+v, %v", got, err)
	}
	if acts := e.auditActions(c.Ref); len(acts) == 0 || !strings.Contains(acts[0], "provisional=ZEL-2026-V-3E4F5A") {
		e.Errorf("audit %q", acts)
	}
	again, created, err := e.st.CreateCase(e.ctx, nc, nil)
	if err != nil || created || again.Ref != c.Ref {
		e.Errorf("replayed: %+v created=%v %v", again, created, err)
	}
	for _, bad := range []string{"ZEL-2026-00001", "ZEL-2026-V-xyz", "'; DROP"} {
		nc := e.dogCase("form-"+bad, "Anna", "Schmitt", app.OfficeZell, Start)
		nc.Channel, nc.PortalCase, nc.Raw, nc.Clerk, nc.ProvisionalRef = app.ChannelCounter, "", nil, "mm", bad
		_, _, err := e.st.CreateCase(e.ctx, nc, nil)
		e.wantCode(err, app.EINVALID)
	}
	portal := e.dogCase("p-prov", "Anna", "Schmitt", app.OfficeZell, Start)
	portal.ProvisionalRef = "ZEL-2026-V-ABCDEF"
	_, _, err = e.st.CreateCase(e.ctx, portal, nil)
	e.wantCode(err, app.EINVALID)
}
