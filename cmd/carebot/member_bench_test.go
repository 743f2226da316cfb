package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeMembersCSV writes n generated members to path: every row valid,
// ids C0000001…, a tenth of them linked to a web chat session, points and
// tiers spread like a real programme's. The same n gives the same file.
func writeMembersCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	surnames := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高")
	given := []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
	tiers := []string{"regular", "regular", "regular", "regular", "regular", "regular", "silver", "silver", "gold", "diamond"}
	fmt.Fprintln(w, "id,name,phone,birthday,tier,points,channel,channel_user")
	for i := 1; i <= n; i++ {
		name := string([]rune{surnames[rng.IntN(len(surnames))], given[rng.IntN(len(given))], given[rng.IntN(len(given))]})
		birthday := time.Date(1950+rng.IntN(55), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		channel, user := "", ""
		if i%10 == 0 {
			channel, user = "webchat", fmt.Sprintf("imported-session-%08d", i)
		}
		fmt.Fprintf(w, "C%07d,%s,1%02d%08d,%s,%s,%d,%s,%s\n", i, name, 30+rng.IntN(60), i, birthday, tiers[rng.IntN(len(tiers))], rng.IntN(30000), channel, user)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkMemberImport imports generated members with the real binary
// into a fresh data directory, then again (the idempotent re-run), and
// reports wall time and the child's memory: peak RSS (ru_maxrss from
// wait4, the kernel's VmHWM of the process) and the highest anonymous RSS
// sampled from /proc (see importRun). A ten-row import gives the cost of
// starting. It is slow, so it runs only with CAREBOT_IMPORT_BENCH=1:
//
//	CAREBOT_IMPORT_BENCH=1 go test ./cmd/carebot -run '^$' -bench MemberImport -benchtime 1x
//
// CAREBOT_IMPORT_ROWS changes the row count (default 1,000,000).
func BenchmarkMemberImport(b *testing.B) {
	if os.Getenv("CAREBOT_IMPORT_BENCH") == "" {
		b.Skip("set CAREBOT_IMPORT_BENCH=1 to import a million members")
	}
	rows := 1_000_000
	if s := os.Getenv("CAREBOT_IMPORT_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("CAREBOT_IMPORT_ROWS=%q is not a positive number", s)
		}
		rows = n
	}
	bin := binary(b)
	dir := b.TempDir()
	file := filepath.Join(dir, "members.csv")
	start := time.Now()
	if err := writeMembersCSV(file, rows); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(file)
	b.Logf("generated %d rows (%.1f MB) in %s", rows, float64(st.Size())/1e6, time.Since(start).Round(time.Millisecond))
	// The same command on a ten-row file: what starting costs.
	small := filepath.Join(dir, "ten.csv")
	if err := writeMembersCSV(small, 10); err != nil {
		b.Fatal(err)
	}
	var base, first, again importRun
	for b.Loop() {
		base = importOnce(b, bin, small, filepath.Join(b.TempDir(), "data"))
		data := filepath.Join(b.TempDir(), "data")
		first = importOnce(b, bin, file, data)
		again = importOnce(b, bin, file, data)
		if db, err := os.Stat(filepath.Join(data, "carebot.db")); err == nil {
			b.Logf("database: %.1f MB", float64(db.Size())/1e6)
		}
	}
	for _, r := range []struct {
		what string
		run  importRun
	}{{"ten rows:", base}, {"first import:", first}, {"re-run:", again}} {
		anon := "too short to sample"
		if r.run.anonMB > 0 {
			anon = fmt.Sprintf("%.1f MB", r.run.anonMB)
		}
		b.Logf("%-14s %9s, peak RSS %6.1f MB (anonymous: %s); %s", r.what, r.run.wall.Round(time.Millisecond), r.run.peakMB, anon, r.run.summary)
	}
	b.ReportMetric(float64(rows)/first.wall.Seconds(), "rows/s")
	b.ReportMetric(first.peakMB, "peak-RSS-MB")
	b.ReportMetric(first.anonMB, "peak-anon-MB")
	b.ReportMetric(again.wall.Seconds(), "rerun-s")
}

type importRun struct {
	wall time.Duration
	// peakMB is ru_maxrss (VmHWM): every resident page at the peak,
	// including the database file's pages that bbolt maps into memory.
	// anonMB is the highest RssAnon sampled every 100 ms: the process's
	// own memory (Go heap, the jieba dictionary), without the mapped file.
	peakMB, anonMB float64
	summary        string
}

func importOnce(b *testing.B, bin, file, data string) importRun {
	b.Helper()
	cmd := exec.Command(bin, "member", "import", file, "--data", data)
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	anon := make(chan float64, 1)
	go func() {
		var peak float64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb, ok := procStatusKB(cmd.Process.Pid, "RssAnon"); ok {
				peak = max(peak, kb/1024)
			}
			select {
			case <-done:
				anon <- peak
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(done)
	if err != nil {
		b.Fatalf("import: %v\n%s", err, out.Bytes())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage for the child")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return importRun{wall: wall, peakMB: float64(ru.Maxrss) / 1024, anonMB: <-anon, summary: lines[len(lines)-1]}
}

// procStatusKB reads a "Name:   N kB" line of /proc/PID/status.
func procStatusKB(pid int, name string) (float64, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return n, err == nil
		}
	}
	return 0, false
}
