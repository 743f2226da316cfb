// carebot manager console: the programme — the rights catalogue (create,
// change stock and costs, retire) and points campaigns (double-points days,
// category multipliers for a period).
'use strict';

(() => {
  const M = window.carebotManager;
  const { el, api, fail, fmt, announce } = M;

  const OWN = {
    zh: {
      heading: '会员权益与活动', rights: '权益目录', newRight: '新建权益', campaigns: '积分活动', newCampaign: '新建活动',
      id: '编号', kind: '类型', nameHans: '名称（简体）', nameHant: '名称（繁体）', nameEn: '名称（英文）', value: '面额/折扣', minSpend: '最低消费',
      cost: '所需积分', stock: '库存（-1 不限）', left: '剩余', perMember: '每人限兑', validDays: '有效天数', tiers: '限等级（逗号分隔）',
      active: '上架', retire: '下架', reactivate: '重新上架', edit: '编辑', saved: '已保存', status: '状态', on: '上架中', off: '已下架',
      name: '名称', from: '开始', to: '结束', multiplier: '倍数', categories: '限品类（逗号分隔，空为全部）', noCampaigns: '没有活动。',
      kind_amount_off: '满减券', kind_percent_off: '折扣券', kind_free_shipping: '包邮券', kind_perk: '实物/服务',
      multipliers: '品类积分倍数', multipliersHint: '每行一个：品类 = 倍数（例如 beauty = 1.5）；未列出的品类按 1 倍。', badLine: '看不懂这一行：',
    },
    en: {
      heading: 'Programme', rights: 'Rights catalogue', newRight: 'New right', campaigns: 'Points campaigns', newCampaign: 'New campaign',
      id: 'Id', kind: 'Kind', nameHans: 'Name (Simplified)', nameHant: 'Name (Traditional)', nameEn: 'Name (English)', value: 'Value', minSpend: 'Min. spend',
      cost: 'Points', stock: 'Stock (-1 unlimited)', left: 'Left', perMember: 'Per member', validDays: 'Valid days', tiers: 'Tiers (comma separated)',
      active: 'Offered', retire: 'Retire', reactivate: 'Offer again', edit: 'Edit', saved: 'Saved', status: 'Status', on: 'offered', off: 'retired',
      name: 'Name', from: 'From', to: 'To', multiplier: 'Multiplier', categories: 'Categories (comma separated; empty: all)', noCampaigns: 'No campaigns.',
      kind_amount_off: 'amount off', kind_percent_off: 'percent off', kind_free_shipping: 'free shipping', kind_perk: 'perk',
      multipliers: 'Category multipliers', multipliersHint: 'One per line: category = multiplier (e.g. beauty = 1.5); categories not listed earn ×1.', badLine: 'Cannot read this line: ',
    },
  };
  const t = (k) => M.t(k, OWN);
  const KINDS = ['amount_off', 'percent_off', 'free_shipping', 'perk'];

  let root;
  let rightsBox;
  let editor;
  let campaignsBox;

  function input(id, label, attrs) {
    const i = el('input', Object.assign({ id, name: id }, attrs));
    return [el('label', { for: id, text: label }), i];
  }

  function mount(r) {
    root = r;
    rightsBox = el('div', { class: 'mgr-card', id: 'rights' });
    editor = el('form', { class: 'mgr-card', id: 'right-editor', hidden: true, novalidate: true });
    campaignsBox = el('div', { class: 'mgr-card', id: 'campaigns' });
    root.append(
      el('h2', '', t('heading')),
      el('h3', '', t('rights')),
      el('div', 'mgr-toolbar', el('button', { type: 'button', class: 'btn btn-primary', id: 'right-new', text: t('newRight'), onclick: () => edit(null) })),
      editor, rightsBox,
      el('h3', '', t('campaigns')),
      campaignForm(), campaignsBox,
      el('h3', '', t('multipliers')),
      multipliersForm());
  }

  // The points multipliers per order category, edited as "category =
  // multiplier" lines.
  function multipliersForm() {
    const area = el('textarea', { id: 'cat-mults', rows: 4, 'aria-describedby': 'cat-mults-hint' });
    const f = el('form', { class: 'mgr-card', id: 'cat-form', novalidate: true },
      el('label', { for: 'cat-mults', text: t('multipliers') }), area,
      el('p', { class: 'mgr-muted', id: 'cat-mults-hint', text: t('multipliersHint') }),
      el('button', { type: 'submit', class: 'btn btn-primary', id: 'cat-save', text: M.t('save') }));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const multipliers = {};
      for (const line of area.value.split('\n')) {
        if (!line.trim()) continue;
        const m = line.match(/^\s*([^=:]+?)\s*[=:：]\s*([0-9.]+)\s*$/);
        if (!m) {
          fail(new Error(t('badLine') + line));
          return;
        }
        multipliers[m[1]] = Number(m[2]);
      }
      try {
        const out = await api('/category-multipliers', { method: 'PUT', body: { multipliers } });
        showMultipliers(out.multipliers);
        M.banner('');
        announce(t('saved'));
      } catch (err) {
        fail(err);
      }
    });
    return f;
  }

  function showMultipliers(m) {
    root.querySelector('#cat-mults').value = Object.entries(m || {}).sort().map(([c, v]) => `${c} = ${v}`).join('\n');
  }

  async function loadMultipliers() {
    try {
      showMultipliers((await api('/category-multipliers')).multipliers);
    } catch (err) {
      fail(err);
    }
  }

  async function loadRights() {
    let out;
    try {
      out = await api('/rights');
    } catch (err) {
      fail(err);
      return;
    }
    const rights = out.rights || [];
    rightsBox.replaceChildren(el('table', { class: 'mgr-table', id: 'rights-table' },
      el('thead', '', el('tr', '', ['id', 'name', 'kind', 'cost', 'left', 'status', ''].map((k) => el('th', '', k ? t(k) : '')))),
      el('tbody', '', rights.map((ri) => el('tr', { 'data-right': ri.id },
        el('td', '', ri.id),
        el('td', '', (ri.name && (ri.name[M.contentLocale] || ri.name.en)) || ri.id),
        el('td', '', t('kind_' + ri.kind)),
        el('td', '', fmt.num(ri.cost)),
        el('td', '', ri.stock < 0 ? '∞' : fmt.num(Math.max(0, ri.stock - (ri.issued || 0)))),
        el('td', ri.active ? 'mgr-ok' : 'mgr-muted', ri.active ? t('on') : t('off')),
        el('td', '',
          el('button', { type: 'button', class: 'btn btn-ghost', text: t('edit'), onclick: () => edit(ri) }),
          el('button', { type: 'button', class: 'btn btn-ghost', 'data-action': 'toggle', text: ri.active ? t('retire') : t('reactivate'),
            onclick: () => save(Object.assign({}, ri, { active: !ri.active }), false) })))))));
  }

  function edit(ri) {
    const r = ri || { kind: 'amount_off', name: {}, stock: -1, cost: 0, active: true, valid_days: 30 };
    const num = (v) => (v === undefined || v === null ? '' : String(v));
    const kind = el('select', { id: 'r-kind', name: 'kind' }, KINDS.map((k) => el('option', { value: k, text: t('kind_' + k), selected: k === r.kind })));
    editor.replaceChildren(
      el('div', 'mgr-toolbar',
        ...input('r-id', t('id'), { value: r.id || '', required: true, readonly: !!ri, pattern: '[a-z0-9_.-]+', maxlength: 64 }),
        el('label', { for: 'r-kind', text: t('kind') }), kind),
      el('div', 'mgr-toolbar',
        ...input('r-name-hans', t('nameHans'), { value: (r.name || {})['zh-Hans'] || '' }),
        ...input('r-name-hant', t('nameHant'), { value: (r.name || {})['zh-Hant'] || '' }),
        ...input('r-name-en', t('nameEn'), { value: (r.name || {}).en || '' })),
      el('div', 'mgr-toolbar',
        ...input('r-value', t('value'), { type: 'number', step: 'any', min: 0, value: num(r.value) }),
        ...input('r-min', t('minSpend'), { type: 'number', step: 'any', min: 0, value: num(r.min_spend) }),
        ...input('r-cost', t('cost'), { type: 'number', min: 0, step: 1, value: num(r.cost) }),
        ...input('r-stock', t('stock'), { type: 'number', min: -1, step: 1, value: num(r.stock) }),
        ...input('r-per', t('perMember'), { type: 'number', min: 0, step: 1, value: num(r.per_member) }),
        ...input('r-days', t('validDays'), { type: 'number', min: 0, step: 1, value: num(r.valid_days) }),
        ...input('r-tiers', t('tiers'), { value: (r.tiers || []).join(', ') })),
      el('label', '', el('input', { type: 'checkbox', id: 'r-active', checked: r.active }), ' ', t('active')),
      el('div', 'mgr-toolbar',
        el('button', { type: 'submit', class: 'btn btn-primary', id: 'r-save', text: M.t('save') }),
        el('button', { type: 'button', class: 'btn btn-ghost', text: M.t('cancel'), onclick: () => { editor.hidden = true; } })));
    editor.onsubmit = (e) => {
      e.preventDefault();
      const v = (id) => editor.querySelector('#' + id).value.trim();
      const n = (id) => (v(id) === '' ? 0 : Number(v(id)));
      const name = {};
      if (v('r-name-hans')) name['zh-Hans'] = v('r-name-hans');
      if (v('r-name-hant')) name['zh-Hant'] = v('r-name-hant');
      if (v('r-name-en')) name.en = v('r-name-en');
      const out = Object.assign({}, ri || {}, {
        id: v('r-id'), kind: editor.querySelector('#r-kind').value, name, value: n('r-value'), min_spend: n('r-min'),
        cost: n('r-cost'), stock: v('r-stock') === '' ? -1 : n('r-stock'), per_member: n('r-per'), valid_days: n('r-days'),
        tiers: v('r-tiers') ? v('r-tiers').split(/[,，\s]+/).filter(Boolean) : [],
        active: editor.querySelector('#r-active').checked,
      });
      delete out.issued;
      save(out, !ri);
    };
    editor.hidden = false;
    editor.querySelector(ri ? '#r-name-hans' : '#r-id').focus();
  }

  async function save(right, create) {
    const body = Object.assign({}, right);
    delete body.issued;
    try {
      await api(create ? '/rights' : `/rights/${encodeURIComponent(right.id)}`, { method: create ? 'POST' : 'PUT', body });
    } catch (err) {
      fail(err);
      return;
    }
    editor.hidden = true;
    M.banner('');
    announce(t('saved'));
    loadRights();
  }

  function campaignForm() {
    const f = el('form', { class: 'mgr-toolbar', id: 'campaign-form', novalidate: true },
      ...input('c-name', t('name'), { required: true, maxlength: 64, pattern: '[a-z0-9_.-]+' }),
      ...input('c-from', t('from'), { type: 'date', required: true }),
      ...input('c-to', t('to'), { type: 'date', required: true }),
      ...input('c-mult', t('multiplier'), { type: 'number', step: '0.1', min: 1, value: '2' }),
      ...input('c-cats', t('categories'), {}),
      el('button', { type: 'submit', class: 'btn btn-primary', text: t('newCampaign') }));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = (id) => f.querySelector('#' + id).value.trim();
      const body = { name: v('c-name'), from: v('c-from'), to: v('c-to'), multiplier: Number(v('c-mult')),
        categories: v('c-cats') ? v('c-cats').split(/[,，\s]+/).filter(Boolean) : [] };
      try {
        await api('/campaigns', { method: 'POST', body });
      } catch (err) {
        fail(err);
        return;
      }
      f.reset();
      M.banner('');
      announce(t('saved'));
      loadCampaigns();
    });
    return f;
  }

  async function loadCampaigns() {
    let out;
    try {
      out = await api('/campaigns');
    } catch (err) {
      fail(err);
      return;
    }
    const cs = out.campaigns || [];
    campaignsBox.replaceChildren(cs.length ? el('table', { class: 'mgr-table', id: 'campaigns-table' },
      el('thead', '', el('tr', '', ['name', 'from', 'to', 'multiplier', 'categories'].map((k) => el('th', '', t(k))))),
      el('tbody', '', cs.map((c) => el('tr', '',
        el('td', '', c.name), el('td', '', c.from), el('td', '', c.to), el('td', '', `×${c.multiplier}`),
        el('td', '', (c.categories || []).join(', ') || '–'))))) : el('p', 'mgr-muted', t('noCampaigns')));
  }

  M.register({
    id: 'programme',
    title: { zh: '权益与活动', en: 'Programme' },
    mount,
    show() {
      loadRights();
      loadCampaigns();
      loadMultipliers();
    },
  });
})();
