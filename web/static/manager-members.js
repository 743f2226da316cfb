// carebot manager console: member search and profile — channels, tier,
// points and ledger, coupons, and the tickets with their emotion archive.
'use strict';

(() => {
  const M = window.carebotManager;
  const { el, api, fail, fmt } = M;

  const OWN = {
    zh: {
      heading: '会员', query: '姓名、手机、会员号或渠道用户', found: '找到 {n} 位会员', nobody: '没有找到会员。',
      id: '会员号', name: '姓名', tier: '等级', points: '积分', stage: '阶段', channels: '渠道', joined: '入会', consent: '接收关怀消息',
      yes: '是', no: '否', coupons: '优惠券', ledger: '积分明细', tickets: '工单与情绪档案', noTickets: '没有工单。', noCoupons: '没有优惠券。',
      when: '时间', change: '变动', reason: '原因', right: '权益', code: '券码', expires: '到期', used: '已使用', status: '状态',
      trigger: '触发消息', cause: '原因', csat: '满意度', zone: '时区', birthday: '生日',
      stage_new: '新会员', stage_growing: '成长', stage_core: '核心', 'stage_at-risk': '流失风险', stage_dormant: '沉睡',
    },
    en: {
      heading: 'Members', query: 'Name, phone, member id or chat user', found: '{n} members found', nobody: 'No member found.',
      id: 'Member', name: 'Name', tier: 'Tier', points: 'Points', stage: 'Stage', channels: 'Channels', joined: 'Joined', consent: 'Care messages',
      yes: 'yes', no: 'no', coupons: 'Coupons', ledger: 'Ledger', tickets: 'Tickets and emotion archive', noTickets: 'No tickets.', noCoupons: 'No coupons.',
      when: 'When', change: 'Points', reason: 'Reason', right: 'Right', code: 'Code', expires: 'Expires', used: 'Used', status: 'Status',
      trigger: 'Trigger', cause: 'Cause', csat: 'CSAT', zone: 'Time zone', birthday: 'Birthday',
      stage_new: 'new', stage_growing: 'growing', stage_core: 'core', 'stage_at-risk': 'at risk', stage_dormant: 'dormant',
    },
  };
  const t = (k) => M.t(k, OWN);
  const TIER_CLASS = { mild: 'mgr-warn', moderate: 'mgr-bad', severe: 'mgr-bad' };

  let root;
  let list;
  let profile;
  let query;

  function mount(r) {
    root = r;
    query = el('input', { type: 'search', id: 'member-query', 'aria-label': t('query'), placeholder: t('query'), maxlength: 100 });
    list = el('div', { class: 'mgr-card', id: 'member-list' });
    profile = el('div', { id: 'member-profile' });
    root.append(
      el('h2', '', t('heading')),
      el('form', { class: 'mgr-toolbar', onsubmit: (e) => { e.preventDefault(); search(); } },
        query, el('button', { type: 'submit', class: 'btn btn-primary', text: M.t('search') })),
      list, profile);
  }

  async function search() {
    let out;
    try {
      out = await api(`/members?limit=50&q=${encodeURIComponent(query.value.trim())}`);
    } catch (err) {
      fail(err);
      return;
    }
    const ms = out.members || [];
    if (!ms.length) {
      list.replaceChildren(el('p', 'mgr-muted', t('nobody')));
      return;
    }
    list.replaceChildren(
      el('p', 'mgr-muted', t('found').replace('{n}', ms.length)),
      el('table', 'mgr-table', el('thead', '', el('tr', '', ['id', 'name', 'tier', 'points', 'channels'].map((k) => el('th', '', t(k))))),
        el('tbody', '', ms.map((m) => el('tr', '',
          el('td', '', el('button', { type: 'button', class: 'link-button', text: m.id, 'data-member': m.id, onclick: () => open(m.id) })),
          el('td', '', m.name || '–'), el('td', '', m.tier), el('td', '', fmt.num(m.points)),
          el('td', 'mgr-muted', (m.identities || []).map((i) => i.channel).join(', ') || '–'))))));
  }

  function field(label, value) {
    return el('div', 'mgr-kpi', el('dt', '', label), el('dd', '', value));
  }

  async function open(id) {
    let p;
    try {
      p = await api(`/members/${encodeURIComponent(id)}`);
    } catch (err) {
      fail(err);
      return;
    }
    const m = p.member;
    const tickets = p.tickets || [];
    profile.replaceChildren(el('div', { class: 'mgr-card', id: 'member-detail', 'data-member': m.id },
      el('h3', '', `${m.name || m.id} · ${m.id}`),
      el('dl', 'mgr-kpis',
        field(t('tier'), m.tier), field(t('points'), fmt.num(p.balance ? p.balance.points : m.points)),
        field(t('stage'), t('stage_' + p.stage)), field(t('consent'), m.consent ? t('yes') : t('no')),
        field(t('birthday'), m.birthday || '–'), field(t('zone'), m.zone || '–')),
      el('p', 'mgr-muted', `${t('channels')}: ${(m.identities || []).map((i) => `${i.channel}/${i.user}`).join(' · ') || '–'}`),
      el('h3', '', t('tickets')),
      tickets.length ? el('table', { class: 'mgr-table', id: 'member-tickets' },
        el('thead', '', el('tr', '', ['when', 'tier', 'trigger', 'cause', 'csat', 'status'].map((k) => el('th', '', t(k))))),
        el('tbody', '', tickets.map((tk) => el('tr', '',
          el('td', '', fmt.date(tk.created)),
          el('td', TIER_CLASS[tk.tier] || '', tk.tier),
          el('td', '', tk.trigger || '–', (tk.cues || []).length ? el('div', 'mgr-muted', tk.cues.map((c) => c.text || c.word || c.kind || '').filter(Boolean).join(' · ')) : null),
          el('td', '', tk.cause || '–'),
          el('td', '', tk.csat ? String(tk.csat) : '–'),
          el('td', '', tk.status))))) : el('p', 'mgr-muted', t('noTickets')),
      el('h3', '', t('coupons')),
      (p.coupons || []).length ? el('table', 'mgr-table',
        el('thead', '', el('tr', '', ['right', 'code', 'expires', 'used'].map((k) => el('th', '', t(k))))),
        el('tbody', '', p.coupons.map((c) => el('tr', '',
          el('td', '', c.right), el('td', '', c.code), el('td', '', fmt.date(c.expires)), el('td', '', c.used ? fmt.date(c.used) : '–'))))) : el('p', 'mgr-muted', t('noCoupons')),
      el('h3', '', t('ledger')),
      el('table', 'mgr-table',
        el('thead', '', el('tr', '', ['when', 'change', 'reason'].map((k) => el('th', '', t(k))))),
        el('tbody', '', (p.ledger || []).map((e) => el('tr', '',
          el('td', '', fmt.date(e.time)), el('td', e.points < 0 ? 'mgr-bad' : '', (e.points > 0 ? '+' : '') + e.points),
          el('td', '', [e.reason, e.right, e.note].filter(Boolean).join(' · '))))))));
    profile.querySelector('h3').setAttribute('tabindex', '-1');
    profile.querySelector('h3').focus();
  }

  M.register({
    id: 'members',
    title: { zh: '会员', en: 'Members' },
    mount,
    show() {
      if (!list.childElementCount) search();
    },
  });
})();
