//go:build ignore

// Draws the application icon: a counter (Tresen) seen from the front with a
// document and a check mark on it, on a dark blue rounded square. Simple
// shapes with strong contrast so it stays readable at 16 px.
//
//	go run assets/icongen/main.go -o assets/icon.png
package main

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

type shape func(x, y float64) bool // coordinates in [0,1]

func roundRect(x0, y0, x1, y1, r float64) shape {
	return func(x, y float64) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx := math.Max(x0+r, math.Min(x, x1-r))
		cy := math.Max(y0+r, math.Min(y, y1-r))
		return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
	}
}

// thick line segment from (ax,ay) to (bx,by) with half-width w, round caps.
func segment(ax, ay, bx, by, w float64) shape {
	return func(x, y float64) bool {
		dx, dy := bx-ax, by-ay
		t := ((x-ax)*dx + (y-ay)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		px, py := ax+t*dx-x, ay+t*dy-y
		return px*px+py*py <= w*w
	}
}

type layer struct {
	s shape
	c color.NRGBA
}

func main() {
	out := flag.String("o", "assets/icon.png", "output PNG")
	size := flag.Int("size", 1024, "edge length in pixels")
	flag.Parse()

	blue := color.NRGBA{0x1d, 0x4f, 0x91, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	paper := color.NRGBA{0xfd, 0xf6, 0xe3, 0xff}
	green := color.NRGBA{0x2e, 0x9e, 0x4f, 0xff}
	wood := color.NRGBA{0xf2, 0xb1, 0x34, 0xff}
	layers := []layer{
		{roundRect(0.02, 0.02, 0.98, 0.98, 0.20), blue},
		// the document, standing on the counter
		{roundRect(0.30, 0.12, 0.70, 0.60, 0.04), paper},
		{segment(0.38, 0.38, 0.47, 0.48, 0.045), green},
		{segment(0.47, 0.48, 0.62, 0.24, 0.045), green},
		// counter top and front
		{roundRect(0.10, 0.56, 0.90, 0.66, 0.03), wood},
		{roundRect(0.16, 0.66, 0.84, 0.88, 0.03), white},
		{roundRect(0.46, 0.70, 0.54, 0.84, 0.01), blue}, // the gap between the two front panels
	}
	n := *size
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	const ss = 4 // supersampling for smooth edges
	for py := 0; py < n; py++ {
		for px := 0; px < n; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(n)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(n)
					var c color.NRGBA
					for _, l := range layers {
						if l.s(x, y) {
							c = l.c
						}
					}
					fa := float64(c.A) / 255
					r += float64(c.R) * fa
					g += float64(c.G) * fa
					b += float64(c.B) * fa
					a += fa
				}
			}
			if a > 0 {
				img.SetNRGBA(px, py, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(255 * a / ss / ss)})
			}
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		panic(err)
	}
}
