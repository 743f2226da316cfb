// carebot manager console: the knowledge base. Search and edit entries —
// questions and answers per locale — which the server checks with the
// rules of `carebot kb lint` and makes live at once; each entry's history
// with restore; a box to try a question on the live knowledge base; and
// the questions the bot could not answer, to add to an entry or start a
// new one from.
//
// Every text from the server is set with textContent (through el), never
// as HTML.
'use strict';

(() => {
  const M = window.carebotManager;
  const { el, api, fail, announce, fmt } = M;
  const LOCALES = ['zh-Hans', 'zh-Hant', 'en'];
  const REQUEST_TIMEOUT_MS = 20000;

  const OWN = {
    zh: {
      heading: '知识库', searchLabel: '搜索条目', searchHint: '问题或答案里的词，或条目 ID', newEntry: '新建条目',
      colId: '条目', colQuestion: '标准问题', colCounts: '问题数', colSource: '来源', colVersion: '版本',
      source_file: '文件', source_edited: '已修改', source_new: '新建', source_deleted: '已删除',
      shown: '共 {total} 条，显示 {n} 条', noEntries: '没有匹配的条目。', openEntry: '打开条目 {id}',
      editTitle: '条目 {id}', newTitle: '新建条目', idLabel: 'ID（小写字母、数字和 -）',
      questionsLabel: '问题（每行一个，第一行是标准问题）', answerLabel: '答案',
      'locale_zh-Hans': '简体中文', 'locale_zh-Hant': '繁體中文', locale_en: '英文',
      tagsLabel: '标签（用逗号分隔）', imageLabel: '图片（https 链接，可不填）', buttonsLabel: '按钮（保存时保持不变）',
      meta: '版本 {v} · {source}', metaNew: '尚未保存',
      history: '历史版本', hideHistory: '收起历史版本', noHistory: '没有历史版本。',
      saved: '已保存为版本 {v}，客户现在就会看到。', unchanged: '没有改动，未保存新版本。', created: '已创建条目 {id}（版本 {v}）。',
      deleted: '已删除条目 {id}。', restored: '已把版本 {from} 恢复为版本 {v}。',
      conflict: '你打开之后，别人修改了这个条目（现在是版本 {v}），所以没有保存。你的内容仍在这里；可以先复制，再载入最新版本。',
      loadLatest: '载入最新版本', problems: '没有保存，请先修正：', warnings: '已保存，但请注意：',
      confirmTitle: '删除条目', confirmDelete: '删除条目 {id}？机器人会立即停止用它回答；之后可以从历史版本恢复。',
      deletedNote: '这个条目已删除。要恢复，请在下面的历史版本中选择一个版本。',
      restore: '恢复', restoreVersion: '恢复版本 {v}', current: '当前',
      action_create: '创建', action_update: '修改', action_delete: '删除', action_restore: '恢复', action_file: '文件原版',
      tryHeading: '试问一个问题', tryLabel: '客户的问题', tryLocale: '语言', tryAuto: '自动识别', tryButton: '试一试',
      outcome_answer: '回答：机器人会用 {id} 回复。', outcome_clarify: '澄清：几个条目都接近，机器人会问客户指的是哪一个（{ids}）。',
      outcome_reject: '无法回答：没有足够接近的条目；机器人会致歉，并把问题记入未解答列表。',
      thresholds: '得分 ≥ {min} 且领先第二名 {margin} 时回答；≥ {clarify} 时作为选项。', marginOff: '（不要求领先）',
      colScore: '得分', colMatched: '匹配到的问题', noMatches: '没有相关条目。',
      unansweredHeading: '未解答的问题', colAsked: '次数', colNearest: '最接近的条目', colActions: '操作',
      addTo: '加入条目…', newFrom: '用它新建条目', addPick: '把“{q}”加入的条目', add: '加入',
      added: '已把“{q}”加入 {id}，客户现在问就能得到回答。', already: '{id} 已经有这个问题。', noUnanswered: '没有未解答的问题。',
    },
    en: {
      heading: 'Knowledge base', searchLabel: 'Search entries', searchHint: 'Words of a question or answer, or an id', newEntry: 'New entry',
      colId: 'Entry', colQuestion: 'Standard question', colCounts: 'Questions', colSource: 'Source', colVersion: 'Version',
      source_file: 'file', source_edited: 'edited', source_new: 'new', source_deleted: 'deleted',
      shown: '{n} of {total} entries', noEntries: 'No entry matches.', openEntry: 'Open entry {id}',
      editTitle: 'Entry {id}', newTitle: 'New entry', idLabel: 'Id (lower-case letters, digits and -)',
      questionsLabel: 'Questions (one per line; the first is the standard question)', answerLabel: 'Answer',
      'locale_zh-Hans': 'Simplified Chinese', 'locale_zh-Hant': 'Traditional Chinese', locale_en: 'English',
      tagsLabel: 'Tags (separated by commas)', imageLabel: 'Image (https URL, optional)', buttonsLabel: 'Buttons (kept as they are when saving)',
      meta: 'Version {v} · {source}', metaNew: 'Not saved yet',
      history: 'History', hideHistory: 'Hide history', noHistory: 'No history.',
      saved: 'Saved as version {v}; customers get it now.', unchanged: 'Nothing changed; no new version saved.', created: 'Created entry {id} (version {v}).',
      deleted: 'Deleted entry {id}.', restored: 'Restored version {from} as version {v}.',
      conflict: 'Someone else changed this entry after you opened it (it is now version {v}), so nothing was saved. Your text is still here: copy what you need, then load the latest version.',
      loadLatest: 'Load the latest version', problems: 'Not saved. Please fix:', warnings: 'Saved, but check:',
      confirmTitle: 'Delete entry', confirmDelete: 'Delete entry {id}? The bot stops answering with it at once; you can restore it from its history.',
      deletedNote: 'This entry is deleted. To bring it back, restore a version from its history below.',
      restore: 'Restore', restoreVersion: 'Restore version {v}', current: 'current',
      action_create: 'created', action_update: 'edited', action_delete: 'deleted', action_restore: 'restored', action_file: 'as in the files',
      tryHeading: 'Try a question', tryLabel: 'A customer asks', tryLocale: 'Language', tryAuto: 'Detect', tryButton: 'Try',
      outcome_answer: 'Answer: the bot replies with {id}.', outcome_clarify: 'Clarify: several entries are close, so the bot asks which one is meant ({ids}).',
      outcome_reject: 'No answer: nothing is close enough; the bot apologises and lists the question as unanswered.',
      thresholds: 'Answers from a score of {min} with a lead of {margin} over the next entry; offers entries as choices from {clarify}.', marginOff: '(no lead needed)',
      colScore: 'Score', colMatched: 'Matched question', noMatches: 'No entry is related.',
      unansweredHeading: 'Unanswered questions', colAsked: 'Asked', colNearest: 'Nearest entry', colActions: 'Actions',
      addTo: 'Add to entry…', newFrom: 'New entry from it', addPick: 'Entry to add “{q}” to', add: 'Add',
      added: 'Added “{q}” to {id}; customers asking it get that answer now.', already: '{id} already has this question.', noUnanswered: 'No unanswered questions.',
    },
  };

  // t looks a string up and fills {name} placeholders.
  function t(key, vars) {
    let s = M.t(key, OWN);
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  const enc = encodeURIComponent;

  let query;
  let listBox;
  let all = []; // every entry's summary, for the entry picker
  let ed = {}; // the editor's elements
  let cur = null; // the open entry: {id, version, source, entry, isNew}
  let dirty = false;
  let busy = false;
  let tryText;
  let tryLocale;
  let tryResult;
  let unBox;
  let unRefresh;

  // send makes a write and returns {status, data}: unlike api, the caller
  // needs the bodies of 409 (the current version) and 422 (the problems).
  async function send(method, path, body) {
    const me = M.me();
    const headers = { Accept: 'application/json' };
    if (me && me.csrf) headers['X-CSRF-Token'] = me.csrf;
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    init.signal = ctrl.signal;
    let res;
    try {
      res = await fetch('/api/v1' + path, init);
    } catch {
      throw new M.ApiError(0, M.t('offline'));
    } finally {
      clearTimeout(timer);
    }
    let data = {};
    try {
      data = (await res.json()) || {};
    } catch {
      data = {};
    }
    if (res.status === 401) {
      // The session ended: the shell's own request shows the login.
      api('/auth/me').catch(() => {});
    }
    if (res.status >= 400 && res.status !== 409 && res.status !== 422) {
      throw new M.ApiError(res.status, data.error || `HTTP ${res.status}`);
    }
    return { status: res.status, data };
  }

  // standard is the first question in the manager's language, else any.
  function standard(byLocale) {
    const q = byLocale || {};
    return q[M.contentLocale] || q['zh-Hans'] || q['zh-Hant'] || q.en || '–';
  }

  function counts(c) {
    return LOCALES.filter((l) => c && c[l]).map((l) => `${l} ${c[l]}`).join(' · ') || '–';
  }

  function badge(source) {
    return el('span', `kb-badge kb-${source}`, t('source_' + source));
  }

  // ---------- the list ----------

  // loadList shows the entries matching the search box; said tells the
  // count out loud (after a search, not after a save, whose own message
  // it would cut off).
  async function loadList(said) {
    let out;
    try {
      out = await api(`/kb/entries?limit=200&q=${enc(query.value.trim())}`);
    } catch (err) {
      fail(err);
      return;
    }
    const es = out.entries || [];
    if (said) announce(es.length ? t('shown', { n: es.length, total: out.total }) : t('noEntries'));
    if (!es.length) {
      listBox.replaceChildren(el('p', 'mgr-muted', t('noEntries')));
      return;
    }
    listBox.replaceChildren(
      el('p', 'mgr-muted', t('shown', { n: es.length, total: out.total })),
      el('div', 'kb-scroll', el('table', 'mgr-table kb-table',
        el('thead', '', el('tr', '',
          el('th', { scope: 'col', text: t('colId') }), el('th', { scope: 'col', text: t('colQuestion') }),
          el('th', { scope: 'col', class: 'kb-counts', text: t('colCounts') }), el('th', { scope: 'col', text: t('colSource') }),
          el('th', { scope: 'col', class: 'kb-num kb-narrow-hide', text: t('colVersion') }))),
        el('tbody', '', es.map((s) => el('tr', { 'data-entry': s.id, class: s.source === 'deleted' ? 'kb-row-deleted' : '' },
          el('td', 'kb-text', el('button', { type: 'button', class: 'link-button kb-open', text: s.id, 'aria-label': t('openEntry', { id: s.id }), onclick: () => openEntry(s.id) })),
          el('td', 'kb-q kb-text', standard(s.questions)),
          el('td', 'mgr-muted kb-counts', counts(s.counts)),
          el('td', '', badge(s.source)),
          el('td', 'kb-num kb-narrow-hide', String(s.version))))))));
  }

  // loadAll fills the entry picker's list.
  async function loadAll() {
    try {
      const out = await api('/kb/entries?limit=1000');
      all = (out.entries || []).filter((s) => s.source !== 'deleted');
    } catch (err) {
      fail(err);
    }
  }

  // ---------- the editor ----------

  function buildEditor() {
    ed.title = el('h3', { id: 'kb-editor-title', tabindex: '-1' });
    ed.meta = el('p', { class: 'mgr-muted', id: 'kb-meta' });
    ed.id = el('input', { type: 'text', id: 'kb-id', maxlength: 64, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
    ed.fields = {};
    const locales = el('div', 'kb-locales');
    for (const l of LOCALES) {
      const q = el('textarea', { id: `kb-q-${l}`, rows: 5, lang: l });
      const a = el('textarea', { id: `kb-a-${l}`, rows: 4, lang: l });
      ed.fields[l] = { q, a };
      locales.append(el('fieldset', 'kb-locale',
        el('legend', '', `${t('locale_' + l)} (${l})`),
        el('label', { for: q.id, text: t('questionsLabel') }), q,
        el('label', { for: a.id, text: t('answerLabel') }), a));
    }
    ed.tags = el('input', { type: 'text', id: 'kb-tags', maxlength: 300, autocomplete: 'off' });
    ed.image = el('input', { type: 'url', id: 'kb-image', maxlength: 500, autocomplete: 'off', placeholder: 'https://' });
    ed.buttons = el('div', { class: 'kb-field', id: 'kb-buttons', hidden: true });
    ed.problems = el('div', { class: 'kb-problems', id: 'kb-problems', role: 'alert', tabindex: '-1' });
    ed.warnings = el('div', { class: 'kb-warnings', id: 'kb-warnings' });
    ed.status = el('p', { class: 'kb-status', id: 'kb-status', role: 'status', tabindex: '-1' });
    ed.save = el('button', { type: 'submit', class: 'btn btn-primary', id: 'kb-save', text: M.t('save') });
    ed.del = el('button', { type: 'button', class: 'btn kb-danger', id: 'kb-delete', text: M.t('delete'), onclick: confirmDelete });
    ed.histBtn = el('button', { type: 'button', class: 'btn', id: 'kb-history-toggle', 'aria-expanded': 'false', 'aria-controls': 'kb-history', text: t('history'), onclick: toggleHistory });
    ed.close = el('button', { type: 'button', class: 'btn btn-ghost', id: 'kb-close', text: M.t('close'), onclick: closeEditor });
    ed.history = el('div', { id: 'kb-history', hidden: true });
    ed.form = el('form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); save(); }, oninput: () => { dirty = true; } },
      el('div', 'kb-field', el('label', { for: 'kb-id', text: t('idLabel') }), ed.id),
      locales,
      el('div', 'kb-field', el('label', { for: 'kb-tags', text: t('tagsLabel') }), ed.tags),
      el('div', 'kb-field', el('label', { for: 'kb-image', text: t('imageLabel') }), ed.image),
      ed.buttons,
      ed.problems, ed.warnings,
      el('div', 'kb-actions', ed.save, ed.histBtn, ed.del, ed.close),
      ed.status);
    ed.root = el('section', { class: 'mgr-card kb-editor', id: 'kb-editor', hidden: true, 'aria-labelledby': 'kb-editor-title' },
      ed.title, ed.meta, ed.form, ed.history);

    ed.confirmText = el('p', { id: 'kb-confirm-text' });
    ed.confirmYes = el('button', { type: 'button', class: 'btn kb-danger', id: 'kb-confirm-delete', text: M.t('delete') });
    ed.confirm = el('dialog', { class: 'dialog', id: 'kb-confirm', 'aria-labelledby': 'kb-confirm-title', 'aria-describedby': 'kb-confirm-text' },
      el('h2', { class: 'dialog-title', id: 'kb-confirm-title', text: t('confirmTitle') }),
      ed.confirmText,
      el('div', 'dialog-actions',
        el('button', { type: 'button', class: 'btn', id: 'kb-confirm-cancel', text: M.t('cancel'), onclick: () => ed.confirm.close() }),
        ed.confirmYes));
    ed.confirmYes.addEventListener('click', () => {
      ed.confirm.close();
      remove();
    });
    return ed.root;
  }

  function clearMessages() {
    ed.problems.replaceChildren();
    ed.warnings.replaceChildren();
    ed.status.textContent = '';
  }

  // fill shows entry e in the fields.
  function fill(e) {
    ed.id.value = e.id || '';
    for (const l of LOCALES) {
      ed.fields[l].q.value = ((e.questions || {})[l] || []).join('\n');
      ed.fields[l].a.value = (e.answer || {})[l] || '';
    }
    ed.tags.value = (e.tags || []).join(', ');
    ed.image.value = e.image || '';
    const bs = e.buttons || [];
    ed.buttons.hidden = !bs.length;
    ed.buttons.replaceChildren(el('p', 'kb-label', t('buttonsLabel')),
      el('ul', 'kb-button-list', bs.map((b) => el('li', 'kb-text', `${standard(b.label)} → ${b.url || b.payload}`))));
    dirty = false;
  }

  // read is the entry as the fields say.
  function read() {
    const e = { id: ed.id.value.trim(), questions: {}, answer: {} };
    for (const l of LOCALES) {
      const qs = ed.fields[l].q.value.split('\n').map((s) => s.trim()).filter(Boolean);
      if (qs.length) e.questions[l] = qs;
      const a = ed.fields[l].a.value.trim();
      if (a) e.answer[l] = a;
    }
    const tags = ed.tags.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean);
    if (tags.length) e.tags = tags;
    const image = ed.image.value.trim();
    if (image) e.image = image;
    if (cur && cur.entry && cur.entry.buttons && cur.entry.buttons.length) e.buttons = cur.entry.buttons;
    return e;
  }

  function showEntry(data, isNew) {
    cur = { id: data.entry.id, version: data.version, source: data.source, entry: data.entry, isNew };
    fill(data.entry);
    const deleted = data.source === 'deleted';
    ed.title.textContent = isNew ? t('newTitle') : t('editTitle', { id: data.entry.id });
    ed.meta.textContent = isNew ? t('metaNew') : deleted ? t('deletedNote') : t('meta', { v: data.version, source: t('source_' + data.source) });
    ed.id.readOnly = !isNew;
    ed.save.disabled = deleted;
    ed.del.disabled = isNew || deleted;
    ed.histBtn.disabled = isNew;
    // The version and source as data, for scripts and tests that must not
    // depend on the interface language.
    ed.root.dataset.entry = isNew ? '' : data.entry.id;
    ed.root.dataset.version = String(data.version);
    ed.root.dataset.source = data.source;
    ed.root.hidden = false;
  }

  async function openEntry(id, keepMessages) {
    let data;
    try {
      data = await api(`/kb/entries/${enc(id)}`);
    } catch (err) {
      fail(err);
      return;
    }
    if (!keepMessages) clearMessages();
    showEntry(data, false);
    if (data.source === 'deleted' || !ed.history.hidden) {
      await showHistory(true);
    }
    ed.title.focus();
  }

  // newEntry opens an empty editor; prefill may carry a first question.
  function newEntry(prefill) {
    clearMessages();
    const e = { id: '', questions: {}, answer: {} };
    if (prefill) e.questions[prefill.locale] = [prefill.text];
    showEntry({ entry: e, version: 0, source: 'new' }, true);
    showHistory(false);
    ed.id.focus();
  }

  function closeEditor() {
    ed.root.hidden = true;
    cur = null;
    query.focus();
  }

  function problemList(head, list) {
    return [el('p', 'kb-label', head), el('ul', '', list.map((p) => el('li', 'kb-text', p.entry ? `${p.entry}: ${p.message}` : p.message)))];
  }

  // handle deals with a write's answer; on success it returns true.
  function handle(res, okText) {
    clearMessages();
    if (res.status === 409) {
      ed.problems.replaceChildren(el('p', '', t('conflict', { v: res.data.version })),
        el('button', { type: 'button', class: 'btn', id: 'kb-load-latest', text: t('loadLatest'), onclick: () => openEntry(cur.id) }));
      announce(t('conflict', { v: res.data.version }));
      ed.problems.focus();
      return false;
    }
    if (res.status === 422) {
      ed.problems.replaceChildren(...problemList(t('problems'), res.data.problems || [{ message: res.data.error }]));
      announce(t('problems') + ' ' + (res.data.problems || []).map((p) => p.message).join('; '));
      ed.problems.focus();
      return false;
    }
    const warnings = res.data.warnings || [];
    if (warnings.length) ed.warnings.replaceChildren(...problemList(t('warnings'), warnings));
    ed.status.textContent = okText;
    announce(okText + (warnings.length ? ' ' + t('warnings') : ''));
    return true;
  }

  async function save() {
    if (busy || !cur) return;
    busy = true;
    ed.save.disabled = true;
    const entry = read();
    try {
      const res = cur.isNew
        ? await send('POST', '/kb/entries', { entry })
        : await send('PUT', `/kb/entries/${enc(cur.id)}`, { entry, version: cur.version });
      const d = res.data;
      const text = cur.isNew ? t('created', { id: d.entry && d.entry.id, v: d.version }) : d.unchanged ? t('unchanged') : t('saved', { v: d.version });
      if (handle(res, text)) {
        showEntry(d, false);
        if (!ed.history.hidden) await showHistory(true);
        ed.status.focus();
        loadList();
        loadAll();
      }
    } catch (err) {
      fail(err);
    } finally {
      busy = false;
      ed.save.disabled = !cur || cur.source === 'deleted';
    }
  }

  function confirmDelete() {
    if (!cur || cur.isNew) return;
    ed.confirmText.textContent = t('confirmDelete', { id: cur.id });
    ed.confirm.showModal();
    document.getElementById('kb-confirm-cancel').focus();
  }

  async function remove() {
    if (busy || !cur) return;
    busy = true;
    const id = cur.id;
    try {
      const res = await send('DELETE', `/kb/entries/${enc(id)}?version=${cur.version}`);
      if (handle(res, t('deleted', { id }))) {
        ed.root.hidden = true;
        cur = null;
        announce(t('deleted', { id }));
        await loadList();
        loadAll();
        query.focus();
      }
    } catch (err) {
      fail(err);
    } finally {
      busy = false;
    }
  }

  async function toggleHistory() {
    await showHistory(ed.history.hidden);
    if (!ed.history.hidden) {
      const first = ed.history.querySelector('button');
      if (first) first.focus();
    }
  }

  async function showHistory(open) {
    ed.history.hidden = !open;
    ed.histBtn.setAttribute('aria-expanded', String(open));
    ed.histBtn.textContent = open ? t('hideHistory') : t('history');
    if (!open || !cur || cur.isNew) return;
    let out;
    try {
      out = await api(`/kb/entries/${enc(cur.id)}/history`);
    } catch (err) {
      fail(err);
      return;
    }
    const vs = out.versions || [];
    if (!vs.length) {
      ed.history.replaceChildren(el('p', 'mgr-muted', t('noHistory')));
      return;
    }
    ed.history.replaceChildren(el('h4', { class: 'kb-label', text: t('history') }),
      el('ol', 'kb-history', vs.map((v) => {
        const isCurrent = v.version === cur.version && cur.source !== 'deleted';
        return el('li', { 'data-version': v.version },
          el('strong', '', `v${v.version}`),
          el('span', '', t('action_' + v.action) + (isCurrent ? ` (${t('current')})` : '')),
          el('span', 'mgr-muted', [v.by, v.at && v.action !== 'file' ? fmt.date(v.at) : ''].filter(Boolean).join(' · ')),
          v.action === 'file' ? null : el('span', 'kb-summary mgr-muted kb-text', v.summary || ''),
          v.action === 'delete' || isCurrent ? null
            : el('button', { type: 'button', class: 'btn kb-small', text: t('restore'), 'aria-label': t('restoreVersion', { v: v.version }), onclick: () => restore(v.version) }));
      })));
  }

  async function restore(version) {
    if (busy || !cur) return;
    busy = true;
    try {
      const res = await send('POST', `/kb/entries/${enc(cur.id)}/restore`, { version, current: cur.version });
      const d = res.data;
      if (handle(res, d.unchanged ? t('unchanged') : t('restored', { from: version, v: d.version }))) {
        showEntry(d, false);
        await showHistory(true);
        ed.status.focus();
        loadList();
        loadAll();
      }
    } catch (err) {
      fail(err);
    } finally {
      busy = false;
    }
  }

  // ---------- try a question ----------

  function buildTry() {
    tryText = el('input', { type: 'text', id: 'kb-try-text', maxlength: 1000, autocomplete: 'off' });
    tryLocale = el('select', { id: 'kb-try-locale' },
      el('option', { value: '', text: t('tryAuto') }),
      LOCALES.map((l) => el('option', { value: l, text: t('locale_' + l) })));
    tryResult = el('div', { id: 'kb-try-result' });
    return el('section', { class: 'mgr-card', 'aria-labelledby': 'kb-try-heading' },
      el('h3', { id: 'kb-try-heading', text: t('tryHeading') }),
      el('form', { class: 'mgr-toolbar kb-try', onsubmit: (e) => { e.preventDefault(); tryQuestion(); } },
        el('label', { class: 'kb-grow' }, t('tryLabel'), tryText),
        el('label', '', t('tryLocale'), tryLocale),
        el('button', { type: 'submit', class: 'btn btn-primary', id: 'kb-try-submit', text: t('tryButton') })),
      tryResult);
  }

  const score = (n) => (typeof n === 'number' ? n.toFixed(2) : '–');

  async function tryQuestion() {
    const text = tryText.value.trim();
    if (!text) {
      tryText.focus();
      return;
    }
    let out;
    try {
      out = await send('POST', '/kb/try', { text, locale: tryLocale.value });
    } catch (err) {
      fail(err);
      return;
    }
    const d = out.data;
    const th = d.thresholds || {};
    const outcome = d.outcome === 'answer'
      ? t('outcome_answer', { id: d.answer.id })
      : d.outcome === 'clarify' ? t('outcome_clarify', { ids: (d.choices || []).join(', ') }) : t('outcome_reject');
    const ms = d.matches || [];
    tryResult.replaceChildren(
      el('p', { class: `kb-outcome kb-outcome-${d.outcome}`, 'data-outcome': d.outcome, text: outcome }),
      d.answer ? el('blockquote', { class: 'kb-answer kb-text', lang: d.locale, text: d.answer.text }) : null,
      ms.length ? el('div', 'kb-scroll', el('table', 'mgr-table',
        el('thead', '', el('tr', '', el('th', { scope: 'col', text: t('colId') }), el('th', { scope: 'col', class: 'kb-num', text: t('colScore') }), el('th', { scope: 'col', text: t('colMatched') }))),
        el('tbody', '', ms.map((m) => el('tr', { 'data-entry': m.id },
          el('td', 'kb-text', el('button', { type: 'button', class: 'link-button', text: m.id, 'aria-label': t('openEntry', { id: m.id }), onclick: () => openEntry(m.id) })),
          el('td', 'kb-num', score(m.score)),
          el('td', 'kb-text', m.question || m.standard || '–'))))))
        : el('p', 'mgr-muted', t('noMatches')),
      el('p', 'mgr-muted', t('thresholds', { min: score(th.min_score), clarify: score(th.clarify_score), margin: th.margin ? score(th.margin) : t('marginOff') })));
    announce(outcome);
  }

  // ---------- unanswered questions ----------

  function buildUnanswered() {
    unBox = el('div', { id: 'kb-unanswered' });
    unRefresh = el('button', { type: 'button', class: 'btn', id: 'kb-unanswered-refresh', text: M.t('refresh'), onclick: loadUnanswered });
    return el('section', { class: 'mgr-card', 'aria-labelledby': 'kb-unanswered-heading' },
      el('div', 'kb-head', el('h3', { id: 'kb-unanswered-heading', text: t('unansweredHeading') }), unRefresh),
      unBox);
  }

  // mostAsked is the locale a question was asked in most.
  function mostAsked(locales) {
    let best = M.contentLocale;
    let n = 0;
    for (const [l, c] of Object.entries(locales || {})) {
      if (LOCALES.includes(l) && c > n) {
        best = l;
        n = c;
      }
    }
    return best;
  }

  async function loadUnanswered() {
    let out;
    try {
      out = await api('/kb/unanswered?limit=20');
    } catch (err) {
      fail(err);
      return;
    }
    const us = out.unanswered || [];
    if (!us.length) {
      unBox.replaceChildren(el('p', 'mgr-muted', t('noUnanswered')));
      return;
    }
    unBox.replaceChildren(el('div', 'kb-scroll', el('table', 'mgr-table kb-unanswered-table',
      el('thead', '', el('tr', '',
        el('th', { scope: 'col', text: t('tryLabel') }), el('th', { scope: 'col', class: 'kb-num', text: t('colAsked') }),
        el('th', { scope: 'col', class: 'kb-narrow-hide', text: t('colNearest') }), el('th', { scope: 'col', text: t('colActions') }))),
      el('tbody', '', us.map(unansweredRow)))));
  }

  function unansweredRow(u) {
    const text = (u.examples && u.examples.length ? u.examples[u.examples.length - 1] : u.query) || u.query;
    const near = (u.nearest || [])[0];
    const addBtn = el('button', { type: 'button', class: 'btn kb-small kb-add', 'aria-expanded': 'false', text: t('addTo') });
    const newBtn = el('button', { type: 'button', class: 'btn kb-small kb-new-from', text: t('newFrom'), onclick: () => newEntry({ text, locale: mostAsked(u.locales) }) });
    const row = el('tr', { 'data-query': u.query },
      el('td', 'kb-text', text),
      el('td', 'kb-num', fmt.num(u.count)),
      el('td', 'mgr-muted kb-narrow-hide kb-text', near ? `${near.id} (${score(near.score)})` : '–'),
      el('td', '', el('div', 'kb-row-actions', addBtn, newBtn)));
    addBtn.addEventListener('click', () => togglePicker(row, addBtn, u, text, near));
    return row;
  }

  async function togglePicker(row, btn, u, text, near) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains('kb-pick-row')) {
      next.remove();
      btn.setAttribute('aria-expanded', 'false');
      btn.focus();
      return;
    }
    if (!all.length) await loadAll();
    const id = 'kb-pick-' + Math.random().toString(36).slice(2, 9);
    const select = el('select', { id, class: 'kb-pick-entry' },
      all.map((s) => el('option', { value: s.id, text: `${s.id} — ${standard(s.questions)}`, selected: near && s.id === near.id })));
    const cancel = el('button', { type: 'button', class: 'btn btn-ghost', text: M.t('cancel') });
    const form = el('form', {
      class: 'kb-pick',
      onsubmit: (e) => { e.preventDefault(); addTo(select.value, text, mostAsked(u.locales)); },
      onkeydown: (e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          togglePicker(row, btn, u, text, near);
        }
      },
    },
      el('label', { for: id, text: t('addPick', { q: text }) }), select,
      el('button', { type: 'submit', class: 'btn btn-primary kb-pick-add', text: t('add') }), cancel);
    const pick = el('tr', 'kb-pick-row', el('td', { colspan: 4 }, form));
    cancel.addEventListener('click', () => togglePicker(row, btn, u, text, near));
    row.after(pick);
    btn.setAttribute('aria-expanded', 'true');
    select.focus();
  }

  async function addTo(entry, text, locale) {
    let res;
    try {
      res = await send('POST', '/kb/unanswered/add', { text, entry, locale });
    } catch (err) {
      fail(err);
      return;
    }
    const msg = res.data.added ? t('added', { q: text, id: entry }) : t('already', { id: entry });
    announce(msg);
    await loadUnanswered();
    unBox.prepend(el('p', { class: 'mgr-ok kb-added', role: 'status', text: msg }));
    unRefresh.focus();
    // The question changed that entry's version: an open, untouched
    // editor of it shows the new one, so a save is not refused.
    if (cur && !cur.isNew && cur.id === entry && !dirty) openEntry(entry, true);
    loadList();
  }

  // ---------- the section ----------

  function mount(root) {
    query = el('input', { type: 'search', id: 'kb-query', maxlength: 100, placeholder: t('searchHint'), autocomplete: 'off' });
    listBox = el('div', { id: 'kb-list' });
    root.append(
      el('h2', '', t('heading')),
      el('section', { class: 'mgr-card', 'aria-label': t('searchLabel') },
        el('form', { class: 'mgr-toolbar kb-search', role: 'search', onsubmit: (e) => { e.preventDefault(); loadList(true); } },
          el('label', { class: 'kb-grow' }, t('searchLabel'), query),
          el('button', { type: 'submit', class: 'btn btn-primary', id: 'kb-search', text: M.t('search') }),
          el('button', { type: 'button', class: 'btn', id: 'kb-new', text: t('newEntry'), onclick: () => newEntry() })),
        listBox),
      buildEditor(),
      buildTry(),
      buildUnanswered(),
      ed.confirm);
  }

  function show() {
    loadList();
    loadUnanswered();
    loadAll();
  }

  M.register({ id: 'kb', title: { zh: '知识库', en: 'Knowledge base' }, mount, show });
})();
