package pdf

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// gray is page 1 of a PDF rasterised by pdftoppm as 8-bit grey.
type gray struct {
	w, h int
	dpi  float64
	pix  []byte
}

func rasterize(t *testing.T, pdf []byte, dpi int) *gray {
	t.Helper()
	needTool(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftoppm", "-gray", "-r", fmt.Sprint(dpi), "-f", "1", "-l", "1", "-singlefile", in, filepath.Join(dir, "p")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "p.pgm"))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(bytes.NewReader(b))
	var g gray
	var maxv int
	if _, err := fmt.Fscanf(r, "P5\n%d %d\n%d\n", &g.w, &g.h, &maxv); err != nil || maxv != 255 {
		t.Fatalf("unexpected PGM header: %v (max %d)", err, maxv)
	}
	g.pix = make([]byte, g.w*g.h)
	if _, err := r.Read(g.pix[:0]); err != nil {
		t.Fatal(err)
	}
	n := 0
	for n < len(g.pix) {
		k, err := r.Read(g.pix[n:])
		if err != nil {
			t.Fatalf("PGM data: %v", err)
		}
		n += k
	}
	g.dpi = float64(dpi)
	return &g
}

// at returns the grey value at (x, y) in millimetres.
func (g *gray) at(x, y float64) byte {
	px, py := int(x/25.4*g.dpi), int(y/25.4*g.dpi)
	return g.pix[py*g.w+px]
}

// darkest returns the lowest value in the rectangle (mm).
func (g *gray) darkest(x0, y0, x1, y1 float64) byte {
	v := byte(255)
	for y := y0; y <= y1; y += 25.4 / g.dpi {
		for x := x0; x <= x1; x += 25.4 / g.dpi {
			v = min(v, g.at(x, y))
		}
	}
	return v
}

// TestQRCode reads the printed QR code back module by module and compares
// it with the code of the reference: what a scanner sees is the reference.
func TestQRCode(t *testing.T) {
	g := rasterize(t, render(t, CaseItem(dogCase())), 300)
	want, err := qrModules("ZEL-2026-00042")
	if err != nil {
		t.Fatal(err)
	}
	const x0, y0, size = pageW - marginR - 19, 11.0, 19.0
	m := size / float64(len(want))
	if m < 0.5 {
		t.Errorf("module size %.2f mm is too small to scan reliably", m)
	}
	bad := 0
	for r, line := range want {
		for c, dark := range line {
			v := g.at(x0+(float64(c)+0.5)*m, y0+(float64(r)+0.5)*m)
			if (v < 128) != dark {
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d modules differ from the QR code of the reference", bad, len(want)*len(want))
	}
	// Quiet zone: two modules of white around the code (the page edge and
	// the caption below keep the rest clear).
	q := 2 * m
	for _, r := range [][4]float64{
		{x0 - q, y0 - q, x0 - m/4, y0 + size}, // left
		{x0, y0 - q, x0 + size, y0 - m/4},     // top
		{x0 + size + m/4, y0, x0 + size + q, y0 + size},
	} {
		if v := g.darkest(r[0], r[1], r[2], r[3]); v < 200 {
			t.Errorf("quiet zone %v not white (%d)", r, v)
		}
	}
}

// TestMarks checks the fold marks at 105 and 210 mm and the hole mark at
// 148.5 mm on the left edge, and nothing in between.
func TestMarks(t *testing.T) {
	g := rasterize(t, render(t, CaseItem(bulkyCase())), 200)
	for _, y := range []float64{foldMark1, holeMark, foldMark2} {
		if v := g.darkest(4.5, y-0.3, 8.5, y+0.3); v > 220 {
			t.Errorf("no mark at %.1f mm (darkest %d)", y, v)
		}
	}
	for _, y := range []float64{100, 125, 180, 250} {
		if v := g.darkest(3, y-1, 10, y+1); v < 250 {
			t.Errorf("unexpected mark at %.1f mm (%d)", y, v)
		}
	}
}
