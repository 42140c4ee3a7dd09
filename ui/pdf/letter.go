package pdf

import (
	"fmt"
	"strings"

	"github.com/jung-kurt/gofpdf"

	"amtstresen/app"
)

// letter is one letter (one page run in a document).
type letter struct {
	office     *app.Office
	recipient  []string // address lines: optional "Frau"/"Herrn", name, street, postcode and place
	ref        string   // Aktenzeichen: info block, footer, continuation pages
	qr         string   // QR code content; "" for none
	qrCaption  string   // printed under the code; qr when empty
	info       []kv     // information block, Datum is appended
	date       string
	kind       string // document name, e.g. "Eingangsbestätigung"
	service    string // service name, for the PDF's subject
	subject    string
	salutation string
	body       func(fl *flow)
	closing    []string // after "Mit freundlichen Grüßen"
}

// draw renders the letter from a new page on.
func (l *letter) draw(f *gofpdf.Fpdf) {
	fl := &flow{f: f}
	l.body(fl)
	fl.gap(bodyLH * 0.4)
	// Closing and the note are one block that never stands alone on a
	// page: the last lines of the text before it come along.
	if n := len(fl.rows); n > 0 {
		for i := n - 1; i >= 0; i-- {
			if !fl.rows[i].gap {
				fl.rows[i].keep = true
				break
			}
			fl.rows[i].keep = true
		}
	}
	closing := append([]string{"Mit freundlichen Grüßen", ""}, l.closing...)
	for _, c := range closing {
		c := clean(c)
		fl.add(row{h: bodyLH, keep: true, draw: func(f *gofpdf.Fpdf, y float64) {
			font(f, "", bodySize)
			setColor(f, black)
			text(f, marginL, y, bodyLH, c)
		}})
	}
	fl.add(row{h: 2.5, keep: true, draw: func(*gofpdf.Fpdf, float64) {}})
	note := "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig."
	fl.add(row{h: smallLH, draw: func(f *gofpdf.Fpdf, y float64) {
		font(f, "", 8)
		setColor(f, grey)
		text(f, marginL, y, smallLH, note)
	}})

	// Subject and salutation open the body on the first page.
	head := &flow{f: f}
	for _, line := range wrap(f, "B", 11.5, clean(l.subject), textW) {
		head.add(row{h: bodyLH + 0.5, keep: true, draw: func(f *gofpdf.Fpdf, y float64) {
			font(f, "B", 11.5)
			setColor(f, black)
			text(f, marginL, y, bodyLH, line)
		}})
	}
	head.gap(bodyLH * 1.6)
	head.add(row{h: bodyLH, keep: true, draw: func(f *gofpdf.Fpdf, y float64) {
		font(f, "", bodySize)
		setColor(f, black)
		text(f, marginL, y, bodyLH, clean(l.salutation))
	}})
	head.gap(bodyLH * 0.6)
	rows := append(head.rows, fl.rows...)
	rows, pages := pageBreaks(rows, len(closing)+2)
	for p, span := range pages {
		f.AddPage()
		if p == 0 {
			l.drawFirstPage(f)
		} else {
			l.drawContinuation(f, p+1, len(pages))
		}
		l.drawFooter(f, p+1, len(pages))
		y := subjectY
		if p > 0 {
			y = contTopY
			if span[0] < span[1] && rows[span[0]].header != nil {
				h := rows[span[0]].header
				h.draw(f, y) // the table goes on: repeat its header
				y += h.h
			}
		}
		for _, r := range rows[span[0]:span[1]] {
			r.draw(f, y)
			y += r.h
		}
	}
}

// drawFirstPage draws letterhead, marks, address field and information block.
func (l *letter) drawFirstPage(f *gofpdf.Fpdf) {
	o := l.office
	// Letterhead.
	qrSize := 0.0
	if l.qr != "" {
		qrSize = 19.0
		drawQR(f, l.qr, pageW-marginR-qrSize, 11, qrSize)
		// Caption: centred under the code, or right-aligned and smaller
		// when it is wider (a booking id).
		caption := clean(l.qr)
		if l.qrCaption != "" {
			caption = clean(l.qrCaption)
		}
		font(f, "", 6.5)
		setColor(f, grey)
		if w := f.GetStringWidth(caption); w <= qrSize+4 {
			text(f, pageW-marginR-qrSize/2-w/2, 11+qrSize+0.6, 3, caption)
		} else {
			for size := 6.0; size > 4.5 && f.GetStringWidth(caption) > 45; size -= 0.5 {
				font(f, "", size)
			}
			textRight(f, pageW-marginR, 11+qrSize+0.6, 3, caption)
		}
	}
	headW := textW - qrSize - 6
	size := 16.0
	font(f, "B", size)
	for size > 11 && f.GetStringWidth(o.Name) > headW {
		size -= 0.5
		font(f, "B", size)
	}
	f.SetTextColor(blue[0], blue[1], blue[2])
	text(f, marginL, 12, 8, clean(o.Name))
	font(f, "", 9)
	setColor(f, grey)
	sub := "Landkreis Cochem-Zell"
	if o.VG != "" {
		sub = "Verbandsgemeinde " + o.VG + " · Landkreis Cochem-Zell"
	}
	text(f, marginL, 20.5, 4.5, clean(sub))
	f.SetDrawColor(blue[0], blue[1], blue[2])
	f.SetLineWidth(0.6)
	f.Line(marginL, 28, marginL+headW, 28)

	drawMarks(f)

	// Address field: return line at the foot of the upper zone, then the
	// recipient. (The field's frame is not printed; tests check the text
	// position.)
	ret := returnLine(f, o)
	font(f, "", ret.size)
	setColor(f, grey)
	text(f, addrX+addrPad, addrZoneSplit-4.2, 3.5, ret.text)
	f.SetDrawColor(light[0], light[1], light[2])
	f.SetLineWidth(0.15)
	f.Line(addrX+addrPad, addrZoneSplit-0.6, addrX+addrPad+f.GetStringWidth(ret.text), addrZoneSplit-0.6)

	setColor(f, black)
	y := addrZoneSplit + 1.5
	for _, line := range l.recipient {
		font(f, "", 11)
		line = clean(line)
		for f.GetStringWidth(line) > addrW-2*addrPad && len([]rune(line)) > 1 {
			font(f, "", 9) // a very long name: smaller rather than cut off
			if f.GetStringWidth(line) > addrW-2*addrPad {
				r := []rune(line)
				line = string(r[:len(r)-1])
			}
		}
		text(f, addrX+addrPad, y, 4.6, line)
		y += 4.6
	}

	// Information block.
	info := append(append([]kv{}, l.info...), kv{label: "Datum", value: l.date})
	y = infoY
	const labelW = 27.0
	for _, r := range info {
		font(f, "", 8)
		setColor(f, grey)
		text(f, infoX, y, 4.4, clean(r.label))
		style := ""
		if r.strong {
			style = "B"
		}
		lines := wrap(f, style, 9, cleanText(r.value), infoW-labelW-5)
		setColor(f, black)
		for _, v := range lines {
			text(f, infoX+labelW, y, 4.4, v)
			y += 4.4
		}
		if len(lines) == 0 {
			y += 4.4
		}
	}
}

type retLine struct {
	text string
	size float64
}

// returnLine fits the sender's line (Rücksendeangabe) into the address
// field: smaller type first, then the short form of the office name.
func returnLine(f *gofpdf.Fpdf, o *app.Office) retLine {
	maxW := addrW - 2*addrPad
	for _, name := range []string{o.Name, strings.Replace(o.Name, "Verbandsgemeindeverwaltung", "VG-Verwaltung", 1)} {
		s := clean(fmt.Sprintf("%s · %s · %s %s", name, o.Street, o.Postcode, o.City))
		for _, size := range []float64{7, 6.5, 6} {
			font(f, "", size)
			if f.GetStringWidth(s) <= maxW {
				return retLine{s, size}
			}
		}
	}
	s := clean(fmt.Sprintf("%s · %s %s", o.Short(), o.Postcode, o.City))
	return retLine{s, 6}
}

// drawMarks draws the two fold marks and the hole mark at the left edge.
func drawMarks(f *gofpdf.Fpdf) {
	f.SetDrawColor(light[0], light[1], light[2])
	f.SetLineWidth(0.2)
	f.Line(4, foldMark1, 9, foldMark1)
	f.Line(4, holeMark, 11, holeMark)
	f.Line(4, foldMark2, 9, foldMark2)
}

// drawContinuation heads a continuation page.
func (l *letter) drawContinuation(f *gofpdf.Fpdf, page, pages int) {
	font(f, "", 8.5)
	setColor(f, grey)
	left := clean(l.office.Name)
	if l.ref != "" {
		left += " · " + l.ref
	}
	text(f, marginL, 13, 4, left)
	textRight(f, pageW-marginR, 13, 4, fmt.Sprintf("Seite %d von %d", page, pages))
	f.SetDrawColor(light[0], light[1], light[2])
	f.SetLineWidth(0.2)
	f.Line(marginL, 18.5, pageW-marginR, 18.5)
	drawMarks(f)
}

// drawFooter draws the office's details at the foot of every page.
func (l *letter) drawFooter(f *gofpdf.Fpdf, page, pages int) {
	o := l.office
	f.SetDrawColor(light[0], light[1], light[2])
	f.SetLineWidth(0.2)
	f.Line(marginL, footerY, pageW-marginR, footerY)
	cols := [][]string{
		{o.Name, o.Street, o.Postcode + " " + o.City},
		{"Internet", o.Website},
	}
	if l.ref != "" {
		cols = append(cols, []string{"Bitte bei Rückfragen angeben:", "Aktenzeichen " + l.ref})
	}
	xs := []float64{marginL, marginL + 68, marginL + 112}
	for i, c := range cols {
		for j, s := range c {
			style := ""
			if j == 0 {
				style = "B"
			}
			font(f, style, 7.5)
			setColor(f, grey)
			text(f, xs[i], footerY+1.5+float64(j)*smallLH, smallLH, clean(s))
		}
	}
	if pages > 1 {
		font(f, "", 7.5)
		setColor(f, grey)
		textRight(f, pageW-marginR, footerY+1.5+3*smallLH, smallLH, fmt.Sprintf("Seite %d von %d", page, pages))
	}
}

// pageBreaks paginates a letter whose last closingRows rows are the
// closing (greeting, office, note). A continuation page must not hold the
// closing alone: then the gaps are tightened so that the letter fits on
// fewer pages, and where that is not enough the whole last paragraph goes
// along to the last page.
func pageBreaks(rows []row, closingRows int) ([]row, [][2]int) {
	pages := paginate(rows, subjectY)
	closingStart := len(rows) - closingRows
	if len(pages) < 2 || !closingAlone(rows, pages, closingStart) {
		return rows, pages
	}
	tight := make([]row, len(rows))
	copy(tight, rows)
	for i := range tight {
		if tight[i].gap {
			tight[i].h *= 0.5
		}
	}
	if p := paginate(tight, subjectY); len(p) < len(pages) {
		return tight, p
	}
	glued := make([]row, len(rows))
	copy(glued, rows)
	// From the closing back to the start of the last paragraph, and of
	// the one before while that is less than three lines.
	lines := 0
	for i := closingStart - 1; i > 0; i-- {
		glued[i].keep = true
		if !glued[i].gap {
			lines++
		}
		if lines >= 3 && glued[i-1].gap {
			break
		}
	}
	return glued, paginate(glued, subjectY)
}

// closingAlone reports whether the last page holds nothing but the
// closing and at most the one line glued to it.
func closingAlone(rows []row, pages [][2]int, closingStart int) bool {
	first := pages[len(pages)-1][0]
	body := 0
	for i := first; i < closingStart && i < len(rows); i++ {
		if !rows[i].gap {
			body++
		}
	}
	return body <= 1
}
