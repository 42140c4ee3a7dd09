package app

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"amtstresen/assets"
)

// Registry holds the reference data every part of the app needs: offices,
// municipalities and the service catalog. It is read-only after loading.
type Registry struct {
	Offices        []*Office
	Municipalities []*Municipality
	Catalog        *Catalog
	CatalogSource  string // "eingebaut" or the path of the override file
	// StatusTexts are the texts of the messages to the citizen;
	// StatusTextsSource says where they came from, like CatalogSource.
	StatusTexts       *StatusTexts
	StatusTextsSource string

	officeByKey map[OfficeKey]*Office
	byAGS       map[string]*Municipality
	byName      map[string][]*Municipality // NormalizePlace(name)
	byBase      map[string][]*Municipality // PlaceBase(name)
	byPostcode  map[string][]*Municipality
}

// CatalogFileName is the file in the data directory that replaces the
// embedded service catalog.
const CatalogFileName = "leistungen.json"

// LoadRegistry reads the embedded data. When dataDir holds a
// leistungen.json it replaces the embedded catalog; a broken override is an
// error (the admin must see it, not get the default silently).
func LoadRegistry(dataDir string) (*Registry, error) {
	ob, err := assets.Read("dienststellen.csv")
	if err != nil {
		return nil, err
	}
	offices, err := parseOffices(bytes.NewReader(ob))
	if err != nil {
		return nil, err
	}
	mb, err := assets.Read("gemeinden.csv")
	if err != nil {
		return nil, err
	}
	munis, err := parseMunicipalities(bytes.NewReader(mb), offices)
	if err != nil {
		return nil, err
	}
	cb, source, err := readData(dataDir, CatalogFileName)
	if err != nil {
		return nil, err
	}
	cat, err := ParseCatalog(cb)
	if err != nil {
		return nil, dataError("Der Leistungskatalog", source, err)
	}
	tb, tsource, err := readData(dataDir, StatusTextsFileName)
	if err != nil {
		return nil, err
	}
	// The embedded texts name services of the embedded catalog; a
	// catalog override may drop some, which is no error of the texts.
	textCat := cat
	if tsource == "eingebaut" {
		textCat = nil
	}
	texts, err := ParseStatusTexts(tb, textCat)
	if err != nil {
		return nil, dataError("Die Texte der Nachrichten an Bürger", tsource, err)
	}
	r, err := NewRegistry(offices, munis, cat, source)
	if err != nil {
		return nil, err
	}
	r.StatusTexts, r.StatusTextsSource = texts, tsource
	return r, nil
}

// readData returns the embedded data file, or the file of the same name in
// dataDir that replaces it, and where it came from ("eingebaut" or the path).
func readData(dataDir, name string) ([]byte, string, error) {
	if dataDir != "" {
		p := filepath.Join(dataDir, name)
		b, err := os.ReadFile(p)
		switch {
		case err == nil:
			return b, p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("read %s: %w", name, err)
		}
	}
	b, err := assets.Read(name)
	return b, "eingebaut", err
}

// dataError explains a broken data file: an override names its path and
// what to do (the admin must see it, never get the default silently); a
// broken embedded file is a broken binary.
func dataError(what, source string, err error) error {
	if source == "eingebaut" {
		return err
	}
	return &Error{Code: EINVALID, Err: err, Message: fmt.Sprintf(
		"%s in %s ist fehlerhaft: %v. Bitte korrigieren oder die Datei entfernen, dann gilt die eingebaute Fassung.", what, source, err)}
}

// NewRegistry indexes the given data.
func NewRegistry(offices []*Office, munis []*Municipality, cat *Catalog, source string) (*Registry, error) {
	r := &Registry{Offices: offices, Municipalities: munis, Catalog: cat, CatalogSource: source,
		officeByKey: map[OfficeKey]*Office{}, byAGS: map[string]*Municipality{},
		byName: map[string][]*Municipality{}, byBase: map[string][]*Municipality{},
		byPostcode: map[string][]*Municipality{}}
	for _, o := range offices {
		r.officeByKey[o.Key] = o
	}
	for _, m := range munis {
		if _, dup := r.byAGS[m.AGS]; dup {
			return nil, fmt.Errorf("municipality %s listed twice", m.AGS)
		}
		r.byAGS[m.AGS] = m
		r.byName[NormalizePlace(m.Name)] = append(r.byName[NormalizePlace(m.Name)], m)
		r.byBase[PlaceBase(m.Name)] = append(r.byBase[PlaceBase(m.Name)], m)
		for _, p := range m.Postcodes {
			r.byPostcode[p] = append(r.byPostcode[p], m)
		}
	}
	return r, nil
}

// Office returns the office with the key, or nil.
func (r *Registry) Office(k OfficeKey) *Office { return r.officeByKey[k] }

// OfficeName returns the office's name, or a German placeholder.
func (r *Registry) OfficeName(k OfficeKey) string {
	if o := r.officeByKey[k]; o != nil {
		return o.Name
	}
	if k == "" {
		return "noch nicht zugeordnet"
	}
	return string(k)
}

// Municipality returns the Ortsgemeinde with the AGS, or nil.
func (r *Registry) Municipality(ags string) *Municipality { return r.byAGS[strings.TrimSpace(ags)] }

// ByPostcode returns the municipalities with the postcode.
func (r *Registry) ByPostcode(p string) []*Municipality { return r.byPostcode[strings.TrimSpace(p)] }

// MatchPlace returns the municipalities whose name matches place: the exact
// normalized name first ("Forst (Eifel)"), else the name without suffix
// ("Zell" → "Zell (Mosel)"; "Forst" → both Forst, which is ambiguous).
// "Forst (Hunsrück)" given as "Forst (Eifel)" never matches the other one.
func (r *Registry) MatchPlace(place string) []*Municipality {
	n := NormalizePlace(place)
	if n == "" {
		return nil
	}
	if ms := r.byName[n]; len(ms) > 0 {
		return ms
	}
	if strings.Contains(n, "(") {
		// A suffix was given and did not match exactly: compare suffix-free
		// only against names that have no suffix of their own.
		var out []*Municipality
		for _, m := range r.byBase[PlaceBase(n)] {
			if !strings.Contains(m.Name, "(") {
				out = append(out, m)
			}
		}
		return out
	}
	return r.byBase[n]
}

// Suggest returns up to max municipalities whose name or postcode starts
// with prefix, for completion in forms; sorted by name.
func (r *Registry) Suggest(prefix string, max int) []*Municipality {
	p := NormalizePlace(prefix)
	if p == "" {
		return nil
	}
	var out []*Municipality
	for _, m := range r.Municipalities {
		if strings.HasPrefix(NormalizePlace(m.Name), p) {
			out = append(out, m)
			continue
		}
		for _, pc := range m.Postcodes {
			if strings.HasPrefix(pc, prefix) {
				out = append(out, m)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}

// Default returns the registry of the embedded data; it panics only when
// the binary itself is broken (the embedded data is tested).
func Default() *Registry {
	r, err := LoadRegistry("")
	if err != nil {
		panic(err)
	}
	return r
}
