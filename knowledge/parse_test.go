package knowledge

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"
)

// validEntry is a well-formed entry used to build test files.
const validEntry = `  - id: ok
    questions:
      zh-Hans: [运费怎么算]
    answer:
      zh-Hans: 满 99 元包邮。
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, the line among them
	}{
		{
			name: "unknown key",
			yaml: "entries:\n" + validEntry + "    colour: red\n",
			want: []string{"kb.yaml:7:", "entries[0]", `unknown key "colour"`},
		},
		{
			name: "unknown top-level key",
			yaml: "version: 2\nentries:\n" + validEntry,
			want: []string{"kb.yaml:1:", `unknown key "version"`},
		},
		{
			name: "duplicate id",
			yaml: "entries:\n" + validEntry + validEntry,
			want: []string{"kb.yaml:7:", "entries[1].id", `duplicate id "ok"`, "kb.yaml:2"},
		},
		{
			name: "bad id",
			yaml: "entries:\n  - id: Shipping_Fee\n    questions: {en: [hi there]}\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:2:", "entries[0].id", `invalid id "Shipping_Fee"`},
		},
		{
			name: "missing id",
			yaml: "entries:\n  - questions: {en: [hi there]}\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:2:", "entries[0]", "missing id"},
		},
		{
			name: "missing answer",
			yaml: "entries:\n  - id: a\n    questions: {en: [hi there]}\n",
			want: []string{"kb.yaml:2:", "entries[0].answer", "missing"},
		},
		{
			name: "empty answer text",
			yaml: "entries:\n  - id: a\n    questions: {en: [hi there]}\n    answer:\n      en: \"  \"\n",
			want: []string{"kb.yaml:5:", "entries[0].answer.en", "must not be empty"},
		},
		{
			name: "unknown locale in questions",
			yaml: "entries:\n  - id: a\n    questions:\n      fr: [bonjour]\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:4:", "entries[0].questions.fr", `unknown locale "fr"`},
		},
		{
			name: "unknown locale in answer",
			yaml: "entries:\n  - id: a\n    questions: {en: [hi there]}\n    answer:\n      zh-CN: 你好\n",
			want: []string{"kb.yaml:5:", "entries[0].answer.zh-CN", `unknown locale "zh-CN"`},
		},
		{
			name: "no questions",
			yaml: "entries:\n  - id: a\n    questions: {}\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:3:", "entries[0].questions", "at least one question"},
		},
		{
			name: "question list empty",
			yaml: "entries:\n  - id: a\n    questions:\n      en: []\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:4:", "entries[0].questions.en", "at least one question"},
		},
		{
			name: "question is not a list",
			yaml: "entries:\n  - id: a\n    questions:\n      en: hi there\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:4:", "entries[0].questions.en", "must be a list"},
		},
		{
			name: "question without words",
			yaml: "entries:\n  - id: a\n    questions:\n      en: [\"???\"]\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:4:", "entries[0].questions.en[0]", "no letters or digits"},
		},
		{
			name: "dangling faq payload",
			yaml: "entries:\n" + validEntry + "    buttons:\n      - label: {en: More}\n        payload: faq:nowhere\n",
			want: []string{"kb.yaml:9:", "entries[0].buttons[0].payload", `"faq:nowhere" names no entry`},
		},
		{
			name: "payload too long",
			yaml: "entries:\n" + validEntry + "    buttons:\n      - label: {en: More}\n        payload: " + strings.Repeat("x", 65) + "\n",
			want: []string{"kb.yaml:9:", "entries[0].buttons[0].payload", "65 bytes"},
		},
		{
			name: "button without label",
			yaml: "entries:\n" + validEntry + "    buttons:\n      - payload: faq:ok\n",
			want: []string{"kb.yaml:8:", "entries[0].buttons[0].label", "missing"},
		},
		{
			name: "duplicate key",
			yaml: "entries:\n  - id: a\n    id: b\n    questions: {en: [hi there]}\n    answer: {en: Hello.}\n",
			want: []string{"kb.yaml:3:", "entries[0]", `duplicate key "id" (first at line 2)`},
		},
		{
			name: "invalid YAML",
			yaml: "entries:\n  - id: a\n    questions: [unclosed\n",
			want: []string{"kb.yaml:", "invalid YAML"},
		},
		{
			name: "invalid YAML with line",
			yaml: "entries:\n  - id: a\n    answer: {en: \"Hello.}\n\tquestions: x\n",
			want: []string{"kb.yaml:3:", "invalid YAML", "unexpected end of stream"},
		},
		{
			name: "entries is not a list",
			yaml: "entries: {id: a}\n",
			want: []string{"kb.yaml:1:", "entries", "must be a list"},
		},
		{
			name: "two documents",
			yaml: "entries:\n" + validEntry + "---\nentries: []\n",
			want: []string{"kb.yaml:", "only one YAML document"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Parse([]byte(tt.yaml), "kb.yaml")
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.yaml)
			}
			if entries != nil {
				t.Errorf("Parse returned %d entries along with an error", len(entries))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseCollectsAllProblems(t *testing.T) {
	data := "entries:\n" +
		"  - id: Bad\n    questions: {fr: [x]}\n    answer: {en: A.}\n" +
		"  - id: b\n    questions: {en: [y]}\n    colour: red\n"
	_, err := Parse([]byte(data), "kb.yaml")
	if err == nil {
		t.Fatal("Parse accepted a broken file")
	}
	for _, w := range []string{"kb.yaml:2:", "kb.yaml:3:", "kb.yaml:7:", "kb.yaml:5:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error misses the problem at %s:\n%v", w, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n < 4 {
		t.Errorf("want at least 4 problems, got %d:\n%v", n, err)
	}
}

func TestParseValid(t *testing.T) {
	data := `# comment
entries:
  - id: shipping-fee
    tags: [shipping]
    questions:
      zh-Hans: [运费怎么算？, 包邮吗]
      zh-Hant: [運費怎麼算？]
      en: ["How much is shipping?"]
    answer:
      zh-Hans: |
        单笔订单满 99 元包邮。
      zh-Hant: 單筆訂單滿 99 元免運。
      en: Orders over ¥99 ship free.
    buttons:
      - label: {zh-Hans: 配送要多久, en: Delivery time}
        payload: faq:delivery-time
  - id: delivery-time
    questions:
      en: ["How long does delivery take?"]
    answer:
      en: Two to four days.
`
	entries, err := Parse([]byte(data), "kb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{
			ID:   "shipping-fee",
			Tags: []string{"shipping"},
			Questions: map[string][]string{
				LocaleHans: {"运费怎么算？", "包邮吗"},
				LocaleHant: {"運費怎麼算？"},
				LocaleEn:   {"How much is shipping?"},
			},
			Answer: map[string]string{
				LocaleHans: "单笔订单满 99 元包邮。", // block scalar's newline trimmed
				LocaleHant: "單筆訂單滿 99 元免運。",
				LocaleEn:   "Orders over ¥99 ship free.",
			},
			Buttons: []Button{{Label: map[string]string{LocaleHans: "配送要多久", LocaleEn: "Delivery time"}, Payload: "faq:delivery-time"}},
		},
		{
			ID:        "delivery-time",
			Questions: map[string][]string{LocaleEn: {"How long does delivery take?"}},
			Answer:    map[string]string{LocaleEn: "Two to four days."},
		},
	}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("Parse =\n%#v\nwant\n%#v", entries, want)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "entries:\n", "entries: []\n"} {
		entries, err := Parse([]byte(data), "kb.yaml")
		if err != nil || len(entries) != 0 {
			t.Errorf("Parse(%q) = %v, %v; want no entries and no error", data, entries, err)
		}
	}
}

// TestSchemaMatchesStructTags checks the walker against yaml.v3's own strict
// decoding of the testdata: a key one of them accepts and the other does not
// would show up here.
func TestSchemaMatchesStructTags(t *testing.T) {
	paths, _ := filepath.Glob("testdata/kb/*.yaml")
	if len(paths) == 0 {
		t.Fatal("no testdata")
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var out struct {
			Entries []Entry `yaml:"entries"`
		}
		if err := dec.Decode(&out); err != nil {
			t.Errorf("%s: strict decode: %v", p, err)
		}
		f := parseFile(data, p)
		if len(f.errs) > 0 {
			t.Errorf("%s: %v", p, f.errs)
		}
		if len(f.entries) != len(out.Entries) {
			t.Errorf("%s: walker found %d entries, yaml.v3 %d", p, len(f.entries), len(out.Entries))
		}
	}
}

func TestLoadFSAcrossFiles(t *testing.T) {
	entries, err := LoadDir("testdata/kb")
	if err != nil {
		t.Fatal(err)
	}
	// account.yaml sorts before shop.yaml, and its buttons point into shop.yaml.
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	want := []string{"payment-methods", "order-tracking", "shipping-fee", "delivery-time", "return-policy", "refund-time", "invoice"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

func TestLoadFSErrors(t *testing.T) {
	one := "entries:\n" + validEntry
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
	}{
		{
			name: "duplicate id across files",
			fsys: fstest.MapFS{"kb/a.yaml": {Data: []byte(one)}, "kb/b.yml": {Data: []byte(one)}},
			want: []string{"kb/b.yml:2: entries[0].id: duplicate id \"ok\" (first defined at kb/a.yaml:2)"},
		},
		{
			name: "dangling payload across files",
			fsys: fstest.MapFS{"kb/a.yaml": {Data: []byte(one + "    buttons:\n      - label: {en: x}\n        payload: faq:gone\n")}},
			want: []string{"kb/a.yaml:9:", `"faq:gone" names no entry`},
		},
		{
			name: "no files",
			fsys: fstest.MapFS{"kb/readme.txt": {Data: []byte("hi")}, "kb/.swap.yaml": {Data: []byte("junk: [")}},
			want: []string{"no .yaml or .yml files in kb"},
		},
		{
			name: "missing directory",
			fsys: fstest.MapFS{},
			want: []string{"load knowledge base kb"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(tt.fsys, "kb")
			if err == nil {
				t.Fatal("LoadFS succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}

	// Cross-file payloads resolve.
	fsys := fstest.MapFS{
		"kb/a.yaml": {Data: []byte(one + "    buttons:\n      - label: {en: x}\n        payload: faq:other\n")},
		"kb/b.yaml": {Data: []byte("entries:\n  - id: other\n    questions: {en: [hello there]}\n    answer: {en: Hi.}\n")},
	}
	if entries, err := LoadFS(fsys, "kb"); err != nil || len(entries) != 2 {
		t.Errorf("LoadFS with a cross-file payload = %d entries, %v", len(entries), err)
	}
}

func TestLoadDirNamesRealPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kb.yaml"), []byte("entries:\n  - id: BAD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "kb.yaml")+":2:") {
		t.Errorf("LoadDir error = %v, want it to name %s:2", err, filepath.Join(dir, "kb.yaml"))
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("LoadDir of a missing directory = %v", err)
	}
}

func TestLinksAndImages(t *testing.T) {
	good := `
entries:
  - id: size
    questions: {en: [size chart]}
    answer: {en: See the chart.}
    image: https://shop.example/chart.png
    buttons:
      - label: {en: Open the chart}
        url: https://shop.example/chart
`
	es, err := Parse([]byte(good), "good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Image != "https://shop.example/chart.png" || es[0].Buttons[0].URL != "https://shop.example/chart" || es[0].Buttons[0].Payload != "" {
		t.Fatalf("parsed %+v", es[0])
	}
	for name, body := range map[string]string{
		"http image":       "    image: http://shop.example/a.png\n",
		"relative image":   "    image: /a.png\n",
		"link and payload": "    buttons:\n      - label: {en: x}\n        url: https://a.example\n        payload: faq:size\n",
		"ftp link":         "    buttons:\n      - label: {en: x}\n        url: ftp://a.example\n",
	} {
		bad := "entries:\n  - id: size\n    questions: {en: [size chart]}\n    answer: {en: See.}\n" + body
		if _, err := Parse([]byte(bad), "bad.yaml"); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
