// Package benchdata generates the cases of the store benchmarks: about
// eight years of the Kreis and its four Verbandsgemeinden, with German
// names in their real frequencies (Müller about 0.8 %), the catalog's
// services, statuses by age, some flags and undecided cases. Both
// adapters' benchmarks (storage, storage/postgres) load the same cases,
// so that their figures compare. Deterministic: the same n gives the
// same cases.
package benchdata

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"amtstresen/app"
	"amtstresen/storage/internal/casetext"
)

// Case is one generated case with everything a store writes of it. ID
// counts from 1 in the order of generation (received, oldest first).
type Case struct {
	ID           int64
	Ref          string
	Key          string // idempotency key: the portal id, or "form-N" at the counter
	Office       app.OfficeKey
	Channel      app.Channel
	Service      string
	PortalCase   string // "" for counter cases
	Status       app.Status
	Assignee     string
	Flags        []app.Flag
	Municipality string
	Applicant    app.Applicant
	Fields       json.RawMessage
	Raw          []byte // the portal's antrag.json; nil for counter cases
	ReceivedAt   time.Time
	UpdatedAt    time.Time
	ClosedAt     time.Time // zero while open
	Doc          casetext.Doc
}

// Generate calls fn for n cases received between 2019 and end, oldest
// first. It returns the last number handed out per prefix and year, keyed
// "ZEL2026". The assignees are the offices' clerks "ZEL0" … "ZEL7".
func Generate(reg *app.Registry, n int, end time.Time, fn func(*Case) error) (map[string]int, error) {
	r := rand.New(rand.NewPCG(2026, 11))
	surnames := surnameDist()
	firsts := newWeighted(firstNames, zipf(len(firstNames), 0.5))
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

	end = end.UTC()
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
		c := &Case{ID: int64(i), Office: office, Service: svcKey, Status: status, Flags: flags, ReceivedAt: at, UpdatedAt: at.Add(time.Hour)}
		if status != app.StatusReceived && status != app.StatusWithdrawn || r.IntN(10) == 0 {
			cs := clerks[office]
			c.Assignee = cs[r.IntN(len(cs))]
		}
		if status.Final() {
			c.ClosedAt = at.Add(time.Duration(r.IntN(30*24)) * time.Hour)
		}
		prefix := app.RefPrefix(reg, office)
		year := at.In(app.Berlin).Year()
		k := prefix + strconv.Itoa(year)
		seqs[k]++
		c.Ref = app.FormatRef(prefix, year, seqs[k])

		a := app.Applicant{Salutation: "", FirstName: firsts.pick(r), LastName: surnames.pick(r),
			BirthDate: fmt.Sprintf("%d-%02d-%02d", 1935+r.IntN(70), 1+r.IntN(12), 1+r.IntN(28)),
			Address: app.Address{Street: streets[r.IntN(len(streets))], HouseNumber: strconv.Itoa(1 + r.IntN(120)),
				Postcode: m.Postcodes[0], Place: m.Name, AGS: m.AGS}}
		a.Email = fmt.Sprintf("%s.%d@example.org", app.Applicant{LastName: a.LastName}.SortKey(), i)
		if r.IntN(2) == 0 {
			a.Salutation = "Frau"
		} else {
			a.Salutation = "Herr"
		}
		c.Applicant = a
		c.Fields = fields(r, svcKey, m, a)
		c.Channel, c.Key = app.ChannelCounter, fmt.Sprintf("form-%d", i)
		if r.IntN(100) < 65 {
			c.Channel = app.ChannelPortal
			id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48))
			c.PortalCase, c.Key = id, id
			c.Raw, _ = json.Marshal(map[string]any{"schema": "https://cochem-zell-online.de/schema/antrag/1", "vorgang": id,
				"eingereicht": at.In(app.Berlin).Format(time.RFC3339), "leistung": map[string]any{"schluessel": svcKey},
				"antragsteller": a, "angaben": json.RawMessage(c.Fields), "anlagen": []any{}})
		}
		c.Municipality = m.AGS
		if office == "" {
			c.Municipality = ""
		}
		c.Doc = casetext.NewDoc(reg, c.Ref, &app.Case{Service: svcKey, Applicant: a, Municipality: c.Municipality, Fields: c.Fields})
		if err := fn(c); err != nil {
			return nil, fmt.Errorf("case %d: %w", i, err)
		}
	}
	return seqs, nil
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

var surnames = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
	"Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
	"Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier",
	"Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß",
	"Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck",
	"Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher",
	"Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf",
	"Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer",
	"Arnold", "Wolff", "Pfeiffer", "Zöller", "Thelen", "Hammes", "Pauly", "Gietzen", "Kreuter", "Laux", "Mohr", "Reuter",
	"Steffens", "Theisen", "Thiel", "Wendling", "Zender", "Özdemir", "Yılmaz", "Kowalski", "Nowak", "Popescu", "Dąbrowski"}

var firstNames = []string{"Anna", "Maria", "Ursula", "Monika", "Petra", "Sabine", "Andrea", "Claudia", "Stefanie", "Julia",
	"Lena", "Laura", "Sophie", "Marie", "Hannah", "Emma", "Mia", "Leonie", "Katharina", "Christina", "Jürgen", "Peter",
	"Michael", "Thomas", "Andreas", "Wolfgang", "Klaus", "Stefan", "Frank", "Markus", "Christian", "Alexander", "Daniel",
	"Tobias", "Jan", "Lukas", "Felix", "Jonas", "Leon", "Paul", "Elias", "Noah", "Björn", "Jörg", "Günter", "Hans-Peter",
	"Karl-Heinz", "Ömer", "Ayşe", "Zoë"}

var streets = []string{"Hauptstraße", "Moselstraße", "Bahnhofstraße", "Kirchstraße", "Schulstraße", "Am Markt",
	"Im Wingert", "Burgstraße", "Weinbergstraße", "Ravenéstraße", "Brückenstraße", "Lindenweg", "Eifelstraße", "Zum Sportplatz"}

var dogs = []string{"Bello", "Luna", "Balu", "Emma", "Sammy", "Nala", "Rocky", "Kira", "Max", "Amy"}

// surnameDist approximates German surnames: the 120 common ones
// cover about a tenth of the people (Müller about 0.8 %), a long tail of
// some 20,000 rarer names the rest.
func surnameDist() *weighted[string] {
	names := append([]string(nil), surnames...)
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

func fields(r *rand.Rand, svc string, m *app.Municipality, a app.Applicant) json.RawMessage {
	var v map[string]any
	switch svc {
	case "hund-anmelden":
		v = map[string]any{"hund": map[string]any{"name": dogs[r.IntN(len(dogs))], "rasse": "Mischling",
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
			"bisherigerEigentuemer": map[string]any{"name": surnames[r.IntN(len(surnames))]},
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
