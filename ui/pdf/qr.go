package pdf

import (
	"github.com/jung-kurt/gofpdf"
	qrcode "github.com/skip2/go-qrcode"
)

// qrModules returns the QR code of s as modules without the quiet zone
// (bitmap[y][x], true = dark). Level M survives a crease or a stamp.
func qrModules(s string) ([][]bool, error) {
	q, err := qrcode.New(s, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	q.DisableBorder = true
	return q.Bitmap(), nil
}

// drawQR draws the QR code of s as vector squares in a size×size mm box
// at (x, y). Horizontal runs of dark modules become one rectangle, which
// keeps the page small and prints crisply at any resolution. The box must
// have white space around it (the quiet zone): the letterhead leaves it.
func drawQR(f *gofpdf.Fpdf, s string, x, y, size float64) {
	bm, err := qrModules(s)
	if err != nil {
		f.SetError(err)
		return
	}
	m := size / float64(len(bm))
	f.SetFillColor(0, 0, 0)
	for r, line := range bm {
		for c := 0; c < len(line); {
			if !line[c] {
				c++
				continue
			}
			start := c
			for c < len(line) && line[c] {
				c++
			}
			// A hair of overlap so no viewer shows seams between rows.
			f.Rect(x+float64(start)*m, y+float64(r)*m, float64(c-start)*m, m+0.02, "F")
		}
	}
}
