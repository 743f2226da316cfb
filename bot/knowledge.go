package bot

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/carebot/carebot/configs"
	"github.com/carebot/carebot/knowledge"
	"github.com/carebot/carebot/store"
)

// buildKnowledge loads the knowledge base files (knowledge.dir, or the
// embedded demo), applies what the database holds over them — entries
// edited in the manager console, then questions added at run time (one
// merge, knowledge.Layers.Merge) — and indexes the result.
func (a *App) buildKnowledge() (*knowledge.Base, error) {
	entries, err := KnowledgeEntries(a.cfg.Knowledge.Dir)
	if err != nil {
		return nil, err
	}
	var layers knowledge.Layers
	if err := a.store.View(func(tx store.Tx) error {
		layers, err = knowledge.ReadLayers(tx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	entries, orphans := layers.Merge(entries)
	if len(orphans) > 0 {
		a.log.Warn("questions were added to entries that are no longer in the knowledge base", "entries", orphans)
	}
	return a.indexKnowledge(entries)
}

// indexKnowledge indexes entries with the configured options.
func (a *App) indexKnowledge(entries []knowledge.Entry) (*knowledge.Base, error) {
	opts, err := KnowledgeOptions(a.cfg)
	if err != nil {
		return nil, err
	}
	kb, err := knowledge.NewBase(a.seg, entries, opts)
	if err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	return kb, nil
}

// KnowledgeEntries loads the knowledge base files of dir, or the embedded
// demo when dir is empty.
func KnowledgeEntries(dir string) ([]knowledge.Entry, error) {
	var entries []knowledge.Entry
	var err error
	if dir == "" {
		entries, err = knowledge.LoadFS(configs.FS, configs.DefaultKnowledgeDir)
	} else {
		entries, err = knowledge.LoadDir(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	return entries, nil
}

// ReloadKnowledge rebuilds the knowledge base and swaps it in for the
// following turns; turns in progress finish with the old one, so no
// message is dropped. On any error the old knowledge base stays.
func (a *App) ReloadKnowledge(reason string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	start := time.Now()
	kb, err := a.buildKnowledge()
	if err == nil {
		err = a.router.SetKnowledge(kb)
	}
	if err != nil {
		a.log.Error("knowledge base reload failed; keeping the previous one", "reason", reason, "err", err)
		return err
	}
	a.log.Info("knowledge base reloaded", "reason", reason, "entries", kb.Len(), "took", time.Since(start))
	return nil
}

// AddQuestion adds text as a similar question of entry id, stores it and
// reloads the knowledge base, so the next customer asking it is answered.
func (a *App) AddQuestion(id, locale, text, by string) (knowledge.Addition, bool, error) {
	var add knowledge.Addition
	var added bool
	err := a.store.Update(func(tx store.Tx) error {
		var err error
		add, added, err = knowledge.AddQuestion(tx, a.Knowledge(), id, locale, text, by, a.now())
		return err
	})
	if err != nil {
		return add, false, err
	}
	if added {
		if err := a.ReloadKnowledge("question added to " + id); err != nil {
			return add, true, err
		}
	}
	return add, added, nil
}

// Unanswered lists the n most frequent questions the bot could not answer.
func (a *App) Unanswered(n int) ([]knowledge.UnansweredStat, error) {
	var out []knowledge.UnansweredStat
	err := a.store.View(func(tx store.Tx) error {
		var err error
		out, err = knowledge.TopUnanswered(tx, n)
		return err
	})
	return out, err
}

// watchKnowledge reloads the knowledge base when a file in knowledge.dir
// changes. It polls a fingerprint of names, sizes and modification times,
// which works on every file system and in containers where inotify events
// of bind mounts do not arrive.
func (a *App) watchKnowledge(ctx context.Context) {
	dir := a.cfg.Knowledge.Dir
	if dir == "" || a.cfg.Knowledge.WatchInterval <= 0 {
		return
	}
	t := time.NewTicker(a.cfg.Knowledge.WatchInterval.D())
	defer t.Stop()
	last := a.kbFingerprint
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if fp := fingerprint(dir); fp != last {
			last = fp
			_ = a.ReloadKnowledge("files changed in " + dir)
		}
	}
}

// fingerprint summarises the YAML files directly in dir, the ones
// knowledge.LoadDir reads.
func fingerprint(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var lines []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		if info, err := e.Info(); err == nil {
			lines = append(lines, fmt.Sprintf("%s %d %d", e.Name(), info.Size(), info.ModTime().UnixNano()))
		}
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return string(sum[:])
}

// KnowledgeOptions turns the knowledge keys of cfg into index options,
// reading the synonym list when synonyms are on.
func KnowledgeOptions(cfg *configs.Config) (knowledge.Options, error) {
	opts := knowledge.DefaultOptions()
	opts.MinScore = cfg.Knowledge.MinScore
	opts.ClarifyScore = cfg.Knowledge.ClarifyScore
	opts.Margin = cfg.Knowledge.Margin
	if opts.Margin == 0 {
		opts.Margin = -1 // in the configuration, 0 means off
	}
	if !cfg.Knowledge.Synonyms {
		return opts, nil
	}
	var err error
	if cfg.Knowledge.SynonymsFile != "" {
		opts.Synonyms, err = knowledge.LoadSynonyms(cfg.Knowledge.SynonymsFile)
	} else {
		var data []byte
		if data, err = configs.FS.ReadFile(configs.SynonymsFile); err == nil {
			opts.Synonyms, err = knowledge.ParseSynonyms(data, "embedded "+configs.SynonymsFile)
		}
	}
	if err != nil {
		return opts, fmt.Errorf("knowledge.synonyms_file: %w", err)
	}
	return opts, nil
}
