package main

import (
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

func TestMain(m *testing.M) {
	writePNG = false // TestCharts turns it back on
	os.Exit(m.Run())
}

// TestCharts checks that a report has all eight charts, as SVG inlined in
// report.html and as PNG files that show something.
func TestCharts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newE2EServers()
		defer srv.close()
		checkCharts(t, runE2E(t, srv))
	})
}

func checkCharts(t *testing.T, out string) {
	writePNG = true
	defer func() { writePNG = false }()
	if _, err := report([]string{out}, out, io.Discard); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	if n := strings.Count(page, "<svg"); n != 8 {
		t.Errorf("report.html inlines %d SVG charts, want 8", n)
	}
	// Nothing to run or fetch (the only URLs are SVG's XML namespaces).
	for _, bad := range []string{"<script", "<link", "src=", "https://", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html contains %q: it must load nothing", bad)
		}
	}
	for _, name := range []string{"ttft-p50-p95", "availability", "cost-per-useful", "e2e-tail", "concurrency", "cold-burst", "windows", "fidelity"} {
		if _, err := os.Stat(filepath.Join(out, "charts", name+".svg")); err != nil {
			t.Error(err)
		}
		f, err := os.Open(filepath.Join(out, "charts", name+".png"))
		if err != nil {
			t.Error(err)
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s.png: %v", name, err)
			continue
		}
		b, ink := img.Bounds(), 0
		for y := b.Min.Y; y < b.Max.Y; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xf000 || g < 0xf000 || bl < 0xf000 {
					ink++
				}
			}
		}
		if ink < 500 {
			t.Errorf("%s.png is nearly blank: %d dark pixels sampled", name, ink)
		}
	}
}
