package configs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is carebot's whole configuration.
type Config struct {
	Server    Server    `yaml:"server"`
	Data      Data      `yaml:"data"`
	Log       Log       `yaml:"log"`
	Knowledge Knowledge `yaml:"knowledge"`
	Jieba     Jieba     `yaml:"jieba"`
	Dialog    Dialog    `yaml:"dialog"`
	Outbox    Outbox    `yaml:"outbox"`
	Webchat   Webchat   `yaml:"webchat"`
	Admin     Admin     `yaml:"admin"`
	Emotion   Emotion   `yaml:"emotion"`
	Handoff   Handoff   `yaml:"handoff"`
	Console   Console   `yaml:"console"`
	Loyalty   Loyalty   `yaml:"loyalty"`
	Care      Care      `yaml:"care"`
	Channels  Channels  `yaml:"channels"`
}

// Server configures the HTTP server.
type Server struct {
	Addr              string   `yaml:"addr" env:"CAREBOT_ADDR"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`
}

// Data configures where and how state is stored.
type Data struct {
	Dir          string   `yaml:"dir" env:"CAREBOT_DATA"`
	LockTimeout  Duration `yaml:"lock_timeout"`
	SeenEventTTL Duration `yaml:"seen_event_ttl"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level" env:"CAREBOT_LOG_LEVEL"`
	Format string `yaml:"format" env:"CAREBOT_LOG_FORMAT"`
}

// Knowledge configures the FAQ knowledge base.
type Knowledge struct {
	Dir           string   `yaml:"dir" env:"CAREBOT_KNOWLEDGE_DIR"`
	MinScore      float64  `yaml:"min_score"`
	ClarifyScore  float64  `yaml:"clarify_score"`
	Margin        float64  `yaml:"margin"`
	Synonyms      bool     `yaml:"synonyms"`
	SynonymsFile  string   `yaml:"synonyms_file"`
	Suggestions   int      `yaml:"suggestions"`
	WatchInterval Duration `yaml:"watch_interval"`
}

// Jieba configures the Chinese word segmenter.
type Jieba struct {
	DictDir string `yaml:"dict_dir" env:"CAREBOT_JIEBA_DICT"`
}

// Dialog configures conversations.
type Dialog struct {
	DefaultLocale string `yaml:"default_locale"`
	// GroupKeywords make the bot answer a group message containing one even
	// when it is not mentioned.
	GroupKeywords []string `yaml:"group_keywords"`
	// GroupWelcome greets new group members; empty uses the reply text
	// group_welcome, "-" greets nobody.
	GroupWelcome string `yaml:"group_welcome"`
	// FloodBurst messages in a row from one customer are answered, then
	// FloodRate per second; faster ones are logged, not answered. 0 turns
	// flood control off.
	FloodBurst int     `yaml:"flood_burst"`
	FloodRate  float64 `yaml:"flood_rate"`
}

// Outbox configures delivery of outbound messages.
type Outbox struct {
	Concurrency  int      `yaml:"concurrency"`
	MaxAttempts  int      `yaml:"max_attempts"`
	BaseBackoff  Duration `yaml:"base_backoff"`
	MaxBackoff   Duration `yaml:"max_backoff"`
	SendTimeout  Duration `yaml:"send_timeout"`
	PollInterval Duration `yaml:"poll_interval"`
	// RateLimits per channel override the platforms' published limits
	// carebot keeps by default (see docs/configuration.md).
	RateLimits map[string]RateLimit `yaml:"rate_limits"`
}

// RateLimit is one channel's sending limits: "1/s", "20/m", "30/s"; empty
// is unlimited.
type RateLimit struct {
	PerChat  string `yaml:"per_chat"`
	PerGroup string `yaml:"per_group"`
	Overall  string `yaml:"overall"`
}

// Webchat configures the built-in web chat channel.
type Webchat struct {
	Enabled   bool     `yaml:"enabled" env:"CAREBOT_WEBCHAT_ENABLED"`
	ReplyWait Duration `yaml:"reply_wait"`
}

// Admin configures the administrative API.
type Admin struct {
	Token string `yaml:"token" env:"CAREBOT_ADMIN_TOKEN" secret:"true"`
}

// Locales are the locales carebot speaks.
var Locales = []string{"zh-Hans", "zh-Hant", "en"}

// Duration is a time.Duration written as "30s", "5m", "72h" in YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalYAML writes d in Go duration syntax.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalYAML parses Go duration syntax; the loader's tree walk has
// already reported bad values with their key and line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Load builds the effective configuration: the embedded defaults, then the
// file at path (if path is not empty), then the environment as read by
// getenv (os.Getenv when nil). The result is validated.
func Load(path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	def, err := FS.ReadFile("carebot.yaml")
	if err != nil {
		return nil, fmt.Errorf("read embedded carebot.yaml: %w", err)
	}
	var cfg Config
	if err := decodeInto(&cfg, def, "embedded carebot.yaml"); err != nil {
		return nil, err
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		if err := decodeInto(&cfg, data, path); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), getenv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// decodeInto checks the YAML tree against Config (unknown keys, wrong kinds,
// bad durations, each reported as "source:line: key: problem"), then decodes
// it over cfg so that keys absent from the file keep their current values.
func decodeInto(cfg *Config, data []byte, source string) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if len(root.Content) == 0 {
		return nil // an empty file changes nothing
	}
	doc := root.Content[0]
	var problems []error
	checkNode(doc, reflect.TypeOf(*cfg), "", source, &problems)
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	if err := doc.Decode(cfg); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return nil
}

func checkNode(n *yaml.Node, t reflect.Type, path, source string, problems *[]error) {
	at := func(n *yaml.Node, format string, args ...any) {
		key := path
		if key == "" {
			key = "(top level)"
		}
		*problems = append(*problems, fmt.Errorf("%s:%d: %s: %s", source, n.Line, key, fmt.Sprintf(format, args...)))
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t == reflect.TypeOf(Duration(0)):
		if n.Kind != yaml.ScalarNode {
			at(n, "want a duration such as 30s, 5m or 72h")
		} else if _, err := time.ParseDuration(n.Value); err != nil {
			at(n, "invalid duration %q (use a number with a unit: 500ms, 30s, 5m, 72h)", n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			at(n, "want a mapping of keys")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fieldByTag(t, k.Value)
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			if !ok {
				*problems = append(*problems, fmt.Errorf("%s:%d: unknown key %q%s", source, k.Line, child, suggest(t, k.Value)))
				continue
			}
			checkNode(v, f.Type, child, source, problems)
		}
	case t.Kind() == reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			at(n, "want a mapping")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkNode(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value, source, problems)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			at(n, "want a list")
			return
		}
		for i, item := range n.Content {
			checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), source, problems)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			at(n, "want a text value")
		}
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			at(n, "want true or false, got %q", n.Value)
		}
	case t.Kind() == reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			at(n, "want a whole number, got %q", n.Value)
		}
	case t.Kind() == reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") {
			at(n, "want a number, got %q", n.Value)
		}
	}
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.Split(f.Tag.Get("yaml"), ",")[0] == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// suggest names the known key closest to a misspelt one.
func suggest(t reflect.Type, name string) string {
	best, bestDist := "", 3
	var known []string
	for i := 0; i < t.NumField(); i++ {
		k := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		known = append(known, k)
		if d := editDistance(k, name); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known keys: %s)", strings.Join(known, ", "))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// applyEnv sets every field that has an env tag and a non-empty variable.
func applyEnv(v reflect.Value, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)) {
			if err := applyEnv(fv, getenv); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		raw := getenv(name)
		if raw == "" {
			continue
		}
		if err := setScalar(fv, raw); err != nil {
			return fmt.Errorf("environment variable %s: %w", name, err)
		}
	}
	return nil
}

func setScalar(v reflect.Value, raw string) error {
	switch {
	case v.Type() == reflect.TypeOf(Duration(0)):
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("invalid duration %q", raw)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", raw)
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", raw)
		}
		v.SetFloat(x)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// Validate checks values that parse but make no sense, naming the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Server.Addr == "" {
		bad("server.addr", "must not be empty (use HOST:PORT such as 127.0.0.1:8080)")
	} else if _, port, ok := strings.Cut(c.Server.Addr, ":"); !ok || port == "" {
		bad("server.addr", "%q is not HOST:PORT", c.Server.Addr)
	}
	if c.Data.Dir == "" {
		bad("data.dir", "must not be empty")
	}
	positive := map[string]Duration{
		"server.read_header_timeout": c.Server.ReadHeaderTimeout,
		"server.shutdown_timeout":    c.Server.ShutdownTimeout,
		"data.lock_timeout":          c.Data.LockTimeout,
		"data.seen_event_ttl":        c.Data.SeenEventTTL,
		"outbox.base_backoff":        c.Outbox.BaseBackoff,
		"outbox.max_backoff":         c.Outbox.MaxBackoff,
		"outbox.send_timeout":        c.Outbox.SendTimeout,
		"outbox.poll_interval":       c.Outbox.PollInterval,
		"webchat.reply_wait":         c.Webchat.ReplyWait,
	}
	keys := make([]string, 0, len(positive))
	for k := range positive {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if positive[k] <= 0 {
			bad(k, "must be a positive duration")
		}
	}
	if c.Outbox.MaxBackoff < c.Outbox.BaseBackoff {
		bad("outbox.max_backoff", "must not be shorter than outbox.base_backoff")
	}
	if c.Outbox.Concurrency < 1 || c.Outbox.Concurrency > 256 {
		bad("outbox.concurrency", "must be between 1 and 256, got %d", c.Outbox.Concurrency)
	}
	if c.Outbox.MaxAttempts < 1 {
		bad("outbox.max_attempts", "must be at least 1, got %d", c.Outbox.MaxAttempts)
	}
	if c.Knowledge.MinScore <= 0 || c.Knowledge.MinScore > 1 {
		bad("knowledge.min_score", "must be above 0 and at most 1, got %g", c.Knowledge.MinScore)
	}
	if c.Knowledge.ClarifyScore <= 0 || c.Knowledge.ClarifyScore > c.Knowledge.MinScore {
		bad("knowledge.clarify_score", "must be above 0 and at most knowledge.min_score (%g), got %g", c.Knowledge.MinScore, c.Knowledge.ClarifyScore)
	}
	if c.Knowledge.Margin < 0 || c.Knowledge.Margin >= 1 {
		bad("knowledge.margin", "must be from 0 (off) to below 1, got %g", c.Knowledge.Margin)
	}
	if c.Knowledge.SynonymsFile != "" {
		if _, err := os.Stat(c.Knowledge.SynonymsFile); err != nil {
			bad("knowledge.synonyms_file", "%v", err)
		}
	}
	if c.Knowledge.WatchInterval < 0 {
		bad("knowledge.watch_interval", "must not be negative")
	}
	if c.Knowledge.Suggestions < 0 || c.Knowledge.Suggestions > 10 {
		bad("knowledge.suggestions", "must be between 0 and 10, got %d", c.Knowledge.Suggestions)
	}
	if c.Knowledge.Dir != "" {
		if st, err := os.Stat(c.Knowledge.Dir); err != nil {
			bad("knowledge.dir", "%v", err)
		} else if !st.IsDir() {
			bad("knowledge.dir", "%s is not a directory", c.Knowledge.Dir)
		}
	}
	if c.Dialog.FloodBurst < 0 || c.Dialog.FloodBurst > 1000 {
		bad("dialog.flood_burst", "must be 0 (off) to 1000, got %d", c.Dialog.FloodBurst)
	}
	if c.Dialog.FloodBurst > 0 && (math.IsNaN(c.Dialog.FloodRate) || c.Dialog.FloodRate <= 0 || c.Dialog.FloodRate > 1000) {
		bad("dialog.flood_rate", "must be above 0 and at most 1000 messages per second, got %g", c.Dialog.FloodRate)
	}
	if !slices.Contains(Locales, c.Dialog.DefaultLocale) {
		bad("dialog.default_locale", "%q is not one of %s", c.Dialog.DefaultLocale, strings.Join(Locales, ", "))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	errs = append(errs, c.Emotion.Validate(), c.Handoff.Validate(), c.Console.Validate(), c.Loyalty.Validate(), c.Care.Validate(), c.Channels.Validate())
	return errors.Join(errs...)
}

// Masked returns the configuration as YAML with every secret replaced by
// "***" (or left empty when unset), for printing.
func (c *Config) Masked() ([]byte, error) {
	cp := *c
	maskSecrets(reflect.ValueOf(&cp).Elem())
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&cp); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

func maskSecrets(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			maskSecrets(fv)
			continue
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && fv.Len() > 0 {
			// The copy being masked shares its slices with the live config:
			// mask a fresh copy of the elements, never the originals.
			cp := reflect.MakeSlice(f.Type, fv.Len(), fv.Len())
			reflect.Copy(cp, fv)
			for j := 0; j < cp.Len(); j++ {
				maskSecrets(cp.Index(j))
			}
			fv.Set(cp)
			continue
		}
		if f.Tag.Get("secret") == "true" && fv.Kind() == reflect.String && fv.String() != "" {
			fv.SetString("***")
		}
	}
}

// EnvVars lists every environment variable Load reads, with its key.
func EnvVars() map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if path != "" {
				key = path + "." + key
			}
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)) {
				walk(f.Type, key)
				continue
			}
			if env := f.Tag.Get("env"); env != "" {
				out[env] = key
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
}
