package main

import (
	"bytes"
	"encoding/csv"
	"hash/maphash"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carebot/carebot/loyalty"
)

// parseMembers runs the importer's reading half (header, rows, the
// file's own checks) over data, without a database: the rows it would
// hand to the programme, and how many it rejected.
func parseMembers(data []byte) (rows []loyalty.ImportRow, rejected int, err error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	m := &memberImporter{
		cr: cr, batch: 100,
		rejects: &rejectReport{w: io.Discard, max: 100},
		seen:    map[uint64]uint32{}, seenChat: map[uint64]uint32{}, seed: maphash.MakeSeed(),
	}
	if err := m.readHeader(); err != nil {
		return nil, 0, err
	}
	for {
		ir, ok, err := m.next()
		if err != nil {
			return nil, 0, err
		}
		if m.eof {
			return rows, m.stats.rejected, nil
		}
		if ok {
			rows = append(rows, ir.row)
		}
	}
}

// FuzzMemberImportCSV feeds arbitrary files to 'carebot member import's
// CSV reading. It must never panic, nor stop on a bad row (only on a bad
// header); every row passed on has an id and a name, without surrounding
// spaces, in UTF-8, and ids and chat identities are not repeated; and the
// rows passed on round-trip: written back as CSV with every column, they
// read as the same rows, none rejected.
func FuzzMemberImportCSV(f *testing.F) {
	f.Add([]byte(membersCSV))
	f.Add([]byte("id,name,phone,birthday,tier,points,zone,consent\nM1,Ann,,,,,Asia/Tokyo,yes\nM2,Bob,,,,+7,,否\nM3,Cy,,,,,,maybe\n"))
	f.Add([]byte("id,name,phone,birthday,tier,points\n\"M\n1\",\"a \"\"b\"\"\",,,,\n"))
	f.Add([]byte("id,name,phone,birthday,tier\n"))
	f.Add([]byte("id,name,phone,birthday,tier,points,channel\n"))
	f.Add([]byte("id,id\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, _, err := parseMembers(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "header") && !strings.HasPrefix(err.Error(), "read header row") &&
				!strings.HasPrefix(err.Error(), "the file is empty") {
				t.Fatalf("stopped on a row: %v", err)
			}
			return
		}
		ids, chats := map[string]bool{}, map[string]bool{}
		out := [][]string{importColumns}
		for _, r := range rows {
			switch {
			case r.ID == "" || r.Name == "":
				t.Fatalf("row without id or name: %+v", r)
			case strings.TrimSpace(r.ID) != r.ID || strings.TrimSpace(r.Name) != r.Name:
				t.Fatalf("row with surrounding spaces: %+v", r)
			case !utf8.ValidString(r.ID + r.Name + r.Phone + r.Birthday + r.Tier + r.Channel + r.ChannelUser + r.Zone):
				t.Fatalf("row that is not UTF-8: %+v", r)
			case ids[r.ID]:
				t.Fatalf("id %q passed twice", r.ID)
			case r.Channel != "" && r.ChannelUser != "" && chats[r.Channel+"\x00"+r.ChannelUser]:
				t.Fatalf("chat identity %s/%s passed twice", r.Channel, r.ChannelUser)
			}
			ids[r.ID], chats[r.Channel+"\x00"+r.ChannelUser] = true, r.Channel != "" && r.ChannelUser != ""
			consent := "no"
			if r.Consent {
				consent = "yes"
			}
			points := ""
			if r.Points != 0 {
				points = strconv.FormatInt(r.Points, 10)
			}
			out = append(out, []string{r.ID, r.Name, r.Phone, r.Birthday, r.Tier, points, r.Channel, r.ChannelUser, r.Zone, consent})
		}
		var buf bytes.Buffer
		if err := csv.NewWriter(&buf).WriteAll(out); err != nil {
			t.Fatal(err)
		}
		again, rejected, err := parseMembers(buf.Bytes())
		if err != nil || rejected != 0 {
			t.Fatalf("the rows written back: %v, %d rejected\n%q", err, rejected, buf.Bytes())
		}
		if len(rows) != len(again) || (len(rows) > 0 && !reflect.DeepEqual(rows, again)) {
			t.Fatalf("round trip changed the rows:\n%+v\n%+v", rows, again)
		}
	})
}
