// carebot manager console: the shell. It logs in (a console session with
// its CSRF token, the same accounts as the agent console), shows the
// sections a manager may use, and gives the section scripts what they share:
// the API helper, element builder, strings and a banner for errors.
//
// Each section script (manager-*.js) calls carebotManager.register({id,
// title: {zh, en}, mount(root), show()}) and builds its own markup inside
// root; manager-start.js starts the shell once every section registered.
'use strict';

(() => {
  const API = '/api/v1';
  const REQUEST_TIMEOUT_MS = 20000;
  const ROLE_RANK = { agent: 1, supervisor: 2, manager: 3, admin: 4 };

  const lang = (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  // The locale of texts shown to customers that the manager previews.
  const contentLocale = lang === 'zh' ? 'zh-Hans' : 'en';

  const STRINGS = {
    zh: {
      title: '运营后台', name: '账号', password: '密码', logIn: '登录', logOut: '退出',
      badLogin: '账号或密码不对。', tooMany: '尝试次数过多，请稍后再试。', notManager: '此账号没有运营后台的权限（需要社群经理或管理员）。',
      offline: '连不上服务器，请检查网络后重试。', failed: '操作失败：', saved: '已保存', loading: '加载中…', none: '暂无',
      role_agent: '客服', role_supervisor: '主管', role_manager: '社群经理', role_admin: '管理员',
      cancel: '取消', save: '保存', delete: '删除', search: '搜索', close: '关闭', refresh: '刷新',
    },
    en: {
      title: 'Manager console', name: 'Name', password: 'Password', logIn: 'Log in', logOut: 'Log out',
      badLogin: 'Wrong name or password.', tooMany: 'Too many attempts; try again later.', notManager: 'This account cannot use the manager console (a manager or admin account is needed).',
      offline: 'Cannot reach the server; check the connection and try again.', failed: 'Failed: ', saved: 'Saved', loading: 'Loading…', none: 'None',
      role_agent: 'Agent', role_supervisor: 'Supervisor', role_manager: 'Manager', role_admin: 'Admin',
      cancel: 'Cancel', save: 'Save', delete: 'Delete', search: 'Search', close: 'Close', refresh: 'Refresh',
    },
  };

  const $ = (id) => document.getElementById(id);
  const sections = [];
  let me = null; // {name, role, csrf}
  let current = null;

  class ApiError extends Error {
    constructor(status, message) {
      super(message || `HTTP ${status}`);
      this.status = status;
    }
  }

  // t looks a string up in the shell's strings or a section's own.
  function t(key, own) {
    const mine = own && (own[lang] || own.en);
    if (mine && mine[key] !== undefined) return mine[key];
    return (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
  }

  // el builds an element: el('div', 'cls', 'text') or el('a', {class, href, …}, child…).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (typeof attrs === 'string') {
      if (attrs) node.className = attrs;
    } else if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
        else if (v === true) node.setAttribute(k, '');
        else node.setAttribute(k, String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  async function api(path, opts = {}) {
    const method = opts.method || 'GET';
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET') {
      if (me && me.csrf) headers['X-CSRF-Token'] = me.csrf;
      if (opts.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(opts.body);
      }
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    init.signal = ctrl.signal;
    let res;
    try {
      res = await fetch(API + path, init);
    } catch {
      throw new ApiError(0, t('offline'));
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      if (res.status === 401 && !opts.login) showLogin();
      throw new ApiError(res.status, (data && data.error) || `HTTP ${res.status}`);
    }
    return data;
  }

  function announce(msg) {
    const a = $('announce');
    a.textContent = '';
    setTimeout(() => { a.textContent = msg; }, 30);
  }

  function banner(msg) {
    $('banner-text').textContent = msg || '';
    $('banner').hidden = !msg;
  }

  // fail shows an API error in the banner and says it out loud.
  function fail(err) {
    const msg = t('failed') + (err && err.message ? err.message : String(err));
    banner(msg);
    announce(msg);
  }

  function register(section) {
    sections.push(section);
  }

  function showLogin() {
    me = null;
    $('app-view').hidden = true;
    $('login-view').hidden = false;
    $('login-name').focus();
  }

  function select(id, push) {
    const s = sections.find((x) => x.id === id) || sections[0];
    if (!s) return;
    current = s;
    for (const x of sections) {
      x.root.hidden = x !== s;
      x.tab.setAttribute('aria-current', x === s ? 'page' : 'false');
    }
    if (push && location.hash !== '#' + s.id) history.replaceState(null, '', '#' + s.id);
    banner('');
    if (!s.mounted) {
      s.mounted = true;
      s.mount(s.root);
    }
    if (s.show) s.show();
  }

  function showApp() {
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('who-name').textContent = me.name;
    $('who-role').textContent = t('role_' + me.role);
    select(location.hash.slice(1), false);
  }

  function buildShell() {
    document.documentElement.lang = lang === 'zh' ? 'zh-Hans' : 'en';
    document.title = `${t('title')} · carebot`;
    for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
    const nav = $('nav');
    const main = $('sections');
    for (const s of sections) {
      s.tab = el('a', { class: 'mgr-tab', href: '#' + s.id, id: 'tab-' + s.id, text: s.title[lang] || s.title.en });
      s.tab.addEventListener('click', (e) => {
        e.preventDefault();
        select(s.id, true);
      });
      nav.append(s.tab);
      s.root = el('section', { class: 'mgr-section', id: 'section-' + s.id, 'aria-labelledby': 'tab-' + s.id, hidden: true });
      main.append(s.root);
    }
    window.addEventListener('hashchange', () => {
      if (me) select(location.hash.slice(1), false);
    });
    $('login-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = $('login-name').value.trim();
      const password = $('login-password').value;
      $('login-error').textContent = '';
      try {
        const who = await api('/auth/login', { method: 'POST', body: { name, password }, login: true });
        if (!(ROLE_RANK[who.role] >= ROLE_RANK.manager)) {
          await api('/auth/logout', { method: 'POST', login: true }).catch(() => {});
          $('login-error').textContent = t('notManager');
          return;
        }
        me = who;
        $('login-password').value = '';
        showApp();
      } catch (err) {
        $('login-error').textContent = err.status === 429 ? t('tooMany') : err.status === 401 ? t('badLogin') : err.message;
      }
    });
    $('logout').addEventListener('click', async () => {
      try {
        await api('/auth/logout', { method: 'POST', login: true });
      } catch {
        // the session is gone either way
      }
      showLogin();
    });
  }

  async function start() {
    buildShell();
    try {
      const who = await api('/auth/me', { login: true });
      if (!who.csrf || !(ROLE_RANK[who.role] >= ROLE_RANK.manager)) throw new ApiError(401);
      me = who;
      showApp();
    } catch {
      showLogin();
    }
  }

  // Formatting shared by the sections.
  const fmt = {
    date(s) {
      if (!s) return '–';
      const d = new Date(s);
      return Number.isNaN(d.getTime()) ? '–' : d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en', { dateStyle: 'medium', timeStyle: 'short' });
    },
    day(d) {
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
    },
    num(n) {
      return typeof n === 'number' ? n.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en') : '–';
    },
  };

  window.carebotManager = { api, el, t, fail, banner, announce, register, start, fmt, lang, contentLocale, ApiError, me: () => me };
})();
