package configs

import (
	"bytes"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// defaultsNode is the embedded carebot.yaml, parsed once: decoding it
// per run is much faster than parsing it again.
var defaultsNode yaml.Node

// defaults returns the embedded defaults, as Load starts from them.
func defaults(tb testing.TB) Config {
	tb.Helper()
	if defaultsNode.Kind == 0 {
		def, err := FS.ReadFile("carebot.yaml")
		if err != nil {
			tb.Fatal(err)
		}
		if err := yaml.Unmarshal(def, &defaultsNode); err != nil {
			tb.Fatal(err)
		}
	}
	var cfg Config
	if err := defaultsNode.Decode(&cfg); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// FuzzConfig parses arbitrary YAML as a configuration file over the
// defaults, as Load does. It must never panic; a file that parses and
// validates must round-trip (written out and read back, it gives the same
// configuration, which validates again); and its masked form must show
// every secret as "***".
func FuzzConfig(f *testing.F) {
	def, err := FS.ReadFile("carebot.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(def),
		"",
		"# only a comment\n",
		"server:\n  addr: 0.0.0.0:9000\nlog: {level: debug, format: json}\n",
		"admin:\n  token: very-secret-admin-token\n",
		"channels:\n  telegram: {token: '123:abc', webhook_secret: s3cret, mode: webhook}\n  line: {channel_secret: a, channel_token: b}\n",
		"channels:\n  wechat: {app_id: wx1, app_secret: s, token: t, encoding_aes_key: abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG, template_ids: {care: T1}}\n",
		"console:\n  session_ttl: 8h\n  accounts:\n    - {name: boss, role: admin, password_hash: $2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234}\n",
		"outbox:\n  rate_limits: {telegram: {per_chat: 1/s, per_group: 20/m}}\n",
		"handoff:\n  staff:\n    - {channel: line, chat_id: C1}\n  mild: {queue: agent, sla: 10m}\n",
		"base: &b {addr: x}\nserver: *b\n",
		"server:\n  addr: [1, 2]\n",
		"outbox:\n  base_backoff: soon\n",
		"knowledge: {min_score: 2}\n",
		"dialog:\n  group_keywords: [客服, help]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := defaults(t)
		if err := decodeInto(&cfg, data, "fuzz.yaml"); err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			return
		}
		out, err := yaml.Marshal(&cfg)
		if err != nil {
			t.Fatalf("cannot write a valid configuration: %v", err)
		}
		again := defaults(t)
		if err := decodeInto(&again, out, "written.yaml"); err != nil {
			t.Fatalf("the written configuration does not parse: %v\n%s", err, out)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("the written configuration does not validate: %v\n%s", err, out)
		}
		out2, err := yaml.Marshal(&again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the configuration:\n%s\n---\n%s", out, out2)
		}

		masked, err := cfg.Masked()
		if err != nil {
			t.Fatalf("Masked: %v", err)
		}
		var shown Config
		if err := yaml.Unmarshal(masked, &shown); err != nil {
			t.Fatalf("the masked configuration does not parse: %v\n%s", err, masked)
		}
		checkMasked(t, reflect.ValueOf(cfg), reflect.ValueOf(shown), "")
	})
}

// checkMasked fails when a secret field of orig shows in shown as
// anything but "***" ("" stays "").
func checkMasked(t *testing.T, orig, shown reflect.Value, path string) {
	t.Helper()
	typ := orig.Type()
	for i := 0; i < typ.NumField(); i++ {
		f, o, s := typ.Field(i), orig.Field(i), shown.Field(i)
		name := path + "." + f.Name
		switch {
		case f.Type.Kind() == reflect.Struct:
			checkMasked(t, o, s, name)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			if o.Len() != s.Len() {
				t.Fatalf("%s: %d items, masked %d", name, o.Len(), s.Len())
			}
			for j := 0; j < o.Len(); j++ {
				checkMasked(t, o.Index(j), s.Index(j), name)
			}
		case f.Tag.Get("secret") == "true":
			want := ""
			if o.String() != "" {
				want = "***"
			}
			if s.String() != want {
				t.Fatalf("%s shows %q in the masked configuration", name, s.String())
			}
		}
	}
}

// FuzzParseReplies parses arbitrary reply texts: a file that parses has
// every reply in every locale.
func FuzzParseReplies(f *testing.F) {
	data, err := FS.ReadFile(RepliesFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("greeting: {en: hi}\n"))
	f.Add([]byte("- x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReplies(data, "fuzz.yaml")
		if err != nil {
			return
		}
		for _, key := range ReplyKeys {
			for _, loc := range Locales {
				if r[key][loc] == "" {
					t.Fatalf("parsed without %s.%s", key, loc)
				}
			}
		}
	})
}
