// carebot agent console. Vanilla ES2020, no dependencies, same-origin only.
//
// Customer and server text is only ever written with textContent (never
// parsed as HTML), so whatever a customer types cannot inject markup into
// an agent's session. The page keeps nothing in storage: the HttpOnly
// session cookie is the login, and the CSRF token lives in memory (it is
// fetched again from /auth/me after a reload).
'use strict';

(() => {
  const API = '/api/v1';
  const REQUEST_TIMEOUT_MS = 20000;
  // The event stream says "gone" when a ticket leaves this account's sight
  // (a colleague claimed it, it went to the supervisors). A slow poll is
  // the safety net for a stream that was down.
  const POLL_MS = 30000;
  const REPORT_DAYS = 7;
  const TIERS = ['none', 'mild', 'moderate', 'severe'];
  const COLOURS = ['green', 'yellow', 'red'];
  const ROLE_RANK = { agent: 1, supervisor: 2, manager: 3, admin: 4 };

  const STRINGS = {
    zh: {
      consoleTitle: '客服工作台',
      name: '账号',
      password: '密码',
      logIn: '登录',
      loggingIn: '正在登录…',
      logOut: '退出',
      online: '实时',
      offline: '离线',
      reconnecting: '与服务器的实时连接已断开，正在重新连接…',
      retry: '重试',
      queue: '工单队列',
      tabActive: '进行中',
      tabResolved: '已解决',
      report: '最近 7 天',
      weekly: '客服周报',
      noWeekly: '还没有周报：第一份在周一 09:00 生成。',
      tiers: '轻度 / 中度 / 重度',
      faqRate: 'FAQ 自助解答率',
      recall: '召回转化',
      opened: '新工单',
      resolvedCount: '已解决',
      slaMissed: '超时',
      csatAverage: '满意度',
      topCauses: '主要原因',
      noCauses: '暂无已解决的工单。',
      pickTicket: '从左侧队列选择一个工单。',
      emptyActive: '没有待处理的工单。',
      emptyResolved: '还没有已解决的工单。',
      loading: '加载中…',
      back: '队列',
      claim: '接单',
      transfer: '转主管',
      resolve: '解决',
      customerInfo: '客户信息',
      close: '关闭',
      conversation: '对话',
      suggestions: '推荐回复',
      replyLabel: '回复客户',
      replyPlaceholder: '输入回复…',
      replyHint: 'Enter 发送 · Shift+Enter 换行',
      send: '发送',
      ticketInfo: '工单',
      history: '处理记录',
      member: '客户',
      pastTickets: '历史工单',
      noPast: '没有更早的工单。',
      transferTitle: '转给主管',
      compensate: '送券',
      undelivered: '未送达：{reason}',
      scheduled: '计划于 {when} 发送',
      compensateTitle: '送一张补偿券（不扣积分）',
      compensateRight: '券',
      chooseRight: '请选择券…',
      errRight: '请选择一张券。',
      compensated: '已在工单 #{id} 送出补偿券。',
      transferNote: '给主管的说明',
      resolveTitle: '解决工单',
      cause: '原因',
      chooseCause: '请选择原因…',
      resolveNote: '处理说明',
      optional: '（可选）',
      cancel: '取消',
      ticketTitle: '工单 #{id}',
      customer: '客户',
      bot: 'carebot',
      vip: 'VIP',
      escalated: '已升级',
      left: '剩余 {time}',
      overdue: '超时 {time}',
      claimedBy: '{name} 处理中',
      claimedByYou: '由你处理',
      supervisorQueue: '主管队列',
      status_open: '待接单',
      status_claimed: '处理中',
      status_resolved: '已解决',
      tier_none: '无',
      tier_mild: '略有不满',
      tier_moderate: '投诉抱怨',
      tier_severe: '投诉升级',
      emo_positive: '正面',
      emo_neutral: '中性',
      emo_negative: '负面',
      role_agent: '客服',
      role_supervisor: '主管',
      role_manager: '社群经理',
      role_admin: '管理员',
      f_status: '状态',
      f_queue: '队列',
      f_reason: '触发规则',
      f_priority: '优先级',
      f_created: '创建',
      f_deadline: '接单时限',
      f_claimed: '接单',
      f_resolved: '解决',
      f_agent: '客服',
      f_cause: '原因',
      f_intervention: '干预',
      f_outcome: '结果',
      f_csat: '满意度',
      f_follow_ups: '回访',
      f_reopened: '重开次数',
      f_relapses: '再次不满',
      f_trigger: '触发消息',
      f_channel: '渠道',
      f_chat_id: '会话',
      f_user_id: '用户',
      f_member: '会员',
      f_member_tier: '会员等级',
      f_locale: '语言',
      f_since: '首次联系',
      f_messages: '消息数',
      f_emotion: '当前情绪',
      f_tickets: '工单数',
      queue_agent: '客服队列',
      queue_supervisor: '主管队列',
      reason_message: '消息情绪',
      reason_request: '要求人工',
      reason_running: '持续负面',
      reason_unanswered: '多次未答',
      reason_consecutive_negatives: '连续负面',
      ev_open: '创建',
      ev_raise: '升级情绪等级',
      ev_claim: '接单',
      ev_reply: '回复',
      ev_transfer: '转主管',
      ev_escalate: '超时升级',
      ev_resolve: '解决',
      ev_csat: '满意度评分',
      ev_reopen: '重新打开',
      ev_relapse: '再次不满',
      kind_word: '情绪词',
      kind_negation: '否定',
      kind_degree: '程度',
      kind_contrast: '转折',
      kind_sarcasm: '反讽',
      kind_punctuation: '标点',
      kind_caps: '大写',
      kind_emoji: '表情',
      kind_mild: '不满',
      kind_complaint: '投诉',
      kind_abuse: '辱骂',
      kind_escalation: '升级',
      kind_repeat: '重复',
      kind_model: '模型',
      newTicket: '新工单 #{id}（{tier}）：{trigger}',
      alertTicket: '主管提醒：工单 #{id}（{tier}）',
      newCustomerMessage: '客户发来新消息',
      claimed: '已接单 #{id}。',
      transferred: '工单 #{id} 已转给主管。',
      resolvedDone: '工单 #{id} 已解决，已邀请客户评分。',
      loggedOut: '已退出。',
      readOnlyResolved: '此工单已解决，不能再回复。',
      readOnlyOther: '此工单由 {name} 处理。',
      readOnlyQueue: '此工单在主管队列中。',
      errLoginEmpty: '请输入账号和密码。',
      errLogin: '账号或密码错误。',
      errLocked: '失败次数过多，请 {s} 秒后再试。',
      errSession: '登录已过期，请重新登录。',
      errNetwork: '无法连接服务器，请检查网络。',
      errForbidden: '你没有权限执行此操作。',
      errGone: '工单不存在或已不在你的队列中。',
      errTaken: '此工单已不在你的队列中（可能已被同事接单，或已转给主管）。',
      errConflict: '工单状态已变化（可能已被其他同事接单）。',
      errRate: '操作太频繁，请稍后再试。',
      errBad: '请求有误：{detail}',
      errServer: '服务器出错了，请稍后再试。',
      errCause: '请选择一个原因。',
    },
    en: {
      consoleTitle: 'Agent console',
      name: 'Name',
      password: 'Password',
      logIn: 'Log in',
      loggingIn: 'Logging in…',
      logOut: 'Log out',
      online: 'Live',
      offline: 'Offline',
      reconnecting: 'Lost the live connection to the server. Reconnecting…',
      retry: 'Retry',
      queue: 'Queue',
      tabActive: 'Active',
      tabResolved: 'Resolved',
      report: 'Last 7 days',
      weekly: 'Weekly report',
      noWeekly: 'No weekly report yet: the first comes on Monday at 09:00.',
      tiers: 'Mild / mod. / severe',
      faqRate: 'FAQ answered',
      recall: 'Recall conversions',
      opened: 'Opened',
      resolvedCount: 'Resolved',
      slaMissed: 'SLA missed',
      csatAverage: 'CSAT',
      topCauses: 'Top causes',
      noCauses: 'No resolved tickets yet.',
      pickTicket: 'Pick a ticket from the queue.',
      emptyActive: 'No tickets waiting.',
      emptyResolved: 'No resolved tickets yet.',
      loading: 'Loading…',
      back: 'Queue',
      claim: 'Claim',
      transfer: 'Transfer',
      resolve: 'Resolve',
      customerInfo: 'Customer',
      close: 'Close',
      conversation: 'Conversation',
      suggestions: 'Suggested replies',
      replyLabel: 'Reply to the customer',
      replyPlaceholder: 'Write a reply…',
      replyHint: 'Enter to send · Shift+Enter for a new line',
      send: 'Send',
      ticketInfo: 'Ticket',
      history: 'History',
      member: 'Customer',
      pastTickets: 'Past tickets',
      noPast: 'No earlier tickets.',
      transferTitle: 'Transfer to a supervisor',
      compensate: 'Give coupon',
      undelivered: 'Not delivered: {reason}',
      scheduled: 'Scheduled for {when}',
      compensateTitle: 'Give a compensation coupon (no points)',
      compensateRight: 'Coupon',
      chooseRight: 'Choose a coupon…',
      errRight: 'Choose a coupon.',
      compensated: 'Coupon sent on ticket #{id}.',
      transferNote: 'Note for the supervisor',
      resolveTitle: 'Resolve ticket',
      cause: 'Cause',
      chooseCause: 'Choose a cause…',
      resolveNote: 'What was done',
      optional: '(optional)',
      cancel: 'Cancel',
      ticketTitle: 'Ticket #{id}',
      customer: 'Customer',
      bot: 'carebot',
      vip: 'VIP',
      escalated: 'Escalated',
      left: '{time} left',
      overdue: '{time} overdue',
      claimedBy: 'Claimed by {name}',
      claimedByYou: 'Claimed by you',
      supervisorQueue: 'Supervisors',
      status_open: 'Open',
      status_claimed: 'Claimed',
      status_resolved: 'Resolved',
      tier_none: 'No tier',
      tier_mild: 'Mild',
      tier_moderate: 'Moderate',
      tier_severe: 'Severe',
      emo_positive: 'Positive',
      emo_neutral: 'Neutral',
      emo_negative: 'Negative',
      role_agent: 'Agent',
      role_supervisor: 'Supervisor',
      role_manager: 'Manager',
      role_admin: 'Admin',
      f_status: 'Status',
      f_queue: 'Queue',
      f_reason: 'Opened by',
      f_priority: 'Priority',
      f_created: 'Created',
      f_deadline: 'Claim by',
      f_claimed: 'Claimed',
      f_resolved: 'Resolved',
      f_agent: 'Agent',
      f_cause: 'Cause',
      f_intervention: 'Intervention',
      f_outcome: 'Outcome',
      f_csat: 'CSAT',
      f_follow_ups: 'Follow-ups',
      f_reopened: 'Reopened',
      f_relapses: 'Relapses',
      f_trigger: 'Trigger',
      f_channel: 'Channel',
      f_chat_id: 'Chat',
      f_user_id: 'User',
      f_member: 'Member',
      f_member_tier: 'Member tier',
      f_locale: 'Language',
      f_since: 'Customer since',
      f_messages: 'Messages',
      f_emotion: 'Running emotion',
      f_tickets: 'Tickets',
      queue_agent: 'Agents',
      queue_supervisor: 'Supervisors',
      reason_message: 'Message emotion',
      reason_request: 'Asked for a person',
      reason_running: 'Running emotion',
      reason_unanswered: 'Unanswered questions',
      reason_consecutive_negatives: 'Negatives in a row',
      ev_open: 'Opened',
      ev_raise: 'Tier raised',
      ev_claim: 'Claimed',
      ev_reply: 'Replied',
      ev_transfer: 'Transferred',
      ev_escalate: 'Escalated (SLA)',
      ev_resolve: 'Resolved',
      ev_csat: 'Rated',
      ev_reopen: 'Reopened',
      ev_relapse: 'Unhappy again',
      // Cue kinds as the emotion scorer names them.
      kind_word: 'word',
      kind_negation: 'negation',
      kind_degree: 'degree',
      kind_contrast: 'contrast',
      kind_sarcasm: 'sarcasm',
      kind_punctuation: 'punctuation',
      kind_caps: 'caps',
      kind_emoji: 'emoji',
      kind_mild: 'mild',
      kind_complaint: 'complaint',
      kind_abuse: 'abuse',
      kind_escalation: 'escalation',
      kind_repeat: 'repeat',
      kind_model: 'model',
      newTicket: 'New ticket #{id} ({tier}): {trigger}',
      alertTicket: 'Supervisor alert: ticket #{id} ({tier})',
      newCustomerMessage: 'New message from the customer',
      claimed: 'Claimed ticket #{id}.',
      transferred: 'Ticket #{id} went to the supervisors.',
      resolvedDone: 'Ticket #{id} is resolved; the customer was asked for a rating.',
      loggedOut: 'Logged out.',
      readOnlyResolved: 'This ticket is resolved; replies are closed.',
      readOnlyOther: '{name} is working on this ticket.',
      readOnlyQueue: 'This ticket is in the supervisors’ queue.',
      errLoginEmpty: 'Enter your name and password.',
      errLogin: 'Wrong name or password.',
      errLocked: 'Too many failed logins. Try again in {s} seconds.',
      errSession: 'Your session ended. Please log in again.',
      errNetwork: "Can't reach the server. Check your connection.",
      errForbidden: "You're not allowed to do that.",
      errGone: 'That ticket is gone or no longer in your queue.',
      errTaken: 'This ticket has left your queue (a colleague claimed it, or it went to the supervisors).',
      errConflict: 'The ticket changed meanwhile (perhaps a colleague claimed it first).',
      errRate: 'Too many requests. Please wait a moment.',
      errBad: 'The request was refused: {detail}',
      errServer: 'Something went wrong on the server. Please try again.',
      errCause: 'Choose a cause.',
    },
  };

  // ---------- small utilities ----------

  const $ = (id) => document.getElementById(id);

  function pickLocale() {
    const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (const raw of langs) {
      const l = String(raw).toLowerCase();
      if (l.startsWith('zh')) return 'zh';
      if (l.startsWith('en')) return 'en';
    }
    return 'en';
  }

  const locale = pickLocale();
  const intlLocale = locale === 'zh' ? 'zh-CN' : 'en';

  // t looks a string up and fills {name} placeholders from vars.
  function t(key, vars) {
    let s = STRINGS[locale][key];
    if (s === undefined) s = STRINGS.en[key];
    if (s === undefined) return key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return s;
  }

  // tOr translates a prefixed server value (a tier, a status) and falls
  // back to the raw value, so a new server value still shows.
  const tOr = (prefix, value) => {
    const key = prefix + value;
    return STRINGS[locale][key] || STRINGS.en[key] || String(value || '');
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const tierOf = (v) => (TIERS.includes(v) ? v : 'none');
  const colourOf = (v) => (COLOURS.includes(v) ? v : 'green');
  const rank = (role) => ROLE_RANK[role] || 0;
  const isSupervisor = () => Boolean(me) && rank(me.role) >= ROLE_RANK.supervisor;

  function parseTime(s) {
    if (!s) return null;
    const d = new Date(s);
    return Number.isNaN(d.getTime()) || d.getFullYear() < 2 ? null : d;
  }

  function formatTime(s, withDay) {
    const d = parseTime(s);
    if (!d) return '';
    const now = new Date();
    const opts = { hour: '2-digit', minute: '2-digit' };
    if (withDay || d.toDateString() !== now.toDateString()) {
      opts.month = 'short';
      opts.day = 'numeric';
      if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
    }
    try {
      return new Intl.DateTimeFormat(intlLocale, opts).format(d);
    } catch {
      return d.toLocaleString();
    }
  }

  // formatSpan renders a duration as "4:05" under an hour, "1h 05m" above,
  // "2d 3h" above a day: precise while it matters, short when it does not.
  function formatSpan(ms) {
    const total = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(total / 86400);
    const h = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (d > 0) return `${d}d ${h}h`;
    if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
    return `${m}:${String(s).padStart(2, '0')}`;
  }

  function formatValue(v) {
    const n = Number(v) || 0;
    const abs = Math.abs(n).toFixed(2);
    if (n > 0.004) return `+${abs}`;
    if (n < -0.004) return `\u2212${abs}`;
    return abs;
  }

  // ---------- state ----------

  let me = null; // {name, role, csrf} of the logged-in account
  let tab = 'active';
  const queues = { active: new Map(), resolved: new Map() };
  const latest = new Map(); // ticket id → newest state seen, from lists and events
  let resolvedLoaded = false;
  const fresh = new Map(); // ticket id → time it arrived, for a brief highlight
  let current = null; // {id, view} of the open ticket
  let shownSeqs = new Set(); // messages of the open ticket already on screen
  let ticketGen = 0; // bumps on every ticket switch; stale answers are dropped
  let refreshTimer = 0;
  let refreshing = false;
  let refreshAgain = false;
  const drafts = new Map(); // ticket id → unsent reply text
  let events = null;
  let reconnectTimer = 0;
  let reconnectDelay = 1000;
  let bannerTimer = 0;
  let pollTimer = 0;
  let tickTimer = 0;
  let reportTimer = 0;
  let busy = false; // an action (claim, reply…) is in flight

  // ---------- DOM ----------

  const els = {
    announce: $('announce'),
    loginView: $('login-view'),
    loginForm: $('login-form'),
    loginName: $('login-name'),
    loginPassword: $('login-password'),
    loginError: $('login-error'),
    loginSubmit: $('login-submit'),
    consoleView: $('console-view'),
    conn: $('conn'),
    connText: $('conn-text'),
    whoName: $('who-name'),
    whoRole: $('who-role'),
    logout: $('logout'),
    banner: $('banner'),
    bannerText: $('banner-text'),
    bannerAction: $('banner-action'),
    tabs: [$('tab-active'), $('tab-resolved')],
    countActive: $('count-active'),
    queuePanel: $('queue-panel'),
    queueList: $('queue-list'),
    queueEmpty: $('queue-empty'),
    report: $('report'),
    repOpened: $('rep-opened'),
    repResolved: $('rep-resolved'),
    repSla: $('rep-sla'),
    repCsat: $('rep-csat'),
    repCauses: $('rep-causes'),
    weekly: $('weekly'),
    wkWeek: $('wk-week'),
    wkNone: $('wk-none'),
    wkStats: $('wk-stats'),
    wkOpened: $('wk-opened'),
    wkTiers: $('wk-tiers'),
    wkFaq: $('wk-faq'),
    wkCsat: $('wk-csat'),
    wkNps: $('wk-nps'),
    wkRecall: $('wk-recall'),
    wkCauses: $('wk-causes'),
    placeholder: $('placeholder'),
    ticket: $('ticket'),
    back: $('back'),
    title: $('ticket-title'),
    meta: $('ticket-meta'),
    claim: $('claim'),
    transfer: $('transfer'),
    compensate: $('compensate'),
    compensateDialog: $('compensate-dialog'),
    compensateForm: $('compensate-form'),
    compensateRight: $('compensate-right'),
    compensateError: $('compensate-error'),
    compensateSubmit: $('compensate-submit'),
    resolve: $('resolve'),
    infoToggle: $('info-toggle'),
    sideClose: $('side-close'),
    actionError: $('action-error'),
    scroller: $('scroller'),
    messages: $('messages'),
    suggestions: $('suggestions'),
    suggList: $('sugg-list'),
    composer: $('composer'),
    reply: $('reply'),
    send: $('send'),
    facts: $('ticket-facts'),
    cues: $('ticket-cues'),
    timeline: $('timeline'),
    memberFacts: $('member-facts'),
    past: $('past'),
    pastEmpty: $('past-empty'),
    transferDialog: $('transfer-dialog'),
    transferForm: $('transfer-form'),
    transferNote: $('transfer-note'),
    transferError: $('transfer-error'),
    transferSubmit: $('transfer-submit'),
    resolveDialog: $('resolve-dialog'),
    resolveForm: $('resolve-form'),
    resolveCause: $('resolve-cause'),
    resolveNote: $('resolve-note'),
    resolveError: $('resolve-error'),
    resolveSubmit: $('resolve-submit'),
  };

  function applyLocale() {
    document.documentElement.lang = locale === 'zh' ? 'zh-Hans' : 'en';
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
    for (const node of document.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
    updateTitle();
  }

  function updateTitle() {
    let waiting = 0;
    for (const tk of queues.active.values()) if (tk.status === 'open') waiting++;
    const base = `${t('consoleTitle')} · carebot`;
    document.title = me && waiting ? `(${waiting}) ${base}` : base;
  }

  // announce speaks text through the polite status region. Clearing it
  // first makes a repeated message be read again.
  function announce(text) {
    els.announce.textContent = '';
    setTimeout(() => { els.announce.textContent = text; }, 50);
  }

  function showBanner(text, actionText, action) {
    els.bannerText.textContent = text;
    if (actionText) {
      els.bannerAction.textContent = actionText;
      els.bannerAction.onclick = action;
      els.bannerAction.hidden = false;
    } else {
      els.bannerAction.hidden = true;
      els.bannerAction.onclick = null;
    }
    els.banner.hidden = false;
  }

  function hideBanner() {
    els.banner.hidden = true;
  }

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, message) {
      super(message || `HTTP ${status}`);
      this.status = status; // 0: the network failed or timed out
      this.detail = message || '';
      this.retryAfter = 0;
    }
  }

  // api calls the JSON API. Writes carry the session's CSRF token. A 401
  // anywhere but the login itself means the session is over.
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
      throw new ApiError(0);
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) {
      const err = new ApiError(res.status, data && typeof data.error === 'string' ? data.error : '');
      err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
      if (res.status === 401 && !opts.login) sessionEnded();
      throw err;
    }
    if (!data || typeof data !== 'object') throw new ApiError(502, 'bad response');
    return data;
  }

  function errorText(err) {
    switch (true) {
      case err.status === 0: return t('errNetwork');
      case err.status === 401: return t('errSession');
      case err.status === 403: return t('errForbidden');
      case err.status === 404: return t('errGone');
      case err.status === 409: return t('errConflict');
      case err.status === 429: return t('errRate');
      case err.status >= 400 && err.status < 500: return t('errBad', { detail: err.detail || err.status });
      default: return t('errServer');
    }
  }

  // ---------- login ----------

  function showLogin(message) {
    stopLive();
    me = null;
    current = null;
    queues.active.clear();
    queues.resolved.clear();
    latest.clear();
    resolvedLoaded = false;
    drafts.clear();
    document.body.classList.remove('has-ticket', 'side-open');
    els.consoleView.hidden = true;
    els.loginView.hidden = false;
    els.loginError.textContent = message || '';
    els.loginPassword.value = '';
    updateTitle();
    (els.loginName.value ? els.loginPassword : els.loginName).focus();
  }

  function sessionEnded() {
    if (!me) return;
    showLogin(t('errSession'));
  }

  async function login() {
    const name = els.loginName.value.trim();
    const password = els.loginPassword.value;
    if (!name || !password) {
      els.loginError.textContent = t('errLoginEmpty');
      (name ? els.loginPassword : els.loginName).focus();
      return;
    }
    els.loginSubmit.disabled = true;
    els.loginSubmit.textContent = t('loggingIn');
    els.loginError.textContent = '';
    try {
      me = await api('/auth/login', { method: 'POST', body: { name, password }, login: true });
      els.loginPassword.value = '';
      showConsole();
    } catch (err) {
      if (err.status === 401) els.loginError.textContent = t('errLogin');
      else if (err.status === 429) els.loginError.textContent = t('errLocked', { s: err.retryAfter || 60 });
      else els.loginError.textContent = errorText(err);
      els.loginPassword.select();
      els.loginPassword.focus();
    } finally {
      els.loginSubmit.disabled = false;
      els.loginSubmit.textContent = t('logIn');
    }
  }

  async function logout() {
    try {
      await api('/auth/logout', { method: 'POST', login: true });
    } catch { /* the cookie may already be gone; log out locally anyway */ }
    showLogin();
    announce(t('loggedOut'));
  }

  // ---------- console ----------

  function showConsole() {
    els.loginView.hidden = true;
    els.consoleView.hidden = false;
    els.whoName.textContent = me.name;
    els.whoRole.textContent = tOr('role_', me.role);
    els.report.hidden = !isSupervisor();
    els.weekly.hidden = !isSupervisor();
    selectTab('active', false);
    closeTicket(false);
    loadQueue('active');
    if (isSupervisor()) {
      loadReport();
      loadWeekly();
    }
    openEvents();
    clearInterval(pollTimer);
    pollTimer = setInterval(poll, POLL_MS);
    clearInterval(tickTimer);
    tickTimer = setInterval(tick, 1000);
    const first = els.tabs[0];
    if (document.activeElement === document.body || !document.activeElement) first.focus();
  }

  function stopLive() {
    if (events) events.close();
    events = null;
    clearTimeout(reconnectTimer);
    clearTimeout(bannerTimer);
    clearTimeout(refreshTimer);
    clearTimeout(reportTimer);
    clearInterval(pollTimer);
    clearInterval(tickTimer);
    bannerTimer = 0;
    hideBanner();
    setLive(false, true);
  }

  function poll() {
    if (!me || document.hidden) return;
    loadQueue('active', true);
    if (tab === 'resolved') loadQueue('resolved', true);
    if (isSupervisor()) loadReport();
  }

  // ---------- queue ----------

  async function loadQueue(state, quiet) {
    let data;
    try {
      data = await api(`/tickets?state=${state}`);
    } catch (err) {
      if (!quiet && err.status !== 401) showBanner(errorText(err), t('retry'), () => { hideBanner(); loadQueue(state); });
      return;
    }
    const list = Array.isArray(data.tickets) ? data.tickets : [];
    const q = queues[state];
    q.clear();
    for (const tk of list) {
      if (!tk || typeof tk.id !== 'number') continue;
      // An event may have brought a newer state while this list was on
      // its way: keep whichever is newer, in the list it belongs to.
      const n = remember(tk);
      if ((n.status === 'resolved') === (state === 'resolved')) q.set(n.id, n);
    }
    if (state === 'resolved') resolvedLoaded = true;
    renderQueue();
  }

  // remember keeps the newest known state of each ticket (by its updated
  // time) and returns it.
  function remember(tk) {
    const old = latest.get(tk.id);
    const n = old && (Date.parse(old.updated) || 0) > (Date.parse(tk.updated) || 0) ? old : tk;
    latest.set(tk.id, n);
    return n;
  }

  // queueOrder is the server's SortQueue: open before claimed, escalated
  // first, earliest deadline, highest priority, oldest. The list is sorted
  // again here because live events arrive one ticket at a time.
  function queueOrder(a, b) {
    if ((a.status === 'open') !== (b.status === 'open')) return a.status === 'open' ? -1 : 1;
    if (Boolean(a.escalated) !== Boolean(b.escalated)) return a.escalated ? -1 : 1;
    const da = Date.parse(a.deadline) || 0;
    const db = Date.parse(b.deadline) || 0;
    if (da !== db) return da - db;
    if ((a.priority || 0) !== (b.priority || 0)) return (b.priority || 0) - (a.priority || 0);
    return a.id - b.id;
  }

  function resolvedOrder(a, b) {
    return (Date.parse(b.resolved) || 0) - (Date.parse(a.resolved) || 0) || b.id - a.id;
  }

  // upsert files a ticket under the list its status belongs to.
  function upsert(ticket) {
    const tk = remember(ticket);
    if (tk.status === 'resolved') {
      queues.active.delete(tk.id);
      if (resolvedLoaded) queues.resolved.set(tk.id, tk);
    } else {
      queues.active.set(tk.id, tk);
      queues.resolved.delete(tk.id);
    }
    return tk;
  }

  function renderQueue() {
    const list = Array.from(queues[tab].values()).sort(tab === 'active' ? queueOrder : resolvedOrder);
    const focusedId = document.activeElement && document.activeElement.classList.contains('ticket-card')
      ? document.activeElement.dataset.id : null;
    const ul = els.queueList;
    ul.replaceChildren(...list.map(ticketCard));
    els.queueEmpty.hidden = list.length > 0;
    els.queueEmpty.textContent = tab === 'active' ? t('emptyActive') : t('emptyResolved');
    els.countActive.textContent = queues.active.size ? String(queues.active.size) : '';
    if (focusedId) {
      const again = ul.querySelector(`.ticket-card[data-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
    updateTitle();
    tick();
  }

  function tierBadge(tier) {
    const tr = tierOf(tier);
    return el('span', `tier tier-${tr}`, tOr('tier_', tr));
  }

  function countdown(deadline) {
    const ms = Date.parse(deadline);
    const span = el('span', 'countdown');
    if (!Number.isNaN(ms)) {
      span.dataset.deadline = String(ms);
      span.title = formatTime(deadline, true);
    }
    return span;
  }

  // tick updates every countdown on the page once a second.
  function tick() {
    const now = Date.now();
    for (const node of document.querySelectorAll('.countdown[data-deadline]')) {
      const left = Number(node.dataset.deadline) - now;
      node.textContent = left >= 0 ? t('left', { time: formatSpan(left) }) : t('overdue', { time: formatSpan(left) });
      node.classList.toggle('overdue', left < 0);
      node.classList.toggle('soon', left >= 0 && left < 5 * 60 * 1000);
    }
    for (const [id, at] of fresh) {
      if (now - at > 8000) {
        fresh.delete(id);
        const card = els.queueList.querySelector(`.ticket-card[data-id="${id}"]`);
        if (card) card.classList.remove('fresh');
      }
    }
  }

  function statusLine(tk) {
    if (tk.status === 'claimed') return tk.agent === (me && me.name) ? t('claimedByYou') : t('claimedBy', { name: tk.agent || '?' });
    return tOr('status_', tk.status);
  }

  function ticketCard(tk) {
    const li = el('li');
    const b = el('button', `ticket-card stripe-${tierOf(tk.tier)} status-${tk.status}`);
    b.type = 'button';
    b.dataset.id = String(tk.id);
    if (current && current.id === tk.id) b.setAttribute('aria-current', 'true');
    if (fresh.has(tk.id)) b.classList.add('fresh');

    const top = el('span', 'card-top');
    top.append(tierBadge(tk.tier), el('span', 'card-id', `#${tk.id}`));
    if (tk.vip) top.append(el('span', 'mark mark-vip', `★ ${t('vip')}`));
    if (tk.escalated) top.append(el('span', 'mark mark-esc', `⚑ ${t('escalated')}`));
    const right = el('span', 'card-right');
    if (tk.status === 'open') right.append(countdown(tk.deadline));
    else if (tk.status === 'resolved') right.append(el('span', 'card-when', formatTime(tk.resolved)));
    top.append(right);

    const trigger = el('span', 'card-trigger', tk.trigger || '—');
    const bits = [tk.channel, statusLine(tk)];
    if (tk.queue === 'supervisor') bits.push(t('supervisorQueue'));
    if (tk.status === 'resolved' && tk.cause) bits.push(tk.cause);
    if (tk.csat) bits.push(`CSAT ${tk.csat}`);
    const meta = el('span', 'card-meta', bits.filter(Boolean).join(' · '));

    b.append(top, trigger, meta);
    b.addEventListener('click', () => openTicket(tk.id, true));
    li.append(b);
    return li;
  }

  function selectTab(state, load = true) {
    tab = state;
    for (const b of els.tabs) {
      const on = b.dataset.state === state;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on) els.queuePanel.setAttribute('aria-labelledby', b.id);
    }
    renderQueue();
    // Resolved tickets are fetched when first asked for; after that, a
    // reload only refreshes what live events already keep current.
    if (load) loadQueue(state, state === 'resolved' && resolvedLoaded);
  }

  // ---------- report (supervisors) ----------

  async function loadReport() {
    let r;
    try {
      r = await api(`/tickets/report?days=${REPORT_DAYS}`);
    } catch {
      return; // the panel keeps its last numbers; the next poll tries again
    }
    els.repOpened.textContent = String(r.opened || 0);
    els.repResolved.textContent = String(r.resolved || 0);
    els.repSla.textContent = String(r.sla_missed || 0);
    els.repSla.classList.toggle('bad', (r.sla_missed || 0) > 0);
    els.repCsat.textContent = r.csat_count ? `${Number(r.csat_average).toFixed(1)} (${r.csat_count})` : '–';
    const causes = Array.isArray(r.top_causes) ? r.top_causes : [];
    if (!causes.length) {
      els.repCauses.replaceChildren(el('li', 'empty small', t('noCauses')));
      return;
    }
    els.repCauses.replaceChildren(...causes.map((c) => {
      const li = el('li', 'cause-row');
      li.append(el('span', 'cause-name', c.cause || '—'), el('span', 'cause-count', String(c.count || 0)));
      return li;
    }));
  }

  // The latest weekly report (care.weekly_spec): stored by the server on
  // Monday morning, fetched at login; it changes once a week.
  async function loadWeekly() {
    let r;
    try {
      r = await api('/reports/weekly?limit=1');
    } catch {
      return;
    }
    const rep = Array.isArray(r.reports) && r.reports.length ? r.reports[0] : null;
    els.wkNone.hidden = !!rep;
    els.wkStats.hidden = !rep;
    els.wkWeek.textContent = rep ? `· ${rep.week}` : '';
    if (!rep) {
      els.wkCauses.replaceChildren();
      return;
    }
    const tk = rep.tickets || {};
    const by = tk.by_tier || {};
    const pct = (v, n) => (n ? `${Number(v).toFixed(1)}% (${n})` : '–');
    const faq = rep.faq || {};
    const faqN = (faq.answered || 0) + (faq.clarified || 0) + (faq.unanswered || 0);
    els.wkOpened.textContent = String(tk.opened || 0);
    els.wkTiers.textContent = `${by.mild || 0} / ${by.moderate || 0} / ${by.severe || 0}`;
    els.wkFaq.textContent = pct(faq.rate, faqN);
    els.wkCsat.textContent = pct((rep.csat || {}).satisfied, (rep.csat || {}).responses);
    const nps = rep.nps || {};
    els.wkNps.textContent = nps.responses ? `${nps.score > 0 ? '+' : ''}${Number(nps.score).toFixed(1)} (${nps.responses})` : '–';
    const rc = rep.recall || {};
    els.wkRecall.textContent = rc.sent ? `${rc.converted}/${rc.sent}` : '–';
    const causes = Array.isArray(tk.top_causes) ? tk.top_causes : [];
    els.wkCauses.replaceChildren(...(causes.length ? causes.map((c) => {
      const li = el('li', 'cause-row');
      li.append(el('span', 'cause-name', c.cause || '—'), el('span', 'cause-count', String(c.count || 0)));
      return li;
    }) : [el('li', 'empty small', t('noCauses'))]));
  }

  function scheduleReport() {
    if (!isSupervisor()) return;
    clearTimeout(reportTimer);
    reportTimer = setTimeout(loadReport, 1000);
  }

  // ---------- live events ----------

  function setLive(on, quietly) {
    els.conn.classList.toggle('online', on);
    els.connText.textContent = on ? t('online') : t('offline');
    if (on || quietly) {
      clearTimeout(bannerTimer);
      bannerTimer = 0;
      if (on && els.bannerText.textContent === t('reconnecting')) hideBanner();
    } else if (!bannerTimer) {
      // EventSource also errors when a proxy ends a long stream and it
      // reconnects at once: only speak up if that takes a while.
      bannerTimer = setTimeout(() => { if (me) showBanner(t('reconnecting')); }, 3000);
    }
  }

  function openEvents() {
    if (events || !me || typeof window.EventSource !== 'function') return;
    clearTimeout(reconnectTimer);
    const es = new EventSource(`${API}/tickets/events`);
    events = es;
    es.addEventListener('hello', () => {
      reconnectDelay = 1000;
      setLive(true);
      // Anything may have changed before the stream (re)started.
      resync();
    });
    es.addEventListener('ticket', onTicketEvent);
    es.addEventListener('gone', onGoneEvent);
    es.addEventListener('resync', resync);
    es.addEventListener('error', () => {
      if (events !== es) return;
      setLive(false);
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up, e.g. on a 401 after the session ended: find
        // out which, and open a fresh stream later.
        es.close();
        events = null;
        scheduleReconnect();
      }
    });
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(async () => {
      if (!me || events) return;
      try {
        await api('/auth/me'); // a 401 here shows the login form
        openEvents();
      } catch (err) {
        if (err.status !== 401) scheduleReconnect();
      }
    }, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 30000);
  }

  function resync() {
    loadQueue('active', true);
    if (resolvedLoaded) loadQueue('resolved', true);
    if (current) scheduleTicketRefresh();
    scheduleReport();
  }

  function onTicketEvent(ev) {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    const tk = msg && msg.ticket;
    if (!tk || typeof tk.id !== 'number') return;
    const known = queues.active.has(tk.id);
    const now = upsert(tk);
    const kind = msg.kind;
    if (!known && now.status !== 'resolved') {
      fresh.set(tk.id, Date.now());
      const vars = { id: tk.id, tier: tOr('tier_', tierOf(tk.tier)), trigger: tk.trigger || '' };
      announce(kind === 'alert' ? t('alertTicket', vars) : t('newTicket', vars));
    }
    renderQueue();
    if (current && current.id === tk.id) scheduleTicketRefresh();
    if (kind === 'resolve' || kind === 'csat' || kind === 'open' || kind === 'reopen' || kind === 'escalate') scheduleReport();
  }

  // A ticket left this account's sight: drop it from the queue, and if it
  // is open here, say why the actions are gone.
  function onGoneEvent(ev) {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    const id = msg && msg.ticket && msg.ticket.id;
    if (typeof id !== 'number') return;
    queues.active.delete(id);
    renderQueue();
    if (current && current.id === id) {
      els.actionError.textContent = t('errTaken');
      setActions(null);
    }
  }

  // ---------- ticket view ----------

  function closeTicket(focusQueue) {
    ticketGen++;
    const was = current ? current.id : 0;
    if (current) drafts.set(current.id, els.reply.value);
    current = null;
    shownSeqs = new Set();
    document.body.classList.remove('has-ticket', 'side-open');
    els.infoToggle.setAttribute('aria-expanded', 'false');
    els.ticket.hidden = true;
    els.placeholder.hidden = false;
    renderQueue();
    if (focusQueue) {
      // Back where the agent left the queue, or at its top.
      const card = els.queueList.querySelector(`.ticket-card[data-id="${was}"]`)
        || els.queueList.querySelector('.ticket-card') || els.tabs[0];
      card.focus();
    }
  }

  async function openTicket(id, focusTitle) {
    if (current && current.id !== id) drafts.set(current.id, els.reply.value);
    const gen = ++ticketGen;
    const switching = !current || current.id !== id;
    if (switching) {
      current = { id, view: null, rendered: false };
      shownSeqs = new Set();
      els.reply.value = drafts.get(id) || '';
      autoGrow();
      // Nothing of the previous ticket may linger while this one loads.
      els.messages.replaceChildren();
      els.suggestions.hidden = true;
      setActions(null);
    }
    document.body.classList.add('has-ticket');
    els.placeholder.hidden = true;
    els.ticket.hidden = false;
    els.actionError.textContent = '';
    els.ticket.setAttribute('aria-busy', 'true');
    if (switching) {
      els.title.textContent = t('ticketTitle', { id });
      els.meta.textContent = t('loading');
    }
    renderQueue();
    let v;
    try {
      v = await api(`/tickets/${id}`);
    } catch (err) {
      if (gen !== ticketGen) return;
      els.ticket.removeAttribute('aria-busy');
      els.meta.textContent = '';
      els.actionError.textContent = errorText(err);
      setActions(null);
      return;
    }
    if (gen !== ticketGen) return;
    renderTicket(v);
    els.ticket.removeAttribute('aria-busy');
    if (focusTitle) els.title.focus();
  }

  // scheduleTicketRefresh refetches the open ticket soon, coalescing a
  // burst of events (a reply publishes, then the customer answers) into
  // one request and never running two at once.
  function scheduleTicketRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshTicket, 120);
  }

  async function refreshTicket() {
    if (!current) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    const gen = ticketGen;
    const id = current.id;
    try {
      const v = await api(`/tickets/${id}`);
      if (gen === ticketGen) renderTicket(v);
    } catch (err) {
      if (gen === ticketGen && (err.status === 403 || err.status === 404)) {
        // Out of this account's sight now: a colleague claimed it, or it
        // was transferred or escalated to the supervisors.
        els.actionError.textContent = t('errTaken');
        setActions(null);
        queues.active.delete(id);
        renderQueue();
      }
    } finally {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleTicketRefresh();
      }
    }
  }

  // permissions mirrors handoff.CanWork and the claimed-by-someone-else
  // rule of Reply and Resolve, so the console offers only what will work.
  function permissions(tk) {
    const name = me ? me.name : '';
    const sup = isSupervisor();
    const active = tk.status !== 'resolved';
    const canWork = sup || tk.agent === name || (!tk.agent && tk.queue === 'agent');
    const heldByOther = tk.status === 'claimed' && tk.agent !== name && !sup;
    return {
      claim: active && tk.status === 'open' && canWork,
      transfer: active && canWork && !heldByOther,
      resolve: active && canWork && !heldByOther,
      reply: active && canWork && !heldByOther,
      why: !active ? t('readOnlyResolved')
        : tk.status === 'claimed' && tk.agent !== name ? t('readOnlyOther', { name: tk.agent })
          : !canWork ? t('readOnlyQueue') : '',
    };
  }

  function setActions(p) {
    els.claim.hidden = !(p && p.claim);
    els.transfer.hidden = !(p && p.transfer);
    // A coupon needs the loyalty programme (it lists what may be given).
    els.compensate.hidden = !(p && p.reply && els.compensateRight.options.length > 1);
    els.resolve.hidden = !(p && p.resolve);
    const canReply = Boolean(p && p.reply);
    els.reply.disabled = !canReply;
    els.reply.placeholder = canReply ? t('replyPlaceholder') : (p && p.why) || '';
    updateSend();
    for (const b of els.suggList.querySelectorAll('button')) b.disabled = !canReply;
  }

  function renderTicket(v) {
    if (!v || !v.ticket || !current) return;
    const tk = v.ticket;
    current.view = v;
    // The first rendering of a ticket draws its whole conversation; later
    // ones add only the messages that are new.
    const full = !current.rendered;
    current.rendered = true;
    upsert(stripEvents(tk));
    renderQueue();

    els.title.replaceChildren(el('span', 'title-text', t('ticketTitle', { id: tk.id })), tierBadge(tk.tier));
    if (tk.vip) els.title.append(el('span', 'mark mark-vip', `★ ${t('vip')}`));
    if (tk.escalated) els.title.append(el('span', 'mark mark-esc', `⚑ ${t('escalated')}`));
    els.ticket.dataset.status = tk.status;

    const meta = [el('span', `state state-${tk.status}`, statusLine(tk)), el('span', null, tk.channel || '')];
    if (tk.queue === 'supervisor') meta.push(el('span', null, t('supervisorQueue')));
    if (tk.status === 'open') meta.push(countdown(tk.deadline));
    if (tk.status === 'resolved' && tk.cause) meta.push(el('span', null, tk.cause));
    els.meta.replaceChildren(...meta.flatMap((n, i) => (i ? [el('span', 'sep', '·'), n] : [n])));
    for (const s of els.meta.querySelectorAll('.sep')) s.setAttribute('aria-hidden', 'true');

    renderMessages(Array.isArray(v.messages) ? v.messages : [], full, tk.id);
    renderSuggestions(Array.isArray(v.suggestions) ? v.suggestions : []);
    fillRights(Array.isArray(v.compensations) ? v.compensations : []);
    setActions(permissions(tk));
    renderFacts(tk);
    renderMember(v.member || {});
    renderPast(Array.isArray(v.history) ? v.history : []);
    fillCauses(Array.isArray(v.causes) ? v.causes : [], tk.cause);
    tick();
  }

  const stripEvents = (tk) => ({ ...tk, events: null });

  // ---------- conversation ----------

  function nearBottom() {
    const s = els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  function renderMessages(msgs, full, ticketId) {
    const sorted = msgs.slice().sort((a, b) => (a.seq || 0) - (b.seq || 0));
    if (full) {
      // A fresh live region: a screen reader announces additions to a
      // region, not a region that appears already filled, so opening a
      // ticket does not read its whole history aloud.
      const list = els.messages.cloneNode(false);
      for (const m of sorted) {
        list.append(messageItem(m, ticketId));
        shownSeqs.add(m.seq);
      }
      els.messages.replaceWith(list);
      els.messages = list;
      els.scroller.scrollTop = els.scroller.scrollHeight;
      return;
    }
    const wasNear = nearBottom();
    let added = 0;
    let fromCustomer = false;
    for (const m of sorted) {
      if (shownSeqs.has(m.seq)) {
        // A message shown before may since have failed for good.
        const li = els.messages.querySelector(`li[data-seq="${Number(m.seq)}"]`);
        if (li) deliveryNote(li, m);
        continue;
      }
      shownSeqs.add(m.seq);
      els.messages.append(messageItem(m, ticketId));
      added++;
      if (m.dir === 'in') fromCustomer = true;
    }
    if (!added) return;
    if (wasNear) els.scroller.scrollTop = els.scroller.scrollHeight;
    else if (fromCustomer) announce(t('newCustomerMessage'));
  }

  function messageItem(m, ticketId) {
    const inbound = m.dir === 'in';
    const byAgent = !inbound && Boolean(m.agent);
    const li = el('li', `msg ${inbound ? 'from-customer' : byAgent ? 'from-agent' : 'from-bot'}`);
    if (typeof m.seq === 'number') li.dataset.seq = String(m.seq);
    if (m.ticket && m.ticket === ticketId) li.classList.add('this-ticket');
    const emo = inbound && m.emotion && typeof m.emotion === 'object' ? m.emotion : null;
    if (emo) li.classList.add(`emo-${colourOf(emo.colour)}`);

    const head = el('div', 'msg-head');
    head.append(el('span', 'msg-who', inbound ? t('customer') : byAgent ? m.agent : t('bot')));
    const when = el('time', 'msg-time', formatTime(m.time));
    if (m.time) when.dateTime = m.time;
    head.append(when);
    li.append(head);

    const text = typeof m.text === 'string' && m.text ? m.text : m.payload || '';
    li.append(el('div', 'bubble', text));
    deliveryNote(li, m);

    if (emo) {
      const line = el('div', 'emo');
      line.append(el('span', 'emo-dot'), el('span', 'emo-label', `${tOr('emo_', emo.label)} ${formatValue(emo.value)}`));
      if (tierOf(emo.tier) !== 'none') line.append(tierBadge(emo.tier));
      li.append(line);
      const cues = cueChips(emo.cues);
      if (cues) li.append(cues);
    }
    return li;
  }

  // deliveryNote marks an outgoing message that could not be delivered
  // (outside WeChat's 48-hour window, a blocked bot) with the reason, and a
  // follow-up that is scheduled for later.
  function deliveryNote(li, m) {
    if (li.querySelector('.delivery-note')) return;
    if (m.delivery === 'dead') {
      li.classList.add('undelivered');
      li.append(el('p', 'delivery-note', t('undelivered', { reason: m.delivery_error || '' })));
    } else if (m.send_at && m.delivery === 'pending') {
      li.append(el('p', 'delivery-note scheduled', t('scheduled', { when: formatTime(m.send_at) })));
    }
  }

  function cueChips(cues) {
    if (!Array.isArray(cues) || !cues.length) return null;
    const ul = el('ul', 'cue-list');
    for (const c of cues) {
      if (!c || !c.text) continue;
      const kind = String(c.kind || '');
      const li = el('li', `cue cue-${/^[a-z]+$/.test(kind) ? kind : 'other'}`, `${c.text} (${tOr('kind_', kind) || kind})`);
      if (typeof c.weight === 'number') li.title = `${kind} ${formatValue(c.weight)}`;
      ul.append(li);
    }
    return ul.childElementCount ? ul : null;
  }

  // ---------- suggestions and reply ----------

  function renderSuggestions(list) {
    els.suggList.replaceChildren(...list.filter((s) => s && s.answer).map((s) => {
      const b = el('button', 'sugg');
      b.type = 'button';
      b.append(el('span', 'sugg-q', s.question || s.entry || ''), el('span', 'sugg-a', s.answer));
      b.title = s.answer;
      b.addEventListener('click', () => useSuggestion(s.answer));
      return b;
    }));
    els.suggestions.hidden = els.suggList.childElementCount === 0;
  }

  function useSuggestion(answer) {
    if (els.reply.disabled) return;
    const cur = els.reply.value.trimEnd();
    els.reply.value = cur ? `${cur}\n${answer}` : answer;
    autoGrow();
    updateSend();
    els.reply.focus();
    els.reply.setSelectionRange(els.reply.value.length, els.reply.value.length);
  }

  function autoGrow() {
    const ta = els.reply;
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight + 2, 200)}px`;
  }

  function updateSend() {
    els.send.disabled = busy || els.reply.disabled || !els.reply.value.trim();
  }

  async function sendReply() {
    if (!current || busy || els.reply.disabled) return;
    const text = els.reply.value.trim();
    if (!text) return;
    const id = current.id;
    const ok = await act(`/tickets/${id}/messages`, { text });
    if (ok && current && current.id === id) {
      els.reply.value = '';
      drafts.delete(id);
      autoGrow();
      updateSend();
      els.reply.focus();
    }
  }

  // act posts one ticket action and refreshes the ticket. It returns the
  // changed ticket, or null after showing why it failed.
  async function act(path, body, errorNode) {
    if (busy || !current) return null;
    const id = current.id;
    busy = true;
    updateSend();
    const buttons = [els.claim, els.transfer, els.resolve, els.compensate, els.transferSubmit, els.resolveSubmit, els.compensateSubmit];
    for (const b of buttons) b.disabled = true;
    const target = errorNode || els.actionError;
    target.textContent = '';
    try {
      const data = await api(path, { method: 'POST', body });
      if (data.ticket) upsert(stripEvents(data.ticket));
      renderQueue();
      if (current && current.id === id) scheduleTicketRefresh();
      return data.ticket || {};
    } catch (err) {
      target.textContent = errorText(err);
      if (err.status === 409 || err.status === 403 || err.status === 404) {
        // Someone else acted first: show the ticket as it is now.
        loadQueue('active', true);
        if (current && current.id === id) scheduleTicketRefresh();
      }
      return null;
    } finally {
      busy = false;
      for (const b of buttons) b.disabled = false;
      updateSend();
    }
  }

  async function claim() {
    if (!current) return;
    const id = current.id;
    if (await act(`/tickets/${id}/claim`)) {
      announce(t('claimed', { id }));
      if (!els.reply.disabled) els.reply.focus();
    }
  }

  // ---------- dialogs ----------

  function openDialog(dialog, focus) {
    dialog.returnFocus = document.activeElement;
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    focus.focus();
  }

  function closeDialog(dialog) {
    if (typeof dialog.close === 'function' && dialog.open) dialog.close();
    else dialog.removeAttribute('open');
  }

  for (const dialog of [els.transferDialog, els.resolveDialog, els.compensateDialog]) {
    dialog.addEventListener('close', () => {
      // Back to the button that opened the dialog; if the action hid it
      // (a resolved ticket has no Resolve button), to the ticket's title.
      const back = dialog.returnFocus;
      dialog.returnFocus = null;
      if (back && back.getClientRects().length) back.focus();
      else if (current && !els.ticket.hidden) els.title.focus();
    });
    for (const b of dialog.querySelectorAll('[data-close]')) b.addEventListener('click', () => closeDialog(dialog));
  }

  function fillCauses(causes, chosen) {
    const keep = els.resolveCause.value;
    const opts = [el('option', null, t('chooseCause'))];
    opts[0].value = '';
    for (const c of causes) {
      const o = el('option', null, c);
      o.value = c;
      opts.push(o);
    }
    els.resolveCause.replaceChildren(...opts);
    const pick = keep || chosen || '';
    els.resolveCause.value = causes.includes(pick) ? pick : '';
  }

  // fillRights lists the coupons an agent may give, named in the UI's
  // language.
  function fillRights(rights) {
    const keep = els.compensateRight.value;
    const opts = [el('option', null, t('chooseRight'))];
    opts[0].value = '';
    for (const r of rights) {
      const names = r.name || {};
      const o = el('option', null, (locale === 'zh' ? names['zh-Hans'] : names.en) || names['zh-Hans'] || r.id);
      o.value = r.id;
      opts.push(o);
    }
    els.compensateRight.replaceChildren(...opts);
    els.compensateRight.value = rights.some((r) => r.id === keep) ? keep : '';
  }

  async function submitCompensate() {
    if (!current) return;
    const right = els.compensateRight.value;
    if (!right) {
      els.compensateError.textContent = t('errRight');
      els.compensateRight.focus();
      return;
    }
    const id = current.id;
    const ticket = await act(`/tickets/${id}/compensate`, { right }, els.compensateError);
    if (!ticket) return;
    closeDialog(els.compensateDialog);
    announce(t('compensated', { id }));
  }

  async function submitTransfer() {
    if (!current) return;
    const id = current.id;
    const ticket = await act(`/tickets/${id}/transfer`, { note: els.transferNote.value.trim() }, els.transferError);
    if (!ticket) return;
    els.transferNote.value = '';
    closeDialog(els.transferDialog);
    announce(t('transferred', { id }));
    // An agent loses sight of a ticket handed to the supervisors.
    if (!isSupervisor()) {
      queues.active.delete(id);
      drafts.delete(id);
      closeTicket(true);
    }
  }

  async function submitResolve() {
    if (!current) return;
    const cause = els.resolveCause.value;
    if (!cause) {
      els.resolveError.textContent = t('errCause');
      els.resolveCause.focus();
      return;
    }
    const id = current.id;
    const ticket = await act(`/tickets/${id}/resolve`, { cause, note: els.resolveNote.value.trim() }, els.resolveError);
    if (!ticket) return;
    els.resolveNote.value = '';
    drafts.delete(id);
    closeDialog(els.resolveDialog);
    announce(t('resolvedDone', { id }));
    scheduleReport();
  }

  // ---------- side panel ----------

  function fact(dl, key, value, className) {
    if (value === undefined || value === null || value === '' || value === 0) return null;
    const wrap = el('div', 'fact');
    const dd = el('dd', className, value);
    dd.dataset.field = key;
    wrap.append(el('dt', null, t(`f_${key}`)), dd);
    dl.append(wrap);
    return dd;
  }

  function renderFacts(tk) {
    const dl = els.facts;
    dl.replaceChildren();
    fact(dl, 'status', tOr('status_', tk.status));
    fact(dl, 'queue', tOr('queue_', tk.queue));
    fact(dl, 'reason', tOr('reason_', tk.reason));
    fact(dl, 'trigger', tk.trigger, 'quote');
    fact(dl, 'created', formatTime(tk.created, true));
    if (tk.status === 'open') fact(dl, 'deadline', formatTime(tk.deadline, true));
    fact(dl, 'agent', tk.agent);
    fact(dl, 'claimed', formatTime(tk.claimed, true));
    fact(dl, 'resolved', formatTime(tk.resolved, true));
    fact(dl, 'cause', tk.cause);
    fact(dl, 'intervention', tk.intervention);
    fact(dl, 'outcome', tk.outcome);
    fact(dl, 'csat', tk.csat ? `${tk.csat} / 5` : '', 'csat');
    // Go writes durations as "24h0m0s"; "24h" says the same.
    const span = (d) => String(d).replace(/(\d)m0s$/, '$1m').replace(/(\d)h0m$/, '$1h');
    fact(dl, 'follow_ups', Array.isArray(tk.follow_ups) ? tk.follow_ups.map(span).join(', ') : '');
    fact(dl, 'reopened', tk.reopened);
    fact(dl, 'relapses', tk.relapses);
    const chips = cueChips(tk.cues);
    els.cues.replaceChildren(...(chips ? [chips] : []));

    const evs = Array.isArray(tk.events) ? tk.events : [];
    els.timeline.replaceChildren(...evs.map((e) => {
      const li = el('li', `ev ev-${/^[a-z]+$/.test(e.kind) ? e.kind : 'other'}`);
      const head = el('span', 'ev-head');
      const when = el('time', 'ev-time', formatTime(e.time));
      if (e.time) when.dateTime = e.time;
      head.append(when, el('span', 'ev-kind', tOr('ev_', e.kind)));
      if (e.by) head.append(el('span', 'ev-by', e.by));
      li.append(head);
      // An opening's note is the rule that fired, perhaps with "; supervisor
      // alerted": say the rule in the console's language.
      if (e.note) {
        const [rule, ...rest] = String(e.note).split('; ');
        const said = e.kind === 'open' || e.kind === 'reopen' ? [tOr('reason_', rule), ...rest].join('; ') : e.note;
        li.append(el('span', 'ev-note', said));
      }
      return li;
    }));
  }

  function renderMember(m) {
    const dl = els.memberFacts;
    dl.replaceChildren();
    fact(dl, 'channel', m.channel);
    fact(dl, 'chat_id', m.chat_id, 'mono');
    fact(dl, 'user_id', m.user_id, 'mono');
    fact(dl, 'member', m.member);
    fact(dl, 'member_tier', m.member_tier);
    fact(dl, 'locale', m.locale);
    fact(dl, 'since', formatTime(m.since, true));
    fact(dl, 'messages', m.messages);
    if (typeof m.emotion === 'number') {
      const v = m.emotion;
      fact(dl, 'emotion', formatValue(v), v <= -0.5 ? 'emo-text-red' : v < -0.1 ? 'emo-text-yellow' : 'emo-text-green');
    }
    fact(dl, 'tickets', m.tickets);
  }

  function renderPast(history) {
    els.past.replaceChildren(...history.map((h) => {
      const li = el('li');
      const b = el('button', 'past-item');
      b.type = 'button';
      const top = el('span', 'past-top');
      top.append(el('span', 'card-id', `#${h.id}`), tierBadge(h.tier), el('span', 'past-status', tOr('status_', h.status)));
      if (h.csat) top.append(el('span', 'past-csat', `CSAT ${h.csat}`));
      const bits = [formatTime(h.created, true), h.cause].filter(Boolean).join(' · ');
      b.append(top, el('span', 'past-trigger', h.trigger || '—'), el('span', 'past-meta', bits));
      b.addEventListener('click', () => openTicket(h.id, true));
      li.append(b);
      return li;
    }));
    els.pastEmpty.hidden = history.length > 0;
  }

  function setSide(open) {
    document.body.classList.toggle('side-open', open);
    els.infoToggle.setAttribute('aria-expanded', String(open));
    if (open) els.sideClose.focus();
    else els.infoToggle.focus();
  }

  // ---------- wiring ----------

  els.loginForm.addEventListener('submit', (e) => {
    e.preventDefault();
    login();
  });
  els.logout.addEventListener('click', logout);

  for (const b of els.tabs) {
    b.addEventListener('click', () => selectTab(b.dataset.state));
    b.addEventListener('keydown', (e) => {
      // Arrow keys move between tabs, as the ARIA tabs pattern expects.
      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight' && e.key !== 'Home' && e.key !== 'End') return;
      e.preventDefault();
      const i = els.tabs.indexOf(b);
      const n = els.tabs.length;
      const next = e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : (i + (e.key === 'ArrowRight' ? 1 : n - 1)) % n;
      els.tabs[next].focus();
      selectTab(els.tabs[next].dataset.state);
    });
  }

  els.back.addEventListener('click', () => closeTicket(true));
  els.claim.addEventListener('click', claim);
  els.transfer.addEventListener('click', () => {
    els.transferError.textContent = '';
    openDialog(els.transferDialog, els.transferNote);
  });
  els.compensate.addEventListener('click', () => {
    els.compensateError.textContent = '';
    openDialog(els.compensateDialog, els.compensateRight);
  });
  els.compensateForm.addEventListener('submit', (e) => {
    e.preventDefault();
    submitCompensate();
  });
  els.resolve.addEventListener('click', () => {
    els.resolveError.textContent = '';
    openDialog(els.resolveDialog, els.resolveCause);
  });
  els.transferForm.addEventListener('submit', (e) => {
    e.preventDefault();
    submitTransfer();
  });
  els.resolveForm.addEventListener('submit', (e) => {
    e.preventDefault();
    submitResolve();
  });
  els.infoToggle.addEventListener('click', () => setSide(!document.body.classList.contains('side-open')));
  els.sideClose.addEventListener('click', () => setSide(false));

  els.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    sendReply();
  });
  els.reply.addEventListener('keydown', (e) => {
    // Never send while an input method (pinyin, zhuyin…) is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendReply();
    }
  });
  // While the agent writes, the customer sees "typing…" (where the
  // platform has it); one signal every few seconds is enough.
  let lastTyping = 0;
  function signalTyping() {
    if (!current || els.reply.disabled || !els.reply.value.trim()) return;
    const now = Date.now();
    if (now - lastTyping < 4000) return;
    lastTyping = now;
    api(`/tickets/${current.id}/typing`, { method: 'POST' }).catch(() => {});
  }

  els.reply.addEventListener('input', () => {
    autoGrow();
    updateSend();
    signalTyping();
  });

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.body.classList.contains('side-open')) setSide(false);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && me) poll();
  });
  window.addEventListener('online', () => {
    if (me && !events) {
      reconnectDelay = 1000;
      scheduleReconnect();
    }
  });

  // ---------- start ----------

  applyLocale();
  (async () => {
    try {
      me = await api('/auth/me', { login: true });
      if (!me.csrf) throw new ApiError(401); // a token, not a browser session
      showConsole();
    } catch (err) {
      me = null;
      showLogin(err.status === 401 ? '' : errorText(err));
    }
  })();
})();
