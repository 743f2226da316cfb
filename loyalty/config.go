package loyalty

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// catalogueFile is the YAML form of a rewards catalogue
// (configs/rewards.yaml).
type catalogueFile struct {
	Rights []catalogueRight `yaml:"rights"`
}

type catalogueRight struct {
	ID            string            `yaml:"id"`
	Kind          string            `yaml:"kind"`
	Name          map[string]string `yaml:"name"`
	Description   map[string]string `yaml:"description"`
	Value         float64           `yaml:"value"`
	MinSpend      float64           `yaml:"min_spend"`
	Cost          int64             `yaml:"cost"`
	TierCost      map[string]int64  `yaml:"tier_cost"`
	Stock         *int64            `yaml:"stock"` // absent: unlimited
	PerMember     int               `yaml:"per_member"`
	Tiers         []string          `yaml:"tiers"`
	ValidDays     int               `yaml:"valid_days"`
	BirthdayMonth bool              `yaml:"birthday_month"`
	Active        *bool             `yaml:"active"` // absent: active
}

// ParseCatalogue reads a rewards catalogue (the format of
// configs/rewards.yaml: a list under "rights:"). Unknown keys, bad values
// and duplicate ids are errors naming the right; tier names are checked by
// New, which knows the tiers. An absent stock means unlimited and an
// absent active means true.
func ParseCatalogue(data []byte) ([]Right, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f catalogueFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("rewards catalogue: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	out := make([]Right, 0, len(f.Rights))
	for i, c := range f.Rights {
		r := Right{ID: c.ID, Kind: c.Kind, Name: c.Name, Description: c.Description, Value: c.Value, MinSpend: c.MinSpend,
			Cost: c.Cost, TierCost: c.TierCost, Stock: -1, PerMember: c.PerMember, Tiers: c.Tiers, ValidDays: c.ValidDays,
			BirthdayMonth: c.BirthdayMonth, Active: c.Active == nil || *c.Active}
		if c.Stock != nil {
			r.Stock = *c.Stock
		}
		if err := validateRight(r); err != nil {
			errs = append(errs, fmt.Errorf("rights[%d]: %w", i, err))
			continue
		}
		if seen[r.ID] {
			errs = append(errs, fmt.Errorf("rights[%d]: %w: id %q is used twice", i, ErrInvalid, r.ID))
			continue
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("rewards catalogue: %w", errors.Join(errs...))
	}
	return out, nil
}
