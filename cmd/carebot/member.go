package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/carebot/carebot/bot"
	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/loyalty"
	"github.com/carebot/carebot/store"
	"golang.org/x/term"
)

const memberUsage = `Usage: carebot member COMMAND [flags]

Loyalty programme members.

Commands:
  import FILE.csv [--rejects FILE] [--batch N]   import members from a CSV file (server stopped)
  show ID [--json] [--ledger N]                   a member's profile, balance, coupons and ledger

Common flags: --config FILE, --data DIR. 'member show' also takes --addr HOST:PORT
and works while the server runs (through its admin API). See docs/loyalty.md.
`

func runMember(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, memberUsage)
		return fmt.Errorf("%w: want a command: import or show", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "import":
		return runMemberImport(rest, stdout, stderr)
	case "show":
		return runMemberShow(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, memberUsage)
		return nil
	}
	return fmt.Errorf("%w: unknown command 'member %s' (want import or show)", errUsage, sub)
}

// memberConfig loads the configuration with a short lock timeout, so that
// a command finds out at once that a server holds the database.
func memberConfig(cf *commonFlags) (*configs.Config, error) {
	cfg, err := cf.load()
	if err != nil {
		return nil, err
	}
	cfg.Data.LockTimeout = configs.Duration(500 * time.Millisecond)
	return cfg, nil
}

func runMemberImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("member import", "FILE.csv [--rejects FILE] [--batch N] [--config FILE] [--data DIR]",
		"Imports members from a CSV file with a header row naming the columns id, name, phone,\n"+
			"birthday, tier, points and, optionally, channel and channel_user (to link the member to a\n"+
			"chat identity), in any order. Rows are committed in batches; rejected rows are reported\n"+
			"with their line number and reason, and the exit status is then 1. Running it again with\n"+
			"the same file changes nothing. The server must be stopped: the import opens the database.", stderr)
	var cf commonFlags
	cf.register(fs, false)
	rejectsPath := fs.String("rejects", "", "write rejected rows to `FILE` (CSV: line,id,reason) instead of standard error")
	batch := fs.Int("batch", 2000, "rows per transaction (1 to 100000)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one FILE.csv argument, got %d", errUsage, len(pos))
	}
	if *batch < 1 || *batch > 100000 {
		return fmt.Errorf("%w: --batch must be from 1 to 100000", errUsage)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("open members file: %w", err)
	}
	defer f.Close()
	// The header is checked before the database is opened: a wrong file
	// fails at once and touches nothing.
	imp, err := newMemberImporter(f, *batch, stderr)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if imp.st, imp.prog, err = openForImport(&cf); err != nil {
		return err
	}
	defer imp.st.Close()
	if *rejectsPath != "" {
		rf, err := os.Create(*rejectsPath)
		if err != nil {
			return fmt.Errorf("create rejects file: %w", err)
		}
		defer rf.Close() // flush closes it first and reports its error
		if imp.rejects, err = newRejectFile(rf); err != nil {
			return err
		}
	}
	start := time.Now()
	err = imp.run()
	return imp.report(stdout, time.Since(start), err)
}

// openForImport opens the database and the programme, without the rest
// of the bot (its dictionaries and knowledge base are not needed here),
// refusing when a server holds the database or the programme is off.
func openForImport(cf *commonFlags) (*store.Store, *loyalty.Program, error) {
	cfg, err := memberConfig(cf)
	if err != nil {
		return nil, nil, err
	}
	if !cfg.Loyalty.Enabled {
		return nil, nil, errors.New("the loyalty programme is off: set loyalty.enabled in the configuration")
	}
	opts, err := bot.LoyaltyOptions(cfg.Loyalty)
	if err != nil {
		return nil, nil, err
	}
	prog, err := loyalty.New(opts, time.Now)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(filepath.Join(cfg.Data.Dir, bot.DBFile), store.Options{LockTimeout: cfg.Data.LockTimeout.D()})
	if errors.Is(err, store.ErrInUse) {
		return nil, nil, fmt.Errorf("a carebot server is running on %s; stop it and run the import again "+
			"(a large import is not sent through the HTTP API): %w", cfg.Data.Dir, err)
	}
	if err != nil {
		return nil, nil, err
	}
	// The importer keeps the indexes as it goes; they must exist first,
	// or the server's first start would index every imported member again.
	if _, err := prog.EnsureIndexes(st); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, prog, nil
}

// importColumns are the CSV columns 'member import' knows; the first six
// are required in the header.
var importColumns = []string{"id", "name", "phone", "birthday", "tier", "points", "channel", "channel_user", "zone", "consent"}

const requiredImportColumns = 6

// memberImporter streams a CSV file into the loyalty programme, one
// transaction per batch of rows.
type memberImporter struct {
	prog     *loyalty.Program
	st       *store.Store
	cr       *csv.Reader
	batch    int
	rejects  *rejectReport
	progress *progress
	// seen maps a hash of each id in the file to its first line, to reject
	// a second row with the same id; seenChat does the same for chat
	// identities. Eight bytes of key per row keep a million-row file's sets
	// small; two different ids colliding in 64 bits is too unlikely to
	// matter.
	seen, seenChat map[uint64]uint32
	seed           maphash.Seed
	col            [10]int // index of each importColumns entry in a record, or -1
	ncol           int     // fields in the header
	line           int     // line of the current record
	eof            bool
	stats          struct{ rows, created, present, rejected int }
}

// importRow is a data row ready for the programme, with its line.
type importRow struct {
	line int
	row  loyalty.ImportRow
}

// errRollback abandons a batch's transaction after the programme refused
// a row part-way through importing it (it had written some of it); the
// batch is then replayed without that row, so that nothing of it stays
// behind. A row refused before any write is simply skipped.
var errRollback = errors.New("roll the batch back")

// newMemberImporter reads the header of the CSV file f and returns an
// importer for its rows, reporting rejects and progress on stderr.
func newMemberImporter(f *os.File, batch int, stderr io.Writer) (*memberImporter, error) {
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	counter := &countingReader{r: f}
	cr := csv.NewReader(bufio.NewReaderSize(counter, 256<<10))
	cr.FieldsPerRecord = -1 // rows are checked against the header here, with a clearer message
	cr.ReuseRecord = true
	m := &memberImporter{
		cr:       cr,
		batch:    batch,
		rejects:  &rejectReport{w: stderr, max: 100},
		progress: newProgress(stderr, size, counter),
		seen:     map[uint64]uint32{},
		seenChat: map[uint64]uint32{},
		seed:     maphash.MakeSeed(),
	}
	if err := m.readHeader(); err != nil {
		return nil, err
	}
	return m, nil
}

// run imports the rows, one transaction per batch.
func (m *memberImporter) run() error {
	var replay []importRow
	for !m.eof {
		var b txBatch
		err := m.st.Update(func(tx store.Tx) error {
			b = txBatch{}
			return m.fill(tx, &b, replay)
		})
		if errors.Is(err, errRollback) {
			m.reject(b.refused.line, b.refused.row.ID, b.refusal.Error())
			replay = b.applied
			continue
		}
		if err != nil {
			return err
		}
		replay = nil
		m.stats.created += b.created
		m.stats.present += b.present
		m.progress.update(m.stats.rows)
	}
	return nil
}

// txBatch is what one transaction imported, or the row that made it roll
// back.
type txBatch struct {
	applied          []importRow
	created, present int
	refused          importRow
	refusal          error
}

// fill imports the rows to replay, then new rows until the batch is full
// or the file ends.
func (m *memberImporter) fill(tx store.Tx, b *txBatch, replay []importRow) error {
	for _, ir := range replay {
		if _, err := b.apply(tx, m.prog, ir); err != nil {
			return fmt.Errorf("line %d: import again after a rejected row: %w", ir.line, err)
		}
	}
	for len(b.applied) < m.batch {
		ir, ok, err := m.next()
		if err != nil || m.eof {
			return err
		}
		if !ok {
			continue
		}
		switch writes, err := b.apply(tx, m.prog, ir); {
		case err == nil:
		case isLoyaltyRefusal(err) && writes == 0:
			m.reject(ir.line, ir.row.ID, err.Error())
		case isLoyaltyRefusal(err):
			// Refused after it wrote part of the member: only rolling the
			// transaction back removes that part.
			b.refused, b.refusal = ir, err
			return errRollback
		default:
			return fmt.Errorf("import member %q: %w", ir.row.ID, err)
		}
	}
	return nil
}

// apply imports one row and returns how many writes the programme made
// for it (also when it refused the row).
func (b *txBatch) apply(tx store.Tx, prog *loyalty.Program, ir importRow) (int, error) {
	wt := &watchedTx{Tx: tx}
	created, err := prog.ImportMember(wt, ir.row)
	if err != nil {
		return wt.writes, err
	}
	if created {
		b.created++
	} else {
		b.present++
	}
	b.applied = append(b.applied, ir)
	return wt.writes, nil
}

// watchedTx counts the writes made through it, which tells whether a
// refused row left anything behind in the transaction.
type watchedTx struct {
	store.Tx
	writes int
}

func (t *watchedTx) Put(b store.Bucket, key, value []byte) error {
	t.writes++
	return t.Tx.Put(b, key, value)
}

func (t *watchedTx) Delete(b store.Bucket, key []byte) error {
	t.writes++
	return t.Tx.Delete(b, key)
}

func (t *watchedTx) NextSequence(b store.Bucket) (uint64, error) {
	t.writes++
	return t.Tx.NextSequence(b)
}

// report ends the progress bar and the rejects report and prints the
// summary; the error says why the exit status is not 0.
func (m *memberImporter) report(stdout io.Writer, took time.Duration, runErr error) error {
	m.progress.finish(m.stats.rows)
	err := m.rejects.flush()
	st := m.stats
	fmt.Fprintf(stdout, "%d rows read in %s: %d members created, %d already present, %d rejected\n",
		st.rows, took.Round(time.Millisecond), st.created, st.present, st.rejected)
	switch {
	case runErr != nil:
		return fmt.Errorf("import stopped at line %d (the rows before it are committed; running the import again is safe): %w", m.line, runErr)
	case err != nil:
		return err
	case st.rejected > 0:
		rows, where := "rows", "listed above"
		if st.rejected == 1 {
			rows = "row"
		}
		if m.rejects.file != nil {
			where = "listed in " + m.rejects.file.Name()
		}
		return fmt.Errorf("%d %s rejected (%s); the other rows are imported", st.rejected, rows, where)
	}
	return nil
}

// next reads the next data row. ok is false for a row rejected before it
// reaches the programme, and at the end of the file (m.eof).
func (m *memberImporter) next() (ir importRow, ok bool, err error) {
	rec, err := m.cr.Read()
	if errors.Is(err, io.EOF) {
		m.eof = true
		return importRow{}, false, nil
	}
	m.stats.rows++
	if perr := (*csv.ParseError)(nil); errors.As(err, &perr) {
		m.line = perr.StartLine
		m.reject(m.line, "", "CSV: "+perr.Err.Error())
		return importRow{}, false, nil
	}
	if err != nil {
		return importRow{}, false, fmt.Errorf("read CSV: %w", err)
	}
	m.line, _ = m.cr.FieldPos(0)
	ir, reason := m.parse(rec)
	if reason != "" {
		m.reject(m.line, ir.row.ID, reason)
		return ir, false, nil
	}
	return ir, true, nil
}

// readHeader maps the header's column names to importColumns.
func (m *memberImporter) readHeader() error {
	head, err := m.cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("the file is empty; it needs a header row: " + strings.Join(importColumns, ","))
	}
	if err != nil {
		return fmt.Errorf("read header row: %w", err)
	}
	for i := range m.col {
		m.col[i] = -1
	}
	m.ncol = len(head)
	for i, name := range head {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // spreadsheet programs start UTF-8 files with a BOM
		}
		name = strings.ToLower(strings.TrimSpace(name))
		k := indexOf(importColumns, name)
		switch {
		case k < 0:
			return fmt.Errorf("header: unknown column %q (known: %s)", name, strings.Join(importColumns, ", "))
		case m.col[k] >= 0:
			return fmt.Errorf("header: column %q appears twice", name)
		}
		m.col[k] = i
	}
	var missing []string
	for k := range requiredImportColumns {
		if m.col[k] < 0 {
			missing = append(missing, importColumns[k])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("header: missing columns %s (the first row must name the columns: %s)", strings.Join(missing, ", "), strings.Join(importColumns, ","))
	}
	if (m.col[6] < 0) != (m.col[7] < 0) {
		return errors.New("header: columns channel and channel_user go together")
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// parse turns a record into a row, or gives the reason to reject it: the
// file's own mistakes (field count, encoding, a missing id or name, an id
// or chat identity given twice, points that are not a number). The
// programme checks the values.
func (m *memberImporter) parse(rec []string) (importRow, string) {
	field := func(k int) string {
		if i := m.col[k]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	ir := importRow{line: m.line, row: loyalty.ImportRow{
		ID: field(0), Name: field(1), Phone: field(2), Birthday: field(3), Tier: field(4),
		Channel: field(6), ChannelUser: field(7), Zone: field(8),
	}}
	if len(rec) != m.ncol {
		return ir, fmt.Sprintf("%d fields, the header has %d", len(rec), m.ncol)
	}
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return ir, "not UTF-8 text (save the file as \"CSV UTF-8\")"
		}
	}
	switch {
	case ir.row.ID == "":
		return ir, "id is empty"
	case ir.row.Name == "":
		return ir, "name is empty"
	}
	h := maphash.String(m.seed, ir.row.ID)
	if first, dup := m.seen[h]; dup {
		return ir, fmt.Sprintf("duplicate id: the same id is on line %d", first)
	}
	m.seen[h] = uint32(m.line)
	if ir.row.Channel != "" && ir.row.ChannelUser != "" {
		h := maphash.String(m.seed, ir.row.Channel+"\x00"+ir.row.ChannelUser)
		if first, dup := m.seenChat[h]; dup {
			return ir, fmt.Sprintf("duplicate chat identity %s/%s: the same one is on line %d", ir.row.Channel, ir.row.ChannelUser, first)
		}
		m.seenChat[h] = uint32(m.line)
	}
	switch c := strings.ToLower(field(9)); c {
	case "", "0", "no", "false", "n", "否":
	case "1", "yes", "true", "y", "是":
		ir.row.Consent = true
	default:
		return ir, fmt.Sprintf("consent %q is not yes or no", field(9))
	}
	if s := field(5); s != "" {
		p, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return ir, fmt.Sprintf("points %q is not a whole number", s)
		}
		ir.row.Points = p
	}
	return ir, ""
}

func (m *memberImporter) reject(line int, id, reason string) {
	m.stats.rejected++
	m.rejects.add(line, id, reason)
}

// isLoyaltyRefusal reports whether err is the programme refusing a row
// (as opposed to the database failing).
func isLoyaltyRefusal(err error) bool {
	for _, e := range []error{loyalty.ErrInvalid, loyalty.ErrExists, loyalty.ErrNoMember, loyalty.ErrFrozen, loyalty.ErrLinkCode} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// newRejectFile starts a CSV file of rejected rows in f; flush closes it.
func newRejectFile(f *os.File) (*rejectReport, error) {
	r := &rejectReport{csv: csv.NewWriter(f), file: f}
	if err := r.csv.Write([]string{"line", "id", "reason"}); err != nil {
		return nil, fmt.Errorf("write rejects file: %w", err)
	}
	return r, nil
}

// rejectReport writes rejected rows to a CSV file, or as lines to standard
// error up to max of them.
type rejectReport struct {
	w       io.Writer
	max     int
	csv     *csv.Writer
	file    *os.File // closed by flush
	n, more int
	err     error
}

func (r *rejectReport) add(line int, id, reason string) {
	if r.csv != nil {
		if err := r.csv.Write([]string{strconv.Itoa(line), id, reason}); err != nil && r.err == nil {
			r.err = err
		}
		return
	}
	if r.n >= r.max {
		r.more++
		return
	}
	r.n++
	if id != "" {
		fmt.Fprintf(r.w, "line %d (id %s): %s\n", line, id, reason)
	} else {
		fmt.Fprintf(r.w, "line %d: %s\n", line, reason)
	}
}

func (r *rejectReport) flush() error {
	if r.csv != nil {
		r.csv.Flush()
		if r.err == nil {
			r.err = r.csv.Error()
		}
		if err := r.file.Close(); r.err == nil && err != nil {
			r.err = err
		}
		if r.err != nil {
			return fmt.Errorf("write rejects file: %w", r.err)
		}
		return nil
	}
	if r.more > 0 {
		fmt.Fprintf(r.w, "… and %d more rejected rows (list them all with --rejects FILE)\n", r.more)
	}
	return nil
}

// countingReader counts the bytes read through it, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// progress shows how far an import is: a redrawn bar on a terminal, a
// plain line every few seconds otherwise (a log file, a CI job).
type progress struct {
	w      io.Writer
	tty    bool
	size   int64 // file size, or -1 when unknown
	read   *countingReader
	start  time.Time
	last   time.Time
	every  time.Duration
	drawn  bool
	clock  func() time.Time
	barLen int
}

func newProgress(w io.Writer, size int64, read *countingReader) *progress {
	p := &progress{w: w, size: size, read: read, clock: time.Now, every: 5 * time.Second, barLen: 30}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.every = true, 100*time.Millisecond
	}
	p.start = p.clock()
	p.last = p.start
	return p
}

func (p *progress) update(rows int) {
	now := p.clock()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	p.draw(rows, now)
}

func (p *progress) draw(rows int, now time.Time) {
	rate := float64(rows) / max(now.Sub(p.start).Seconds(), 1e-3)
	if !p.tty {
		if p.size > 0 {
			fmt.Fprintf(p.w, "member import: %d rows (%d%%, %.0f rows/s)\n", rows, p.percent(), rate)
		} else {
			fmt.Fprintf(p.w, "member import: %d rows (%.0f rows/s)\n", rows, rate)
		}
		return
	}
	p.drawn = true
	if p.size <= 0 {
		fmt.Fprintf(p.w, "\r%d rows  %.0f rows/s ", rows, rate)
		return
	}
	pct := p.percent()
	fill := p.barLen * pct / 100
	fmt.Fprintf(p.w, "\r[%s%s] %3d%%  %d rows  %.0f rows/s ", strings.Repeat("#", fill), strings.Repeat(".", p.barLen-fill), pct, rows, rate)
}

func (p *progress) percent() int {
	if p.size <= 0 {
		return 0
	}
	return int(min(100, p.read.n*100/p.size))
}

// finish draws the final state of the bar and ends its line.
func (p *progress) finish(rows int) {
	if p.tty {
		p.draw(rows, p.clock())
		fmt.Fprintln(p.w)
	}
}

func runMemberShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("member show", "ID [--json] [--ledger N] [--config FILE] [--data DIR] [--addr HOST:PORT]",
		"Shows a member: profile, tier, lifecycle stage, balance, coupons and the latest ledger\n"+
			"entries. It opens the database, or asks the running server's admin API when a server\n"+
			"holds it (with the admin token of the data directory or CAREBOT_ADMIN_TOKEN).", stderr)
	var cf commonFlags
	cf.register(fs, true)
	asJSON := fs.Bool("json", false, "print JSON (the admin API's answer)")
	ledger := fs.Int("ledger", 20, "how many ledger entries to show (1 to 100)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return fmt.Errorf("%w: want exactly one member ID", errUsage)
	}
	if *ledger < 1 || *ledger > bot.DetailLedger {
		return fmt.Errorf("%w: --ledger must be from 1 to %d", errUsage, bot.DetailLedger)
	}
	id := pos[0]
	cfg, err := memberConfig(&cf)
	if err != nil {
		return err
	}
	var prof *bot.MemberDetail
	err = withApp(cfg, func(app *bot.App) error {
		prof, err = app.MemberDetail(id)
		return err
	}, func() error {
		prof = new(bot.MemberDetail)
		return adminJSON(cfg, http.MethodGet, "/api/v1/members/"+url.PathEscape(id), nil, prof)
	})
	if err != nil {
		return err
	}
	if len(prof.Ledger) > *ledger {
		prof.Ledger = prof.Ledger[:*ledger]
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(prof)
	}
	return printMember(stdout, prof)
}

// printMember writes a member's detail as text.
func printMember(w io.Writer, d *bot.MemberDetail) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	m, b := d.Member, d.Balance
	fmt.Fprintf(tw, "member\t%s\n", m.ID)
	fmt.Fprintf(tw, "name\t%s\n", orDash(m.Name))
	fmt.Fprintf(tw, "phone\t%s\n", orDash(m.Phone))
	fmt.Fprintf(tw, "birthday\t%s\n", orDash(m.Birthday))
	for _, id := range m.Identities {
		fmt.Fprintf(tw, "chat\t%s/%s\n", id.Channel, id.User)
	}
	fmt.Fprintf(tw, "care messages\t%s\n", map[bool]string{true: "yes", false: "no"}[m.Consent])
	fmt.Fprintf(tw, "tier\t%s since %s\n", m.Tier, m.TierSince.Local().Format("2006-01-02"))
	if b.NextTier != "" {
		fmt.Fprintf(tw, "qualifying\t%d points, %d more for %s\n", b.Qualifying, b.ToNext, b.NextTier)
	} else {
		fmt.Fprintf(tw, "qualifying\t%d points\n", b.Qualifying)
	}
	fmt.Fprintf(tw, "stage\t%s (%d orders)\n", d.Stage, m.Orders)
	fmt.Fprintf(tw, "balance\t%d points\n", b.Points)
	if b.Expiring > 0 {
		fmt.Fprintf(tw, "expiring\t%d points by %s\n", b.Expiring, b.ExpiringBy.Local().Format("2006-01-02"))
	}
	if m.Frozen {
		fmt.Fprintf(tw, "frozen\tby %s: %s\n", m.FrozenBy, m.FrozenReason)
	}
	fmt.Fprintf(tw, "referral code\t%s\n", m.ReferralCode)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ncoupons (%d)\n", len(d.Coupons))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range d.Coupons {
		until := "no expiry"
		if !c.Expires.IsZero() {
			until = "until " + c.Expires.Local().Format("2006-01-02")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Code, c.Right, c.Status, until)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nledger (latest %d, newest first)\n", len(d.Ledger))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range d.Ledger {
		fmt.Fprintf(tw, "  %s\t%s/%s\t%+d\t= %d\t%s\n", e.Time.Local().Format("2006-01-02 15:04"), e.Kind, e.Reason, e.Points, e.Balance, entryDetail(e))
	}
	return tw.Flush()
}

// entryDetail says what a ledger entry was about, and who made it.
func entryDetail(e loyalty.Entry) string {
	var parts []string
	for _, kv := range [][2]string{{"order", e.Order}, {"right", e.Right}, {"coupon", e.Coupon}, {"by", e.By}, {"note", e.Note}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	if e.Ticket != 0 {
		parts = append(parts, fmt.Sprintf("ticket %d", e.Ticket))
	}
	if e.Shortfall != 0 {
		parts = append(parts, fmt.Sprintf("shortfall %d", e.Shortfall))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
