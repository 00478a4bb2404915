// Command pngcheck fails unless a PNG screenshot shows something: at least
// -min of its pixels differ from white. .ci/report-browser uses it to
// check that report.html did not render blank.
package main

import (
	"flag"
	"fmt"
	"image/png"
	"os"
)

func main() {
	min := flag.Float64("min", 0.01, "least share of non-white pixels")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pngcheck [-min share] screenshot.png")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	img, err := png.Decode(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pngcheck:", err)
		os.Exit(1)
	}
	b := img.Bounds()
	total, ink := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	share := float64(ink) / float64(max(total, 1))
	fmt.Printf("pngcheck: %dx%d, %.1f%% non-white pixels\n", b.Dx(), b.Dy(), 100*share)
	if share < *min {
		fmt.Fprintf(os.Stderr, "pngcheck: the screenshot is blank (under %.1f%% non-white)\n", 100**min)
		os.Exit(1)
	}
}
