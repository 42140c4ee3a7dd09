package storage

// Benchmarks on a database of realistic size: 1,000,000 cases (about
// eight years of the Kreis and its four Verbandsgemeinden). The database
// is generated once per schema version and size and kept in os.TempDir(),
// so that repeated runs start at once:
//
//	go test -tags sqlite_fts5 -run XXX -bench . -benchtime 200x ./storage/
//
// AMTSTRESEN_BENCH_CASES=20000 makes a smaller one for a quick look.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"amtstresen/app"
)

const benchCasesDefault = 1_000_000

func benchCases() int {
	if n, err := strconv.Atoi(os.Getenv("AMTSTRESEN_BENCH_CASES")); err == nil && n > 0 {
		return n
	}
	return benchCasesDefault
}

// benchDB opens the cached benchmark database, generating it first when
// it is missing.
func benchDB(b *testing.B) *DB {
	b.Helper()
	n := benchCases()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("amtstresen-bench-schema%d-%d.db", SchemaVersion, n))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		start := time.Now()
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		if err := generateBenchDB(tmp, n); err != nil {
			os.Remove(tmp)
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(path)
		b.Logf("generated %d cases in %s (%d MB): %s", n, time.Since(start).Round(time.Second), fi.Size()>>20, path)
	}
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// Weighted pick.
type weighted[T any] struct {
	items []T
	cum   []float64
}

func newWeighted[T any](items []T, weights []float64) *weighted[T] {
	w := &weighted[T]{items: items}
	sum := 0.0
	for _, x := range weights {
		sum += x
		w.cum = append(w.cum, sum)
	}
	for i := range w.cum {
		w.cum[i] /= sum
	}
	return w
}

func (w *weighted[T]) pick(r *rand.Rand) T {
	i, _ := slices.BinarySearch(w.cum, r.Float64())
	return w.items[min(i, len(w.items)-1)]
}

// zipf weights 1/rank^s: few names are common, most are rare.
func zipf(n int, s float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), s)
	}
	return w
}

var benchSurnames = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
	"Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
	"Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier",
	"Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß",
	"Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck",
	"Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher",
	"Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf",
	"Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer",
	"Arnold", "Wolff", "Pfeiffer", "Zöller", "Thelen", "Hammes", "Pauly", "Gietzen", "Kreuter", "Laux", "Mohr", "Reuter",
	"Steffens", "Theisen", "Thiel", "Wendling", "Zender", "Özdemir", "Yılmaz", "Kowalski", "Nowak", "Popescu", "Dąbrowski"}

var benchFirstNames = []string{"Anna", "Maria", "Ursula", "Monika", "Petra", "Sabine", "Andrea", "Claudia", "Stefanie", "Julia",
	"Lena", "Laura", "Sophie", "Marie", "Hannah", "Emma", "Mia", "Leonie", "Katharina", "Christina", "Jürgen", "Peter",
	"Michael", "Thomas", "Andreas", "Wolfgang", "Klaus", "Stefan", "Frank", "Markus", "Christian", "Alexander", "Daniel",
	"Tobias", "Jan", "Lukas", "Felix", "Jonas", "Leon", "Paul", "Elias", "Noah", "Björn", "Jörg", "Günter", "Hans-Peter",
	"Karl-Heinz", "Ömer", "Ayşe", "Zoë"}

var benchStreets = []string{"Hauptstraße", "Moselstraße", "Bahnhofstraße", "Kirchstraße", "Schulstraße", "Am Markt",
	"Im Wingert", "Burgstraße", "Weinbergstraße", "Ravenéstraße", "Brückenstraße", "Lindenweg", "Eifelstraße", "Zum Sportplatz"}

var benchDogs = []string{"Bello", "Luna", "Balu", "Emma", "Sammy", "Nala", "Rocky", "Kira", "Max", "Amy"}

// generateBenchDB writes n cases in one transaction with prepared
// statements: schema by Open (migrations), then bulk inserts on a
// connection without journal, then Close (PRAGMA optimize).
func generateBenchDB(path string, n int) error {
	ctx := context.Background()
	db, err := Open(ctx, path, testReg)
	if err != nil {
		return err
	}
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=OFF&_synchronous=OFF&_cache_size=-400000")
	if err != nil {
		return err
	}
	raw.SetMaxOpenConns(1)
	defer raw.Close()
	if err := fillBench(ctx, raw, n); err != nil {
		return err
	}
	if _, err := raw.Exec("PRAGMA journal_mode = WAL"); err != nil {
		return err
	}
	raw.Close()
	db, err = Open(ctx, path, testReg)
	if err != nil {
		return err
	}
	return db.Close()
}

func fillBench(ctx context.Context, raw *sql.DB, n int) error {
	reg := testReg
	r := rand.New(rand.NewPCG(2026, 11))
	surnames := benchSurnameDist()
	firsts := newWeighted(benchFirstNames, zipf(len(benchFirstNames), 0.5))
	services := newWeighted(
		[]string{"hund-anmelden", "hund-abmelden", "plakatierung", "eigentuemerwechsel", "sperrmuell", "elektrogeraete", "raum-mieten"},
		[]float64{20, 8, 10, 20, 25, 12, 5})
	clerks := map[app.OfficeKey][]string{}
	for _, o := range reg.Offices {
		for i := 0; i < 8; i++ {
			clerks[o.Key] = append(clerks[o.Key], fmt.Sprintf("%s%d", o.Code, i))
		}
	}
	clerks[""] = []string{"KV0", "COC0"}

	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insCase, err := tx.PrepareContext(ctx, `INSERT INTO cases (id, ref, idempotency_key, office, channel, service, portal_case, status, assignee,
		flags, municipality, routing_reason, applicant_name, applicant_sort, birthdate, email, received_at, updated_at, closed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insDoc, err := tx.PrepareContext(ctx, `INSERT INTO case_docs (case_id, applicant, fields, raw) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insFTS, err := tx.PrepareContext(ctx, `INSERT INTO cases_fts (rowid, ref, applicant, service, place, fields, alt) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}

	end := testNow.UTC()
	start := time.Date(2019, 1, 2, 8, 0, 0, 0, time.UTC)
	step := end.Sub(start) / time.Duration(n)
	at := start
	seqs := map[string]int{}
	for i := 1; i <= n; i++ {
		at = at.Add(time.Duration(r.Int64N(int64(2 * step))))
		if at.After(end) {
			at = end
		}
		svcKey := services.pick(r)
		m := reg.Municipalities[r.IntN(len(reg.Municipalities))]
		office := m.Office
		if reg.Catalog.Service(svcKey).Level == app.LevelKreis {
			office = app.OfficeKreis
		}
		var flags []app.Flag
		switch x := r.IntN(1000); {
		case x < 15:
			office, flags = "", []app.Flag{app.FlagRoutingUnclear}
		case x < 25:
			office, flags = "", []app.Flag{app.FlagOutsideDistrict}
		case x < 40:
			flags = []app.Flag{app.FlagAttachmentMissing}
		case x < 45:
			flags = []app.Flag{app.FlagAttachmentMismatch}
		}
		age := end.Sub(at)
		var status app.Status
		switch p := r.IntN(100); {
		case age > 120*24*time.Hour:
			status = pickStatus(p, []int{88, 94}, app.StatusDone, app.StatusRejected, app.StatusWithdrawn)
		case age > 30*24*time.Hour:
			status = pickStatus(p, []int{60, 75, 90, 95}, app.StatusDone, app.StatusInProgress, app.StatusWaiting, app.StatusRejected, app.StatusWithdrawn)
		default:
			status = pickStatus(p, []int{40, 75, 90}, app.StatusReceived, app.StatusInProgress, app.StatusWaiting, app.StatusDone)
		}
		assignee := ""
		if status != app.StatusReceived && status != app.StatusWithdrawn || r.IntN(10) == 0 {
			cs := clerks[office]
			assignee = cs[r.IntN(len(cs))]
		}
		closed := ""
		if status.Final() {
			closed = fmtTime(at.Add(time.Duration(r.IntN(30*24)) * time.Hour))
		}
		prefix := app.RefPrefix(reg, office)
		year := at.In(app.Berlin).Year()
		k := prefix + strconv.Itoa(year)
		seqs[k]++
		ref := app.FormatRef(prefix, year, seqs[k])

		a := app.Applicant{Salutation: "", FirstName: firsts.pick(r), LastName: surnames.pick(r),
			BirthDate: fmt.Sprintf("%d-%02d-%02d", 1935+r.IntN(70), 1+r.IntN(12), 1+r.IntN(28)),
			Address: app.Address{Street: benchStreets[r.IntN(len(benchStreets))], HouseNumber: strconv.Itoa(1 + r.IntN(120)),
				Postcode: m.Postcodes[0], Place: m.Name, AGS: m.AGS}}
		a.Email = fmt.Sprintf("%s.%d@example.org", app.Applicant{LastName: a.LastName}.SortKey(), i)
		if r.IntN(2) == 0 {
			a.Salutation = "Frau"
		} else {
			a.Salutation = "Herr"
		}
		fields := benchFields(r, svcKey, m, a)
		applicant, _ := json.Marshal(a)
		channel, portal, key := app.ChannelCounter, any(nil), any(fmt.Sprintf("form-%d", i))
		var rawJSON any
		if r.IntN(100) < 65 {
			channel = app.ChannelPortal
			id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48))
			portal, key = id, id
			rj, _ := json.Marshal(map[string]any{"schema": "https://cochem-zell-online.de/schema/antrag/1", "vorgang": id,
				"eingereicht": at.In(app.Berlin).Format(time.RFC3339), "leistung": map[string]any{"schluessel": svcKey},
				"antragsteller": a, "angaben": json.RawMessage(fields), "anlagen": []any{}})
			rawJSON = string(rj)
		}
		municipality := m.AGS
		if office == "" {
			municipality = ""
		}
		if _, err := insCase.ExecContext(ctx, i, ref, key, string(office), string(channel), svcKey, portal, string(status), assignee,
			encodeFlags(flags), municipality, "", a.Name(), sortKey(a), a.BirthDate, a.Email, fmtTime(at),
			fmtTime(at.Add(time.Hour)), closed); err != nil {
			return fmt.Errorf("case %d: %w", i, err)
		}
		if _, err := insDoc.ExecContext(ctx, i, string(applicant), string(fields), rawJSON); err != nil {
			return err
		}
		d := newFTSDoc(reg, ref, &app.Case{Service: svcKey, Applicant: a, Municipality: municipality, Fields: fields})
		if _, err := insFTS.ExecContext(ctx, i, d.ref, d.applicant, d.service, d.place, d.fields, d.alt); err != nil {
			return err
		}
	}
	for k, v := range seqs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ref_counters (prefix, year, last) VALUES (?, ?, ?)`, k[:len(k)-4], k[len(k)-4:], v); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// benchSurnameDist approximates German surnames: the 120 common ones
// cover about a tenth of the people (Müller about 0.8 %), a long tail of
// some 20,000 rarer names the rest.
func benchSurnameDist() *weighted[string] {
	names := append([]string(nil), benchSurnames...)
	weights := make([]float64, len(names))
	for i := range weights {
		weights[i] = 0.8 / math.Pow(float64(i+1), 0.75) // percent
	}
	pre := []string{"Ach", "Al", "Am", "Bal", "Bä", "Ber", "Bir", "Bo", "Bran", "Bur", "Dah", "Dor", "Eb", "Eck", "Ei", "Eng",
		"Fal", "Fel", "Frei", "Ga", "Gil", "Grö", "Hal", "Hei", "Hil", "Hol", "Jan", "Kal", "Kel", "Kir", "Kle", "Knö",
		"Kro", "Lan", "Lei", "Lin", "Lo", "Mar", "Mer", "Mo", "Nie", "Nol", "Ost", "Pe", "Pla", "Rad", "Rei", "Rin",
		"Ro", "Sa", "Schei", "Schla", "Schwe", "See", "Sto", "Tan", "Thi", "Ul", "Vol", "Wal", "Wei", "Wil", "Win", "Zel"}
	mid := []string{"", "en", "el", "er", "li", "ten", "ding", "s", "ge", "ham"}
	suf := []string{"bach", "berg", "mann", "ert", "hoff", "kamp", "ke", "ler", "lich", "meier", "ner", "rath", "scheid",
		"stein", "wald", "inger", "hausen", "dorf", "feld", "haus", "mer", "sen", "ter", "zer", "ges", "ecker", "ow", "at", "ius", "mes"}
	var tail []string
	for _, p := range pre {
		for _, m := range mid {
			for _, s := range suf {
				tail = append(tail, p+m+s)
			}
		}
	}
	top := 0.0
	for _, w := range weights {
		top += w
	}
	for _, n := range tail {
		names = append(names, n)
		weights = append(weights, (100-top)/float64(len(tail)))
	}
	return newWeighted(names, weights)
}

// pickStatus maps p in [0,100) onto statuses by cumulative bounds.
func pickStatus(p int, bounds []int, ss ...app.Status) app.Status {
	for i, b := range bounds {
		if p < b {
			return ss[i]
		}
	}
	return ss[len(ss)-1]
}

func benchFields(r *rand.Rand, svc string, m *app.Municipality, a app.Applicant) json.RawMessage {
	var v map[string]any
	switch svc {
	case "hund-anmelden":
		v = map[string]any{"hund": map[string]any{"name": benchDogs[r.IntN(len(benchDogs))], "rasse": "Mischling",
			"geburtsdatum": "2024-05-01", "chipnummer": fmt.Sprintf("276098%09d", r.IntN(1e9)), "farbe": "braun"},
			"haltungsbeginn": "2026-11-01", "gefaehrlich": false, "weitereHunde": r.IntN(2)}
	case "hund-abmelden":
		v = map[string]any{"steuermarke": strconv.Itoa(100 + r.IntN(900)), "grund": "verstorben", "abmeldedatum": "2026-10-01"}
	case "plakatierung":
		v = map[string]any{"veranstaltung": map[string]any{"titel": "Weinfest " + m.Name, "datum": "2026-08-01", "ort": m.Name},
			"veranstalter": "Verkehrsverein " + m.Name, "anzahlPlakate": 10 + r.IntN(50), "format": "A1",
			"zeitraum": map[string]any{"von": "2026-07-15", "bis": "2026-08-02"}, "gemeinden": []string{m.AGS}}
	case "eigentuemerwechsel":
		v = map[string]any{"grundstueck": map[string]any{"gemeindeschluessel": m.AGS, "gemarkung": m.Name,
			"flur": strconv.Itoa(1 + r.IntN(30)), "flurstueck": fmt.Sprintf("%d/%d", 1+r.IntN(500), 1+r.IntN(9))},
			"bisherigerEigentuemer": map[string]any{"name": benchSurnames[r.IntN(len(benchSurnames))]},
			"neuerEigentuemer":      map[string]any{"name": a.Name()}, "uebergangsdatum": "2026-09-30"}
	case "sperrmuell", "elektrogeraete":
		v = map[string]any{"abholanschrift": a.Address, "gegenstaende": []any{map[string]any{"bezeichnung": "Sofa", "anzahl": 1},
			map[string]any{"bezeichnung": "Schrank", "anzahl": 1 + r.IntN(3)}}, "volumenKubikmeter": 1 + r.IntN(4)}
	default:
		v = map[string]any{"einrichtung": "Bürgersaal " + m.Name, "gemeindeschluessel": m.AGS, "datum": "2026-12-12",
			"von": "18:00", "bis": "23:00", "anlass": "Geburtstagsfeier", "personen": 20 + r.IntN(80)}
	}
	b, _ := json.Marshal(v)
	return b
}

var openStatuses = []app.Status{app.StatusReceived, app.StatusInProgress, app.StatusWaiting}

func benchList(b *testing.B, db *DB, f app.CaseFilter) {
	b.Helper()
	ctx := context.Background()
	got, err := db.ListCases(ctx, f) // warm the cache like a second page view
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got, err = db.ListCases(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(got)), "rows")
}

// BenchmarkListFilteredPage: the queue of one office, open statuses,
// newest first, page of 50 (the default view); then other views.
func BenchmarkListFilteredPage(b *testing.B) {
	db := benchDB(b)
	zell := []app.OfficeKey{app.OfficeZell}
	b.Run("office+open", func(b *testing.B) { benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses}) })
	b.Run("office+done", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: []app.Status{app.StatusDone}})
	})
	b.Run("all-offices+open", func(b *testing.B) { benchList(b, db, app.CaseFilter{Statuses: openStatuses}) })
	b.Run("everything", func(b *testing.B) { benchList(b, db, app.CaseFilter{}) })
	b.Run("office+open+offset1900", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Offset: 1900})
	})
	b.Run("office+open+sort-applicant", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Sort: "+applicant"})
	})
	b.Run("office+open+sort-status", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Sort: "+status"})
	})
	b.Run("office+service+all-statuses", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Service: "hund-anmelden"})
	})
	b.Run("assignee+open", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Assignee: "ZEL3"})
	})
	b.Run("unassigned+open", func(b *testing.B) {
		benchList(b, db, app.CaseFilter{Offices: zell, Statuses: openStatuses, Unassigned: true})
	})
	b.Run("flag+all-statuses", func(b *testing.B) { benchList(b, db, app.CaseFilter{Flag: app.FlagOutsideDistrict}) })
	b.Run("count-office+open", func(b *testing.B) {
		ctx := context.Background()
		f := app.CaseFilter{Offices: zell, Statuses: openStatuses}
		n := 0
		for i := 0; i < b.N; i++ {
			var err error
			if n, err = db.CountCases(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "cases")
	})
}

// BenchmarkSearch: search as you type for a surname, page of 50.
func BenchmarkSearch(b *testing.B) {
	db := benchDB(b)
	for _, tc := range []struct {
		name string
		f    app.CaseFilter
	}{
		{"surname-prefix", app.CaseFilter{Query: "Zöl"}},
		{"common-surname-prefix", app.CaseFilter{Query: "Müll"}},
		{"first+surname", app.CaseFilter{Query: "Anna Schmi"}},
		{"surname+office+open", app.CaseFilter{Query: "Schmidt", Offices: []app.OfficeKey{app.OfficeZell}, Statuses: openStatuses}},
		{"reference", app.CaseFilter{Query: "ZEL-2024-01234"}},
		{"one-letter", app.CaseFilter{Query: "M"}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchList(b, db, tc.f) })
	}
}

// BenchmarkClaim: a clerk takes a case (one write transaction with its
// audit entry). The cases are released again outside the timing.
func BenchmarkClaim(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	free, err := db.ListCases(ctx, app.CaseFilter{Statuses: []app.Status{app.StatusReceived}, Unassigned: true, Limit: 1000})
	if err != nil || len(free) == 0 {
		b.Fatalf("no free cases: %v", err)
	}
	by := app.Actor{Clerk: "bench", Office: app.OfficeZell}
	var claimed []string
	release := func() {
		for _, ref := range claimed {
			if err := db.Release(ctx, ref, by); err != nil {
				b.Fatal(err)
			}
		}
		claimed = claimed[:0]
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(claimed) == len(free) {
			b.StopTimer()
			release()
			b.StartTimer()
		}
		ref := free[len(claimed)].Ref
		if err := db.Claim(ctx, ref, by); err != nil {
			b.Fatal(err)
		}
		claimed = append(claimed, ref)
	}
	b.StopTimer()
	release()
}
