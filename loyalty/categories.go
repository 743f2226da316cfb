package loyalty

import (
	"fmt"
	"maps"
	"math"

	"github.com/carebot/carebot/store"
)

// metaCategoryMultipliers holds the category multipliers set in the
// manager console; once set they replace the configured ones.
var metaCategoryMultipliers = []byte("category_multipliers")

// CategoryMultipliers returns the multipliers order points use per
// category: those set with SetCategoryMultipliers, else the configured
// ones (loyalty.category_multipliers).
func (p *Program) CategoryMultipliers(tx store.Tx) (map[string]float64, error) {
	var m map[string]float64
	ok, err := store.GetJSON(tx, bucketMeta, metaCategoryMultipliers, &m)
	if err != nil {
		return nil, fmt.Errorf("category multipliers: %w", err)
	}
	if !ok {
		return maps.Clone(p.opts.CategoryMultipliers), nil
	}
	if m == nil {
		m = map[string]float64{}
	}
	return m, nil
}

// SetCategoryMultipliers replaces the category multipliers (0 to 100
// each; a category not listed earns at 1). Categories are compared
// without case and surrounding spaces.
func (p *Program) SetCategoryMultipliers(tx store.Tx, m map[string]float64) error {
	clean := make(map[string]float64, len(m))
	for c, v := range m {
		c = normCategory(c)
		if c == "" || len(c) > 64 || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 100 {
			return fmt.Errorf("category multiplier %q = %g: %w: a category of 1 to 64 bytes and a multiplier from 0 to 100", c, v, ErrInvalid)
		}
		clean[c] = v
	}
	if err := store.PutJSON(tx, bucketMeta, metaCategoryMultipliers, clean); err != nil {
		return fmt.Errorf("save category multipliers: %w", err)
	}
	return nil
}
