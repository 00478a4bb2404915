package prices

import (
	"bytes"
	_ "embed"
	"sync"
)

//go:embed builtin.json
var builtinJSON []byte

var builtin = sync.OnceValue(func() *Catalog {
	c, err := Parse(bytes.NewReader(builtinJSON))
	if err != nil {
		// The tests parse builtin.json, so this cannot happen in a
		// released build; an empty catalogue is the safe answer.
		return &Catalog{}
	}
	return c
})

// Builtin returns the catalogue embedded in this package: the list prices of
// widely used models, each with the date it was observed and its source.
// It is parsed on first use and shared by all callers.
func Builtin() *Catalog { return builtin() }
