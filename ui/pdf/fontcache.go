package pdf

import (
	"bytes"
	"reflect"
	"sync"
	"unsafe"

	"github.com/jung-kurt/gofpdf"
)

// gofpdf has no API to share a parsed font between documents:
// AddUTF8FontFromBytes parses the TrueType file and fingerprints the font
// (a JSON encoding of a 65,536-entry width table) for every document,
// about a quarter of the time a one-page letter takes. The parsed result
// is one entry of the document's unexported font map, so the cache below
// parses once into a prototype document and gives each new document a
// copy of those entries: a fresh set of used runes (gofpdf subsets the
// font to them on output) and its own copy of the parser state that the
// output step resets and rebuilds, with its own copy of the font bytes.
//
// This reaches into gofpdf's unexported fields, which is acceptable only
// because gofpdf is archived and pinned at v1.16.2. Every step checks the
// shape it expects and falls back to the documented path if anything
// differs; TestFontCacheSameBytes proves that both paths write identical
// PDFs.

// fontCacheEnabled switches the cache (tests compare both paths).
var fontCacheEnabled = true

var fontCache struct {
	once sync.Once
	defs map[string]reflect.Value // font key → gofpdf's fontDefType value
}

// field returns a settable view of an unexported struct field, or an
// invalid Value when there is none.
func field(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	if !f.IsValid() || !f.CanAddr() {
		return reflect.Value{}
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// fontMap returns the document's font map (map[string]fontDefType).
func fontMap(f *gofpdf.Fpdf) reflect.Value {
	m := field(reflect.ValueOf(f).Elem(), "fonts")
	if !m.IsValid() || m.Kind() != reflect.Map || m.Type().Key().Kind() != reflect.String || m.Type().Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return m
}

func loadFontCache() {
	defer func() {
		if recover() != nil {
			fontCache.defs = nil
		}
	}()
	proto := gofpdf.New("P", "mm", "A4", "")
	addFontsParsing(proto)
	if proto.Err() {
		return
	}
	m := fontMap(proto)
	if !m.IsValid() || m.Len() != 2 {
		return
	}
	defs := map[string]reflect.Value{}
	for _, k := range m.MapKeys() {
		d := reflect.New(m.Type().Elem()).Elem()
		d.Set(m.MapIndex(k))
		// The parts copyParsedFonts renews must be there, with the
		// types it expects.
		used, uf := field(d, "usedRunes"), field(d, "utf8File")
		if !used.IsValid() || used.Type() != reflect.TypeOf(map[int]int{}) ||
			!uf.IsValid() || uf.Kind() != reflect.Pointer || uf.IsNil() || uf.Elem().Kind() != reflect.Struct {
			return
		}
		fr := field(uf.Elem(), "fileReader")
		if !fr.IsValid() || fr.Kind() != reflect.Pointer || fr.IsNil() || fr.Elem().Kind() != reflect.Struct {
			return
		}
		if arr := field(fr.Elem(), "array"); !arr.IsValid() || arr.Type() != reflect.TypeOf([]byte(nil)) {
			return
		}
		defs[k.String()] = d
	}
	fontCache.defs = defs
}

// copyParsedFonts puts copies of the cached font definitions into f and
// reports whether it could.
func copyParsedFonts(f *gofpdf.Fpdf) (ok bool) {
	fontCache.once.Do(loadFontCache)
	if fontCache.defs == nil {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m := fontMap(f)
	if !m.IsValid() || m.Len() != 0 {
		return false
	}
	for k, def := range fontCache.defs {
		d := reflect.New(def.Type()).Elem()
		d.Set(def)
		// Runes used: a new map with the prototype's initial entries.
		used := field(d, "usedRunes")
		fresh := make(map[int]int, used.Len()+128)
		for r, v := range used.Interface().(map[int]int) {
			fresh[r] = v
		}
		used.Set(reflect.ValueOf(fresh))
		// Parser state: a copy of the struct and of its reader position.
		uf := field(d, "utf8File")
		ufCopy := reflect.New(uf.Type().Elem())
		ufCopy.Elem().Set(uf.Elem())
		fr := field(ufCopy.Elem(), "fileReader")
		frCopy := reflect.New(fr.Type().Elem())
		frCopy.Elem().Set(fr.Elem())
		// gofpdf pads tables in place while writing the subset (it appends
		// zeros to slices of the font bytes), so each document reads its
		// own copy of the bytes.
		arr := field(frCopy.Elem(), "array")
		arr.SetBytes(bytes.Clone(arr.Bytes()))
		fr.Set(frCopy)
		uf.Set(ufCopy)
		m.SetMapIndex(reflect.ValueOf(k), d)
	}
	return true
}
