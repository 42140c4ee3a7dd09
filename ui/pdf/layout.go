package pdf

import (
	"strings"

	"github.com/jung-kurt/gofpdf"

	"amtstresen/app"
)

// Geometry of a DIN 5008 form B letter on A4, in millimetres from the top
// left corner of the sheet.
const (
	pageW = 210.0
	pageH = 297.0

	marginL = 25.0 // text starts 25 mm from the left edge
	marginR = 20.0
	textW   = pageW - marginL - marginR

	// Address field for window envelopes (DL and C5/6 with window left).
	addrX, addrY, addrW, addrH = 20.0, 45.0, 85.0, 45.0
	// It has a 17.7 mm zone for the return line and notes above a 27.3 mm
	// zone for the recipient; the writing starts 5 mm inside the field.
	addrPad       = 5.0
	addrZoneSplit = addrY + 17.7

	// Information block right of the address field.
	infoX, infoY, infoW = 125.0, 50.0, 75.0

	foldMark1, holeMark, foldMark2 = 105.0, 148.5, 210.0

	subjectY  = 98.46 // two blank lines below the address field
	contTopY  = 27.0  // body start on continuation pages
	bodyLimit = 268.0 // lowest body line bottom; the footer follows
	footerY   = 274.0
)

// Type sizes in points and line heights in millimetres.
const (
	bodySize = 10
	bodyLH   = 4.5
	smallLH  = 3.6
)

// Colours.
var (
	black = [3]int{0, 0, 0}
	grey  = [3]int{90, 90, 90}
	light = [3]int{150, 150, 150}
	blue  = [3]int{0, 62, 120} // accent of the letterhead
)

func setColor(f *gofpdf.Fpdf, c [3]int) { f.SetTextColor(c[0], c[1], c[2]) }

// text writes s with its line box's top at y; the baseline is placed so the
// glyphs sit centred in a line of height lh.
func text(f *gofpdf.Fpdf, x, y, lh float64, s string) {
	_, size := f.GetFontSize() // in mm
	// Signed text is printed neutralised (control and bidi characters
	// visible, app.Neutral).
	f.Text(x, y+lh/2+size*0.36, app.Safe(s))
}

// textRight writes s ending at xr.
func textRight(f *gofpdf.Fpdf, xr, y, lh float64, s string) {
	text(f, xr-f.GetStringWidth(s), y, lh, s)
}

// font selects the family's regular ("") or bold ("B") face.
func font(f *gofpdf.Fpdf, style string, size float64) { f.SetFont(fontFamily, style, size) }

// wrap splits s into lines no wider than w in the given face. Explicit
// line breaks are kept.
func wrap(f *gofpdf.Fpdf, style string, size float64, s string, w float64) []string {
	font(f, style, size)
	var out []string
	for _, para := range strings.Split(s, "\n") {
		para = strings.TrimRight(para, " ")
		if para == "" {
			out = append(out, "")
			continue
		}
		out = append(out, f.SplitText(para, w)...)
	}
	return out
}

// row is an unbreakable unit of the letter body: a line of text, a table
// row, a gap. keep glues it to the following row (headings, the line
// before a list).
type row struct {
	h    float64
	keep bool
	gap  bool // a gap is dropped at the top of a page
	draw func(f *gofpdf.Fpdf, y float64)
	// header is repeated at the top of a continuation page that starts
	// inside its table.
	header *row
}

// flow collects the body of one letter; paginate then decides the page
// breaks before anything is drawn, so that "Seite 1 von 2" is known on the
// first page.
type flow struct {
	f    *gofpdf.Fpdf
	rows []row
}

func (fl *flow) add(r row) { fl.rows = append(fl.rows, r) }

// gap adds vertical space.
func (fl *flow) gap(h float64) { fl.add(row{h: h, gap: true, draw: func(*gofpdf.Fpdf, float64) {}}) }

// para adds a wrapped paragraph followed by a paragraph gap.
func (fl *flow) para(s string) { fl.paraStyle("", s); fl.gap(bodyLH * 0.6) }

// paraStyle adds wrapped lines in the given face without a gap.
func (fl *flow) paraStyle(style string, s string) {
	s = cleanText(s)
	lines := wrap(fl.f, style, bodySize, s, textW)
	for i, l := range lines {
		l := l
		fl.add(row{h: bodyLH, keep: i == 0 && len(lines) == 2, draw: func(f *gofpdf.Fpdf, y float64) {
			font(f, style, bodySize)
			setColor(f, black)
			text(f, marginL, y, bodyLH, l)
		}})
	}
	// Avoid a single line at the top of the next page (widow) for short
	// paragraphs: keep the second-to-last line with the last.
	if n := len(fl.rows); len(lines) >= 3 {
		fl.rows[n-2].keep = true
	}
}

// heading adds a bold line that stays with what follows.
func (fl *flow) heading(s string) {
	s = clean(s)
	fl.add(row{h: bodyLH + 2.2, keep: true, draw: func(f *gofpdf.Fpdf, y float64) {
		font(f, "B", bodySize)
		setColor(f, black)
		text(f, marginL, y+1, bodyLH, s)
	}})
}

// kv adds label/value rows (a two-column table); values wrap. A value
// marked strong is printed bold.
type kv struct {
	label, value string
	strong       bool
}

const kvLabelW = 55.0

func (fl *flow) table(rows []kv) {
	for _, r := range rows {
		label, value := cleanText(r.label), cleanText(r.value)
		style := ""
		if r.strong {
			style = "B"
		}
		ll := wrap(fl.f, "", bodySize, label, kvLabelW-3)
		vl := wrap(fl.f, style, bodySize, value, textW-kvLabelW)
		n := max(len(ll), len(vl))
		fl.add(row{h: float64(n)*bodyLH + 0.6, draw: func(f *gofpdf.Fpdf, y float64) {
			font(f, "", bodySize)
			setColor(f, grey)
			for i, l := range ll {
				text(f, marginL, y+float64(i)*bodyLH, bodyLH, l)
			}
			font(f, style, bodySize)
			setColor(f, black)
			for i, l := range vl {
				text(f, marginL+kvLabelW, y+float64(i)*bodyLH, bodyLH, l)
			}
		}})
	}
	fl.gap(bodyLH * 0.6)
}

// bullets adds a list with hanging indent.
func (fl *flow) bullets(items []string) {
	const indent = 5.0
	for _, it := range items {
		lines := wrap(fl.f, "", bodySize, cleanText(it), textW-indent)
		for i, l := range lines {
			l, first := l, i == 0
			fl.add(row{h: bodyLH, keep: i < len(lines)-1, draw: func(f *gofpdf.Fpdf, y float64) {
				font(f, "", bodySize)
				setColor(f, black)
				if first {
					text(f, marginL+1, y, bodyLH, "•")
				}
				text(f, marginL+indent, y, bodyLH, l)
			}})
		}
	}
	fl.gap(bodyLH * 0.6)
}

// columns adds a table with a bold header row; widths in mm, right[i]
// right-aligns column i. Cells wrap.
func (fl *flow) columns(widths []float64, right []bool, header []string, body [][]string, strong []bool) {
	var head *row
	add := func(cells []string, style string, rule bool) {
		var cols [][]string
		n := 1
		for i, c := range cells {
			s := style
			if s == "" && strong != nil && strong[i] {
				s = "B"
			}
			l := wrap(fl.f, s, bodySize, cleanText(c), widths[i]-2)
			cols = append(cols, l)
			n = max(n, len(l))
		}
		fl.add(row{h: float64(n)*bodyLH + 1, keep: rule, header: head, draw: func(f *gofpdf.Fpdf, y float64) {
			x := marginL
			for i, l := range cols {
				s := style
				if s == "" && strong != nil && strong[i] {
					s = "B"
				}
				font(f, s, bodySize)
				setColor(f, black)
				for j, line := range l {
					if right[i] {
						textRight(f, x+widths[i]-2, y+float64(j)*bodyLH, bodyLH, line)
					} else {
						text(f, x, y+float64(j)*bodyLH, bodyLH, line)
					}
				}
				x += widths[i]
			}
			if rule {
				f.SetDrawColor(light[0], light[1], light[2])
				f.SetLineWidth(0.2)
				f.Line(marginL, y+float64(n)*bodyLH+0.5, marginL+sum(widths), y+float64(n)*bodyLH+0.5)
			}
		}})
	}
	add(header, "B", true)
	h := fl.rows[len(fl.rows)-1]
	h.keep = false
	head = &h
	for _, r := range body {
		add(r, "", false)
	}
	fl.gap(bodyLH * 0.6)
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// paginate splits rows into pages: the first page's body starts at
// first, later pages at contTopY. It returns the index ranges.
func paginate(rows []row, first float64) [][2]int {
	var pages [][2]int
	start, y := 0, first
	for i := 0; i < len(rows); i++ {
		if i == start && len(pages) > 0 && rows[i].gap {
			start++ // no gap at the top of a continuation page
			continue
		}
		// The height of this row and of every row glued to it.
		need := rows[i].h
		for j := i; j < len(rows)-1 && rows[j].keep; j++ {
			need += rows[j+1].h
		}
		fits := y+need <= bodyLimit
		if !fits && need > bodyLimit-contTopY {
			fits = y+rows[i].h <= bodyLimit // a chain longer than a page breaks inside
		}
		if !fits && i > start {
			pages = append(pages, [2]int{start, i})
			start, y = i, contTopY
			if rows[i].header != nil {
				y += rows[i].header.h
			}
			i-- // place row i again, now on the new page
			continue
		}
		y += rows[i].h
	}
	return append(pages, [2]int{start, len(rows)})
}
