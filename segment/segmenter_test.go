package segment

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// sharedSeg returns the process's shared segmenter, failing the test if the
// dictionaries cannot be found. All tests use the one instance because each
// load costs about 0.5 s and 130 MB.
func sharedSeg(t testing.TB) *Segmenter {
	t.Helper()
	s, err := Shared("")
	if err != nil {
		t.Fatalf("Shared: %v", err)
	}
	return s
}

func TestCut(t *testing.T) {
	s := sharedSeg(t)
	tests := []struct {
		name    string
		in      string
		want    []string // must all be present
		notWant []string // must all be absent
	}{
		{"simplified", "退货运费谁出", []string{"运费", "谁"}, nil},
		{"simplified search mode sub-words", "订单号是多少", []string{"订单", "订单号", "多少"}, nil},
		{"traditional", "退貨運費誰出", []string{"运费", "谁"}, []string{"運費"}},
		{"english", "How long does DELIVERY take?", []string{"delivery", "long", "how"}, []string{"?", " ", "DELIVERY"}},
		{"full-width", "ＡＢＣ１２３", []string{"abc123"}, nil},
		{"numbers kept", "订单 2023 号", []string{"2023"}, nil},
		{"emoji and punctuation dropped", "好评👍！！😀，谢谢。", []string{"好评", "谢谢"}, []string{"👍", "！", "😀", "，", "。", "!"}},
		{"invalid UTF-8", "\xff\xfe退货\xc3", []string{"退货"}, []string{"\ufffd"}},
		{"NUL does not cut the text short", "运费\x00怎么算", []string{"运费", "怎么"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Cut(tt.in)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("Cut(%q) = %q, missing %q", tt.in, got, w)
				}
			}
			for _, w := range tt.notWant {
				if slices.Contains(got, w) {
					t.Errorf("Cut(%q) = %q, should not contain %q", tt.in, got, w)
				}
			}
			for _, w := range got {
				if !hasWordRune(w) {
					t.Errorf("Cut(%q) kept token %q without letters or digits", tt.in, w)
				}
			}
		})
	}
}

func TestCutTraditionalMatchesSimplified(t *testing.T) {
	s := sharedSeg(t)
	pairs := [][2]string{
		{"退貨運費誰出", "退货运费谁出"},
		{"能開發票嗎", "能开发票吗"},
		{"訂單號碼在哪裡查詢", "订单号码在哪里查询"},
	}
	for _, p := range pairs {
		trad, simp := s.Cut(p[0]), s.Cut(p[1])
		if len(simp) == 0 || !slices.Equal(trad, simp) {
			t.Errorf("Cut(%q) = %q, Cut(%q) = %q; want equal and non-empty", p[0], trad, p[1], simp)
		}
	}
}

func TestCutNothingToCut(t *testing.T) {
	s := sharedSeg(t)
	for _, in := range []string{"", "   ", "？？？", "!!!...", "😀👍🏻❤️", "\x00\x01", "\xff\xfe"} {
		if got := s.Cut(in); got != nil {
			t.Errorf("Cut(%q) = %q, want nil", in, got)
		}
	}
}

func TestCutLongInput(t *testing.T) {
	s := sharedSeg(t)
	in := strings.Repeat("我想退货，运费谁出？", 1000)
	if n := len([]rune(in)); n != 10000 {
		t.Fatalf("input has %d characters, want 10000", n)
	}
	got := s.Cut(in)
	n := 0
	for _, w := range got {
		if w == "退货" {
			n++
		}
	}
	if n != 1000 {
		t.Errorf("Cut of 1000 repetitions found %q %d times, want 1000", "退货", n)
	}
}

func TestAddWords(t *testing.T) {
	s := sharedSeg(t)
	// An invented product name jieba cannot know; the Traditional spelling
	// checks that AddWords normalises like Cut does.
	const text = "卡布達星球充電倉怎么用"
	if slices.Contains(s.Cut(text), "卡布达星球充电仓") {
		t.Fatal("jieba already knows the test word; pick another")
	}
	s.AddWords("卡布達星球充電倉", "", "  ", "two words")
	if got := s.Cut(text); !slices.Contains(got, "卡布达星球充电仓") {
		t.Errorf("after AddWords, Cut(%q) = %q, want the added word", text, got)
	}
}

func TestConcurrentCutAndAddWords(t *testing.T) {
	s := sharedSeg(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if got := s.Cut("退货运费谁出 How long does delivery take"); !slices.Contains(got, "运费") {
					t.Errorf("concurrent Cut lost a token: %q", got)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			s.AddWords("并发测试词"+string(rune('甲'+i)), "蓝牙充电仓")
		}
	}()
	wg.Wait()
}

func TestShared(t *testing.T) {
	first := sharedSeg(t)
	again, err := Shared(filepath.Join(t.TempDir(), "ignored"))
	if err != nil || again != first {
		t.Fatalf("second Shared call = %p, %v; want the first instance %p and no error", again, err, first)
	}
	first.Close() // a no-op on the shared instance
	if got := first.Cut("运费"); !slices.Equal(got, []string{"运费"}) {
		t.Errorf("Cut after Close on the shared segmenter = %q, want [运费]", got)
	}
}

func TestFindDictDirExplicitMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-dir")
	_, err := FindDictDir(dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("FindDictDir(%q) error = %v, want one naming the path", dir, err)
	}
}

func TestFindDictDirExplicitMissingFile(t *testing.T) {
	dir := copyDicts(t)
	if err := os.Remove(filepath.Join(dir, fileIDF)); err != nil {
		t.Fatal(err)
	}
	_, err := FindDictDir(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, fileIDF)) {
		t.Fatalf("FindDictDir error = %v, want one naming %s", err, fileIDF)
	}
	if strings.Contains(err.Error(), "missing "+filepath.Join(dir, fileHMM)) {
		t.Errorf("error names a file that is present: %v", err)
	}
}

func TestFindDictDirFromEnvAndOpen(t *testing.T) {
	dir := copyDicts(t)
	t.Setenv(EnvDictDir, dir)
	got, err := FindDictDir("")
	if err != nil || got != dir {
		t.Fatalf("FindDictDir(\"\") with $%s = %q, %v; want %q", EnvDictDir, got, err, dir)
	}
	// Explicit wins over the environment.
	other := copyDicts(t)
	if got, err := FindDictDir(other); err != nil || got != other {
		t.Fatalf("FindDictDir(%q) = %q, %v", other, got, err)
	}

	s, err := Open("")
	if err != nil {
		t.Fatalf("Open from $%s: %v", EnvDictDir, err)
	}
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	if got := s.Cut("运费怎么算"); !slices.Contains(got, "运费") {
		t.Errorf("Cut = %q", got)
	}
	s.Close()
	s.Close() // twice is safe
	if got := s.Cut("运费"); got != nil {
		t.Errorf("Cut after Close = %q, want nil", got)
	}
	s.AddWords("运费") // must not touch the freed instance
}

func TestFindDictDirErrorListsPlaces(t *testing.T) {
	tmp := t.TempDir()
	cands := []candidate{
		{dir: "", source: "$" + EnvDictDir},
		{dir: filepath.Join(tmp, "a"), source: "first"},
		{dir: filepath.Join(tmp, "b"), source: "second"},
		{dir: filepath.Join(tmp, "a"), source: "duplicate"},
	}
	_, err := findDictDir(cands)
	if err == nil {
		t.Fatal("findDictDir found a directory in an empty temp dir")
	}
	msg := err.Error()
	for _, want := range []string{EnvDictDir + ": not set", filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), "jieba.dict_dir", EnvDictDir + " environment variable"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, filepath.Join(tmp, "a")+" ") != 1 {
		t.Errorf("duplicate candidate listed twice:\n%s", msg)
	}
}

func TestOpenRejectsMalformedDictionaries(t *testing.T) {
	good := copyDicts(t)
	tests := []struct {
		file, content, want string
	}{
		{fileDict, "", "empty"},
		{fileDict, "退货 10 v\n运费 5\n", "line 2"},
		{fileDict, "退货 10 v\n\n运费 5 n\n", "line 2"},
		{fileUser, "a b c d\n", "line 1"},
		{fileIDF, "运费\n", "idf"},
		{fileHMM, "# only a comment\n", "data lines"},
		{fileHMM, "1 2 3 4\n1 2 3 4\n1 2 3 4\n1 2 3 4\n1 2 3\na:1\nb:1\nc:1\nd:1\n", "data line 5"},
		{fileHMM, "1 2 3 4\n1 2 3 4\n1 2 3 4\n1 2 3 4\n1 2 3 4\na:1\nb:1\nc:1\nd1\n", "data line 9"},
		{fileHMM, "1 2 3 4\n1 2 3 4\n1 2 3 4\n1 2 3 4\n1 2 3 4\nab:1\nb:1\nc:1\nd:1\n", "one UTF-8 character"},
		{fileStop, " \n", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.want, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range dictFiles {
				if name == tt.file {
					continue
				}
				if err := os.Symlink(filepath.Join(good, name), filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir)
			if err == nil {
				t.Fatal("Open accepted a malformed dictionary")
			}
			if !strings.Contains(err.Error(), tt.file) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %v, want it to name %s and mention %q", err, tt.file, tt.want)
			}
		})
	}
}

func TestSplitFieldsMatchesLimonp(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a b c", []string{"a", "b", "c"}},
		{"a b c ", []string{"a", "b", "c"}},
		{"a  b", []string{"a", "", "b"}},
		{" a", []string{"", "a"}},
	}
	for _, tt := range tests {
		got := splitFields(tt.in, " ")
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitFields(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if n := countFields([]byte(tt.in), ' '); n != len(tt.want) {
			t.Errorf("countFields(%q) = %d, want %d", tt.in, n, len(tt.want))
		}
	}
}

// copyDicts copies the dictionary files FindDictDir finds on this machine
// (normally the gojieba module cache) into a fresh temporary directory.
// Copying at test time keeps third-party data out of the repository.
func copyDicts(t *testing.T) string {
	t.Helper()
	src, err := FindDictDir("")
	if err != nil {
		t.Fatalf("no jieba dictionaries on this machine: %v", err)
	}
	dst := t.TempDir()
	for _, name := range dictFiles {
		copyFile(t, filepath.Join(src, name), filepath.Join(dst, name))
	}
	return dst
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkCut(b *testing.B) {
	s := sharedSeg(b)
	cases := []struct{ name, text string }{
		{"simplified20", "请问退货的运费由谁来支付呢我想知道一下谢谢"},
		{"traditional20", "請問退貨的運費由誰來支付呢我想知道一下謝謝"},
		{"english", "How long does DELIVERY take to Shanghai?"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Cut(c.text)
			}
		})
	}
}
