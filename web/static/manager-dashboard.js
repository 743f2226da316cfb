// carebot manager console: the dashboard section. Key figures for a date
// range, every chart as a server-rendered SVG picture with its numbers as
// CSV beside it, and the questions the bot could not answer.
'use strict';

(() => {
  const M = window.carebotManager;
  const { el, api, fail, fmt } = M;

  const OWN = {
    zh: {
      heading: '数据看板', from: '从', to: '到', days7: '近 7 天', days28: '近 28 天', days90: '近 90 天', apply: '查看',
      faqRate: 'FAQ 自助解答率', goal: '目标', handoffs: '转人工', tickets: '新工单', red: '负面消息',
      csat: 'CSAT 满意', nps: 'NPS', sla: 'SLA 达成（中度）', claim: '接单中位数（中度）', csv: '下载 CSV',
      unanswered: '未解答的问题（前 20）', question: '问题', count: '次数', nearest: '最接近的条目', noUnanswered: '没有未解答的问题。',
      emotion: '客户消息情绪占比', ticketsChart: '每日新工单（按等级）', causes: '负面原因：本周与上周', faq: 'FAQ 自助解答率',
      service: '每日问题处理', slaChart: 'SLA 达成率', times: '接单与解决用时', satisfaction: '每周 CSAT 与 NPS',
      members_tier: '会员等级分布', members_stage: '会员生命周期', points: '每周积分', coupons: '优惠券发放与核销', care: '生日与召回转化',
      minutes: '分钟',
    },
    en: {
      heading: 'Dashboard', from: 'From', to: 'To', days7: 'Last 7 days', days28: 'Last 28 days', days90: 'Last 90 days', apply: 'Show',
      faqRate: 'FAQ answer rate', goal: 'goal', handoffs: 'Handoffs', tickets: 'New tickets', red: 'Negative messages',
      csat: 'CSAT satisfied', nps: 'NPS', sla: 'SLA met (moderate)', claim: 'Median to claim (moderate)', csv: 'Download CSV',
      unanswered: 'Unanswered questions (top 20)', question: 'Question', count: 'Count', nearest: 'Nearest entry', noUnanswered: 'No unanswered questions.',
      emotion: 'Customer messages by emotion', ticketsChart: 'Tickets opened per day by tier', causes: 'Negative causes: this week vs last', faq: 'FAQ answer rate',
      service: 'Questions per day', slaChart: 'SLA attainment', times: 'Time to claim and resolve', satisfaction: 'CSAT and NPS per week',
      members_tier: 'Members by tier', members_stage: 'Members by lifecycle stage', points: 'Points per week', coupons: 'Coupons issued and used', care: 'Birthday and recall conversion',
      minutes: 'min',
    },
  };
  const t = (k) => M.t(k, OWN);
  // A chart's accessible name, by its API name.
  const CHART_TITLE = { tickets: 'ticketsChart', sla: 'slaChart', 'members-tier': 'members_tier', 'members-stage': 'members_stage' };

  let root;
  let from;
  let to;
  let loaded = '';

  function daysAgo(n) {
    const d = new Date();
    d.setDate(d.getDate() - n);
    return fmt.day(d);
  }

  function kpi(label, value, extra) {
    return el('div', 'mgr-kpi', el('dt', '', label), el('dd', '', value), extra ? el('span', 'mgr-muted', extra) : null);
  }

  function pct(v) {
    return typeof v === 'number' ? `${v.toFixed(1)}%` : '–';
  }

  function mount(r) {
    root = r;
    from = el('input', { type: 'date', id: 'dash-from', value: daysAgo(27) });
    to = el('input', { type: 'date', id: 'dash-to', value: daysAgo(0) });
    const preset = (n, key) => el('button', {
      type: 'button', class: 'btn btn-ghost', text: t(key),
      onclick: () => { from.value = daysAgo(n - 1); to.value = daysAgo(0); load(); },
    });
    root.append(
      el('h2', '', t('heading')),
      el('form', { class: 'mgr-toolbar', id: 'dash-range', onsubmit: (e) => { e.preventDefault(); load(); } },
        el('label', '', t('from'), from), el('label', '', t('to'), to),
        el('button', { type: 'submit', class: 'btn btn-primary', text: t('apply') }),
        preset(7, 'days7'), preset(28, 'days28'), preset(90, 'days90')),
      el('dl', { class: 'mgr-kpis', id: 'dash-kpis' }),
      el('div', { class: 'mgr-grid', id: 'dash-charts' }),
      el('h3', '', t('unanswered')),
      el('div', { class: 'mgr-card', id: 'dash-unanswered' }),
    );
  }

  async function load() {
    const range = `from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;
    let s;
    try {
      s = await api(`/dashboard/summary?${range}`);
    } catch (err) {
      fail(err);
      return;
    }
    loaded = range;
    const red = (s.messages && s.messages.red) || 0;
    const all = Object.values(s.messages || {}).reduce((x, y) => x + y, 0);
    const tickets = Object.values(s.tickets || {}).reduce((x, y) => x + y, 0);
    const rate = el('span', s.faq_rate >= s.faq_goal ? 'mgr-ok' : 'mgr-bad', pct(s.faq_rate));
    root.querySelector('#dash-kpis').replaceChildren(
      kpi(t('faqRate'), rate, `${t('goal')} ${s.faq_goal}%`),
      kpi(t('handoffs'), fmt.num(s.handoffs)),
      kpi(t('tickets'), fmt.num(tickets)),
      kpi(t('red'), all ? pct((100 * red) / all) : '–', fmt.num(red)),
      kpi(t('csat'), s.csat_count ? pct(s.csat) : '–', s.csat_count ? fmt.num(s.csat_count) : ''),
      kpi(t('nps'), s.nps_count ? (s.nps > 0 ? '+' : '') + s.nps.toFixed(1) : '–', s.nps_count ? fmt.num(s.nps_count) : ''),
      kpi(t('sla'), pct(s.sla && s.sla.moderate)),
      kpi(t('claim'), s.claim_minutes && typeof s.claim_minutes.moderate === 'number' ? `${s.claim_minutes.moderate} ${t('minutes')}` : '–'),
    );
    const charts = (s.charts || []).map((name) => {
      const title = t(CHART_TITLE[name] || name.replace('-', '_'));
      const base = `/api/v1/dashboard/charts/${encodeURIComponent(name)}`;
      return el('figure', { class: 'mgr-card mgr-chart', 'data-chart': name },
        el('img', { src: `${base}.svg?${range}&lang=${M.lang}`, alt: title, width: 640, height: 320 }),
        el('figcaption', '', el('span', '', title), el('a', { href: `${base}.csv?${range}`, download: '', text: t('csv') })));
    });
    root.querySelector('#dash-charts').replaceChildren(...charts);
    const un = s.unanswered || [];
    const box = root.querySelector('#dash-unanswered');
    if (!un.length) {
      box.replaceChildren(el('p', 'mgr-muted', t('noUnanswered')));
      return;
    }
    box.replaceChildren(el('table', { class: 'mgr-table', id: 'dash-unanswered-table' },
      el('thead', '', el('tr', '', el('th', '', t('question')), el('th', '', t('count')), el('th', '', t('nearest')))),
      el('tbody', '', un.map((u) => el('tr', '',
        el('td', '', (u.examples && u.examples[0]) || u.query || ''),
        el('td', '', fmt.num(u.count)),
        el('td', 'mgr-muted', (u.nearest && u.nearest.length && (u.nearest[0].entry || u.nearest[0].id)) || '–')))),
    ));
  }

  M.register({
    id: 'dashboard',
    title: { zh: '数据看板', en: 'Dashboard' },
    mount,
    show() {
      const range = `from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;
      if (range !== loaded) load();
    },
  });
})();
