// carebot manager console: announcements to member groups (Telegram, LINE)
// and messages to member segments, with the recipients and a preview per
// locale before sending, a time to send, and the delivery results after.
'use strict';

(() => {
  const M = window.carebotManager;
  const { el, api, fail, fmt, announce } = M;

  const OWN = {
    zh: {
      heading: '群发', toGroups: '发到群', toSegment: '发给会员分群', channel: '渠道', groups: '群 ID（每行一个）', text: '内容',
      sendAt: '发送时间（留空为立即）', send: '发送', preview: '预览', sent: '已排队：{n} 条', history: '发送记录',
      tiers: '等级', stages: '生命周期', channels: '渠道', tags: '标签（逗号分隔）', textHans: '简体', textHant: '繁体', textEn: '英文',
      matched: '符合条件', recipients: '将收到', skipped: '不发送', byLocale: '按语言', when: '时间', kind: '类型', by: '发送人',
      queued: '排队', pending: '待发', delivered: '已送达', dead: '失败', kind_groups: '群', kind_segment: '分群', none: '还没有发送记录。',
      'no consent': '未同意接收', 'already sent': '已发过', 'frequency cap': '频次上限', 'no chat on a running channel': '无可用渠道',
      confirm: '确认发送给 {n} 位会员？', rulesNote: '分群消息遵守会员同意、免打扰时段（21:00–09:00 会员本地时间）和每周频次上限。',
      stage_new: '新会员', stage_growing: '成长', stage_core: '核心', 'stage_at-risk': '流失风险', stage_dormant: '沉睡',
    },
    en: {
      heading: 'Broadcasts', toGroups: 'To groups', toSegment: 'To a member segment', channel: 'Channel', groups: 'Group ids (one per line)', text: 'Text',
      sendAt: 'Send at (empty: now)', send: 'Send', preview: 'Preview', sent: 'Queued: {n} messages', history: 'Sent',
      tiers: 'Tiers', stages: 'Lifecycle stages', channels: 'Channels', tags: 'Tags (comma separated)', textHans: 'Simplified', textHant: 'Traditional', textEn: 'English',
      matched: 'Match', recipients: 'Will receive', skipped: 'Passed over', byLocale: 'By language', when: 'When', kind: 'Kind', by: 'By',
      queued: 'Queued', pending: 'Pending', delivered: 'Delivered', dead: 'Failed', kind_groups: 'groups', kind_segment: 'segment', none: 'Nothing sent yet.',
      'no consent': 'no consent', 'already sent': 'already sent', 'frequency cap': 'frequency cap', 'no chat on a running channel': 'no chat',
      confirm: 'Send to {n} members?', rulesNote: 'Segment messages respect consent, quiet hours (21:00–09:00 in the member\'s zone) and the weekly cap.',
      stage_new: 'new', stage_growing: 'growing', stage_core: 'core', 'stage_at-risk': 'at risk', stage_dormant: 'dormant',
    },
  };
  const t = (k) => M.t(k, OWN);
  const TIERS = ['regular', 'silver', 'gold', 'diamond'];
  const STAGES = ['new', 'growing', 'core', 'at-risk', 'dormant'];
  const CHANNELS = ['telegram', 'line', 'wechat', 'wecom', 'webchat'];

  let root;
  let historyBox;
  let previewBox;

  // sendAtValue turns a datetime-local input into RFC 3339 with the
  // browser's offset, or '' for now.
  function sendAtValue(input) {
    if (!input.value) return '';
    const d = new Date(input.value);
    if (Number.isNaN(d.getTime())) return '';
    const off = -d.getTimezoneOffset();
    const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
    return `${input.value.length === 16 ? input.value + ':00' : input.value}${off >= 0 ? '+' : '-'}${p(off / 60)}:${p(off % 60)}`;
  }

  function checks(name, values, label) {
    return el('fieldset', 'mgr-card', el('legend', '', label), values.map((v) =>
      el('label', { class: 'mgr-check' }, el('input', { type: 'checkbox', name, value: v }), ' ', name === 'stage' ? t('stage_' + v) : v)));
  }

  function checked(form, name) {
    return Array.from(form.querySelectorAll(`input[name="${name}"]:checked`)).map((i) => i.value);
  }

  function groupForm() {
    const f = el('form', { class: 'mgr-card', id: 'bc-groups', novalidate: true },
      el('h3', '', t('toGroups')),
      el('div', 'mgr-toolbar',
        el('label', { for: 'bc-channel' }, t('channel'), el('select', { id: 'bc-channel' }, ['telegram', 'line'].map((c) => el('option', { value: c, text: c })))),
        el('label', { for: 'bc-at' }, t('sendAt'), el('input', { type: 'datetime-local', id: 'bc-at' }))),
      el('label', { for: 'bc-ids' }, t('groups')), el('textarea', { id: 'bc-ids', rows: 3, required: true }),
      el('label', { for: 'bc-text' }, t('text')), el('textarea', { id: 'bc-text', rows: 4, required: true, maxlength: 4000 }),
      el('div', 'mgr-toolbar', el('button', { type: 'submit', class: 'btn btn-primary', id: 'bc-send', text: t('send') })));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = {
        channel: f.querySelector('#bc-channel').value,
        groups: f.querySelector('#bc-ids').value.split(/\s+/).filter(Boolean),
        text: f.querySelector('#bc-text').value.trim(),
        send_at: sendAtValue(f.querySelector('#bc-at')),
      };
      try {
        const out = await api('/broadcasts', { method: 'POST', body });
        announce(t('sent').replace('{n}', out.queued));
        M.banner('');
        f.reset();
        loadHistory();
      } catch (err) {
        fail(err);
      }
    });
    return f;
  }

  function segmentBody(f) {
    const text = {};
    for (const [id, loc] of [['sg-hans', 'zh-Hans'], ['sg-hant', 'zh-Hant'], ['sg-en', 'en']]) {
      const v = f.querySelector('#' + id).value.trim();
      if (v) text[loc] = v;
    }
    return {
      segment: {
        tiers: checked(f, 'tier'), stages: checked(f, 'stage'), channels: checked(f, 'channel'),
        tags: f.querySelector('#sg-tags').value.split(/[,，\s]+/).filter(Boolean),
      },
      text,
      send_at: sendAtValue(f.querySelector('#sg-at')),
    };
  }

  function segmentForm() {
    previewBox = el('div', { id: 'sg-preview', 'aria-live': 'polite' });
    const f = el('form', { class: 'mgr-card', id: 'bc-segment', novalidate: true },
      el('h3', '', t('toSegment')),
      el('p', 'mgr-muted', t('rulesNote')),
      el('div', 'mgr-grid', checks('tier', TIERS, t('tiers')), checks('stage', STAGES, t('stages')), checks('channel', CHANNELS, t('channels'))),
      el('div', 'mgr-toolbar',
        el('label', { for: 'sg-tags' }, t('tags'), el('input', { id: 'sg-tags' })),
        el('label', { for: 'sg-at' }, t('sendAt'), el('input', { type: 'datetime-local', id: 'sg-at' }))),
      el('label', { for: 'sg-hans' }, `${t('text')} · ${t('textHans')}`), el('textarea', { id: 'sg-hans', rows: 3, maxlength: 2000 }),
      el('label', { for: 'sg-hant' }, `${t('text')} · ${t('textHant')}`), el('textarea', { id: 'sg-hant', rows: 3, maxlength: 2000 }),
      el('label', { for: 'sg-en' }, `${t('text')} · ${t('textEn')}`), el('textarea', { id: 'sg-en', rows: 3, maxlength: 2000 }),
      el('div', 'mgr-toolbar',
        el('button', { type: 'button', class: 'btn', id: 'sg-preview-btn', text: t('preview'), onclick: () => preview(f) }),
        el('button', { type: 'submit', class: 'btn btn-primary', id: 'sg-send', text: t('send') })),
      previewBox);
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const p = await preview(f);
      if (!p) return;
      // The confirmation names the count the preview just measured.
      if (!window.confirm(t('confirm').replace('{n}', p.recipients))) return;
      try {
        const out = await api('/segments/send', { method: 'POST', body: segmentBody(f) });
        announce(t('sent').replace('{n}', out.queued));
        M.banner('');
        loadHistory();
      } catch (err) {
        fail(err);
      }
    });
    return f;
  }

  async function preview(f) {
    let p;
    try {
      p = await api('/segments/preview', { method: 'POST', body: segmentBody(f) });
    } catch (err) {
      fail(err);
      return null;
    }
    M.banner('');
    const skipped = Object.entries(p.skipped || {}).map(([k, n]) => `${t(k)} ${n}`).join(' · ') || '–';
    const locales = Object.entries(p.by_locale || {}).map(([k, n]) => `${k} ${n}`).join(' · ') || '–';
    previewBox.replaceChildren(
      el('dl', 'mgr-kpis',
        el('div', 'mgr-kpi', el('dt', '', t('matched')), el('dd', { id: 'sg-matched', text: fmt.num(p.matched) })),
        el('div', 'mgr-kpi', el('dt', '', t('recipients')), el('dd', { id: 'sg-recipients', text: fmt.num(p.recipients) }))),
      el('p', 'mgr-muted', `${t('skipped')}: ${skipped}`),
      el('p', 'mgr-muted', `${t('byLocale')}: ${locales}`),
      Object.entries(p.previews || {}).map(([loc, text]) => el('div', 'mgr-card', el('div', 'mgr-muted', loc), el('div', { class: 'mgr-preview', text }))));
    return p;
  }

  async function loadHistory() {
    let out;
    try {
      out = await api('/broadcasts');
    } catch (err) {
      fail(err);
      return;
    }
    const list = out.broadcasts || [];
    historyBox.replaceChildren(list.length ? el('table', { class: 'mgr-table', id: 'bc-history' },
      el('thead', '', el('tr', '', ['when', 'kind', 'by', 'queued', 'pending', 'delivered', 'dead'].map((k) => el('th', '', t(k))))),
      el('tbody', '', list.map((b) => el('tr', { 'data-id': b.id },
        el('td', '', fmt.date(b.send_at)), el('td', '', t('kind_' + b.kind) + (b.channel ? ` · ${b.channel}` : '')), el('td', '', b.by),
        el('td', '', fmt.num(b.queued)),
        el('td', '', fmt.num((b.progress || {}).pending)),
        el('td', 'mgr-ok', fmt.num((b.progress || {}).delivered)),
        el('td', (b.progress || {}).dead ? 'mgr-bad' : '', fmt.num((b.progress || {}).dead)))))) : el('p', 'mgr-muted', t('none')));
  }

  M.register({
    id: 'broadcasts',
    title: { zh: '群发', en: 'Broadcasts' },
    mount(r) {
      root = r;
      historyBox = el('div', { class: 'mgr-card', id: 'bc-history-box' });
      root.append(el('h2', '', t('heading')), groupForm(), segmentForm(), el('h3', '', t('history')), historyBox);
    },
    show() {
      loadHistory();
    },
  });
})();
