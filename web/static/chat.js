// carebot web chat. Vanilla ES2020, no dependencies, same-origin only.
//
// Server text is only ever written with textContent (never parsed as HTML), so
// whatever a message contains it cannot inject markup.
'use strict';

(() => {
  const API = '/api/v1/webchat';
  const MAX_CHARS = 2000;
  const SESSION_KEY = 'carebot.session';
  const LOCALE_KEY = 'carebot.locale';
  const LOCALES = ['zh-Hans', 'zh-Hant', 'en'];
  const SEND_TIMEOUT_MS = 30000;
  const DIVIDER_GAP_MS = 10 * 60 * 1000;

  const STRINGS = {
    'zh-Hans': {
      subtitle: '在线客服',
      language: '语言',
      log: '聊天记录',
      messageLabel: '消息',
      placeholder: '输入消息…',
      send: '发送',
      hint: 'Enter 发送 · Shift+Enter 换行',
      welcome: '您好！我是 Lumen Shop 的客服助手 carebot。请问有什么可以帮您？',
      typing: 'carebot 正在输入…',
      you: '我：',
      bot: 'carebot：',
      jump: '新消息',
      sending: '发送中…',
      retry: '重试',
      reconnecting: '连接已断开，正在重新连接…',
      historyFailed: '无法加载聊天记录。',
      errNetwork: '发送失败，请检查网络连接。',
      errRate: '发送太频繁，请稍后再试。',
      errTooLong: '消息太长，无法发送。',
      errBad: '这条消息无法发送。',
      errServer: '服务暂时不可用，请稍后再试。',
      quickReplies: '快捷回复',
    },
    'zh-Hant': {
      subtitle: '線上客服',
      language: '語言',
      log: '聊天記錄',
      messageLabel: '訊息',
      placeholder: '輸入訊息…',
      send: '傳送',
      hint: 'Enter 傳送 · Shift+Enter 換行',
      welcome: '您好！我是 Lumen Shop 的客服助理 carebot。請問有什麼可以幫您？',
      typing: 'carebot 正在輸入…',
      you: '我：',
      bot: 'carebot：',
      jump: '新訊息',
      sending: '傳送中…',
      retry: '重試',
      reconnecting: '連線中斷，正在重新連線…',
      historyFailed: '無法載入聊天記錄。',
      errNetwork: '傳送失敗，請檢查網路連線。',
      errRate: '傳送太頻繁，請稍後再試。',
      errTooLong: '訊息太長，無法傳送。',
      errBad: '這則訊息無法傳送。',
      errServer: '服務暫時無法使用，請稍後再試。',
      quickReplies: '快速回覆',
    },
    en: {
      subtitle: 'Customer care',
      language: 'Language',
      log: 'Conversation',
      messageLabel: 'Message',
      placeholder: 'Type a message…',
      send: 'Send',
      hint: 'Enter to send · Shift+Enter for a new line',
      welcome: "Hi! I'm carebot, Lumen Shop's assistant. How can I help you today?",
      typing: 'carebot is typing…',
      you: 'You: ',
      bot: 'carebot: ',
      jump: 'New messages',
      sending: 'Sending…',
      retry: 'Retry',
      reconnecting: 'Connection lost. Reconnecting…',
      historyFailed: "Couldn't load the conversation.",
      errNetwork: "Couldn't send. Check your connection.",
      errRate: "You're sending too fast. Please wait a moment.",
      errTooLong: 'This message is too long to send.',
      errBad: "This message couldn't be sent.",
      errServer: 'Something went wrong on our side. Please try again.',
      quickReplies: 'Quick replies',
    },
  };

  // ---------- small utilities ----------

  const $ = (id) => document.getElementById(id);

  const store = {
    get(key) {
      try { return window.localStorage.getItem(key); } catch { return null; }
    },
    set(key, value) {
      try { window.localStorage.setItem(key, value); } catch { /* private mode: keep in memory only */ }
    },
  };

  // newId returns a random id of [A-Za-z0-9-], 32–36 chars, valid both as a
  // session id and as a client message id.
  function newId() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    const bytes = new Uint8Array(16);
    if (c && typeof c.getRandomValues === 'function') {
      c.getRandomValues(bytes);
    } else {
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  const ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

  function pickLocale() {
    const saved = store.get(LOCALE_KEY);
    if (LOCALES.includes(saved)) return saved;
    const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (const raw of langs) {
      const l = String(raw).toLowerCase();
      if (/^zh-(tw|hk|mo|hant)\b/.test(l) || l.startsWith('zh-hant')) return 'zh-Hant';
      if (l.startsWith('zh')) return 'zh-Hans';
      if (l.startsWith('en')) return 'en';
    }
    return 'en';
  }

  const finePointer = () => Boolean(window.matchMedia && window.matchMedia('(pointer: fine)').matches);

  // ---------- state ----------

  let locale = pickLocale();
  let session = store.get(SESSION_KEY);
  if (!session || !ID_RE.test(session)) {
    session = newId();
    store.set(SESSION_KEY, session);
  }

  const seen = new Set(); // seqs already on screen
  let sessionKnown = false; // the server has this session (history 200 or a POST succeeded)
  let inflight = false;
  let pendingEvents = []; // SSE messages held back while a POST is in flight
  let events = null; // EventSource
  let reconnectTimer = 0;
  let reconnectDelay = 1000;
  let bannerTimer = 0;
  let lastMsgTime = 0;
  let lastSender = '';

  const t = (key) => (STRINGS[locale] && STRINGS[locale][key]) || STRINGS.en[key] || key;

  // ---------- DOM ----------

  const els = {
    list: $('messages'),
    scroller: $('scroller'),
    form: $('composer'),
    input: $('input'),
    send: $('send'),
    counter: $('counter'),
    locale: $('locale'),
    banner: $('banner'),
    bannerText: $('banner-text'),
    bannerAction: $('banner-action'),
    jump: $('jump'),
    dot: $('status-dot'),
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function applyLocale() {
    document.documentElement.lang = locale;
    els.locale.value = locale;
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-placeholder]')) node.placeholder = t(node.dataset.i18nPlaceholder);
    for (const node of document.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
    for (const node of document.querySelectorAll('[data-time]')) node.textContent = formatTime(new Date(Number(node.dataset.time)), node.classList.contains('divider-text'));
    document.title = `Lumen Shop · carebot`;
    updateCounter();
  }

  function formatTime(date, withDay) {
    const now = new Date();
    const sameDay = date.toDateString() === now.toDateString();
    const opts = { hour: '2-digit', minute: '2-digit' };
    if (withDay && !sameDay) {
      opts.month = 'short';
      opts.day = 'numeric';
      if (date.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
    }
    try {
      return new Intl.DateTimeFormat(locale, opts).format(date);
    } catch {
      return date.toLocaleString();
    }
  }

  // ---------- scrolling ----------

  function nearBottom() {
    const s = els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  // scrollToBottom jumps without smooth scrolling on purpose: a smooth
  // scroll still under way would make nearBottom() wrong for the next
  // message, and new bubbles already fade in.
  function scrollToBottom() {
    const s = els.scroller;
    s.scrollTop = s.scrollHeight;
    els.jump.hidden = true;
  }

  // afterAppend keeps the view pinned to the bottom when the reader was
  // there (or when forced), and otherwise offers a "new messages" button.
  function afterAppend(wasNearBottom, force) {
    if (force || wasNearBottom) scrollToBottom();
    else els.jump.hidden = false;
  }

  // ---------- rendering ----------

  // typingItem is the "carebot is typing…" bubble; it always stays last.
  let typingItem = null;

  function appendItem(item) {
    if (typingItem && typingItem.parentNode === els.list) els.list.insertBefore(item, typingItem);
    else els.list.appendChild(item);
  }

  function maybeDivider(time) {
    const ms = time.getTime();
    if (lastMsgTime && ms - lastMsgTime < DIVIDER_GAP_MS) {
      lastMsgTime = Math.max(lastMsgTime, ms);
      return;
    }
    lastMsgTime = Math.max(lastMsgTime, ms);
    const li = el('li', 'divider');
    li.setAttribute('aria-hidden', 'true');
    const span = el('span', 'divider-text', formatTime(time, true));
    span.dataset.time = String(ms);
    li.appendChild(span);
    appendItem(li);
    lastSender = '';
  }

  // botAvatar is a small copy of the header's logo, shown beside bot messages.
  function botAvatar() {
    const av = el('span', 'avatar avatar-sm');
    av.setAttribute('aria-hidden', 'true');
    const logo = document.querySelector('.avatar-lg svg');
    if (logo) {
      const svg = logo.cloneNode(true);
      svg.setAttribute('width', '16');
      svg.setAttribute('height', '16');
      av.appendChild(svg);
    }
    return av;
  }

  function parseTime(s) {
    const d = s ? new Date(s) : new Date();
    return Number.isNaN(d.getTime()) ? new Date() : d;
  }

  // renderMessage builds and appends one message. dir is "in" (customer)
  // or "out" (carebot or a human agent).
  function renderMessage({ seq, dir, text, buttons, image, time }, opts = {}) {
    const fromCustomer = dir === 'in';
    const date = parseTime(time);
    maybeDivider(date);

    const sender = fromCustomer ? 'customer' : 'bot';
    const li = el('li', `msg from-${sender}`);
    if (lastSender === sender) li.classList.add('cont');
    lastSender = sender;
    if (typeof seq === 'number') li.dataset.seq = String(seq);
    if (opts.className) li.classList.add(opts.className);

    if (!fromCustomer) {
      li.appendChild(botAvatar());
    }

    const body = el('div', 'msg-body');
    if (!fromCustomer && typeof image === 'string' && /^https:\/\//.test(image)) {
      const img = el('img', 'msg-image');
      img.src = image;
      img.alt = '';
      img.loading = 'lazy';
      // A picture that fails to load is left out rather than shown broken.
      img.addEventListener('error', () => img.remove());
      body.appendChild(img);
    }
    const hasText = typeof text === 'string' && text.length > 0;
    if (hasText || opts.i18n) {
      const bubble = el('div', 'bubble');
      bubble.title = formatTime(date, true);
      const who = el('span', 'sr-only', fromCustomer ? t('you') : t('bot'));
      who.dataset.i18n = fromCustomer ? 'you' : 'bot';
      bubble.appendChild(who);
      const span = el('span', 'text', hasText ? text : t(opts.i18n));
      if (opts.i18n) span.dataset.i18n = opts.i18n;
      bubble.appendChild(span);
      body.appendChild(bubble);
    }

    if (!fromCustomer && Array.isArray(buttons) && buttons.length) {
      const chips = el('div', 'chips');
      chips.setAttribute('role', 'group');
      chips.setAttribute('aria-label', t('quickReplies'));
      for (const b of buttons) {
        if (!b || typeof b.label !== 'string' || !b.label) continue;
        if (typeof b.url === 'string' && /^https:\/\//.test(b.url)) {
          // A link opens in a new tab; it is not something said in the chat.
          const a = el('a', 'chip chip-link', b.label);
          a.href = b.url;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          chips.appendChild(a);
          continue;
        }
        const chip = el('button', 'chip', b.label);
        chip.type = 'button';
        chip.disabled = inflight;
        chip.addEventListener('click', () => {
          if (inflight) return;
          sendMessage({ payload: typeof b.payload === 'string' ? b.payload : b.label, label: b.label });
          // The chip is disabled now and would drop keyboard focus: hand it to
          // the input (not on touch screens, where that pops the keyboard up).
          if (finePointer()) els.input.focus();
        });
        chips.appendChild(chip);
      }
      if (chips.childElementCount) body.appendChild(chips);
    }

    li.appendChild(body);
    appendItem(li);
    return li;
  }

  // showMessages renders server messages not yet on screen, in seq order.
  function showMessages(list) {
    const fresh = list
      .filter((m) => m && typeof m.seq === 'number' && !seen.has(m.seq))
      .sort((a, b) => a.seq - b.seq);
    let shown = false;
    for (const m of fresh) {
      if (seen.has(m.seq)) continue; // the same seq twice in one batch
      seen.add(m.seq);
      renderMessage(m);
      shown = true;
    }
    return shown;
  }

  function removeWelcome() {
    for (const node of els.list.querySelectorAll('.welcome')) node.remove();
  }

  function showWelcome() {
    if (els.list.querySelector('.welcome')) return;
    renderMessage({ dir: 'out', text: '' }, { i18n: 'welcome', className: 'welcome' });
  }

  function setTyping(on) {
    if (on && !typingItem) {
      const wasNear = nearBottom();
      typingItem = el('li', 'msg from-bot typing cont');
      if (lastSender !== 'bot') typingItem.classList.remove('cont');
      typingItem.appendChild(botAvatar());
      const bubble = el('div', 'bubble');
      const dots = el('span', 'dots');
      dots.setAttribute('aria-hidden', 'true');
      for (let i = 0; i < 3; i++) dots.appendChild(el('span', 'dot'));
      bubble.appendChild(dots);
      const label = el('span', 'sr-only', t('typing'));
      label.dataset.i18n = 'typing';
      bubble.appendChild(label);
      typingItem.appendChild(bubble);
      els.list.appendChild(typingItem);
      afterAppend(wasNear, false);
    } else if (!on && typingItem) {
      typingItem.remove();
      typingItem = null;
    }
  }

  function setBusy(on) {
    inflight = on;
    els.form.setAttribute('aria-busy', on ? 'true' : 'false');
    for (const chip of els.list.querySelectorAll('.chip')) chip.disabled = on;
    for (const b of els.list.querySelectorAll('.retry')) b.disabled = on;
    updateSendButton();
  }

  function updateSendButton() {
    els.send.disabled = inflight || els.input.value.trim() === '';
  }

  function updateCounter() {
    const n = els.input.value.length;
    if (n >= MAX_CHARS - 200) {
      els.counter.textContent = `${n}/${MAX_CHARS}`;
      els.counter.classList.toggle('at-limit', n >= MAX_CHARS);
    } else {
      els.counter.textContent = '';
    }
  }

  function autoGrow() {
    const ta = els.input;
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight, 160)}px`;
    ta.classList.toggle('scrolling', ta.scrollHeight > 160);
  }

  // ---------- banner ----------

  function showBanner(key, actionKey, action) {
    els.bannerText.dataset.i18n = key;
    els.bannerText.textContent = t(key);
    if (actionKey) {
      els.bannerAction.dataset.i18n = actionKey;
      els.bannerAction.textContent = t(actionKey);
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
    constructor(status, message, field) {
      super(message || `HTTP ${status}`);
      this.status = status; // 0 means the network failed or timed out
      this.field = field;
    }
  }

  async function api(path, init = {}, timeoutMs = SEND_TIMEOUT_MS) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    let res;
    try {
      res = await fetch(path, {
        ...init,
        signal: ctrl.signal,
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'application/json', ...(init.headers || {}) },
      });
    } catch {
      throw new ApiError(0);
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) throw new ApiError(res.status, data && data.error, data && data.field);
    if (!data || typeof data !== 'object') throw new ApiError(502, 'bad response');
    return data;
  }

  function errorKey(err) {
    switch (true) {
      case err.status === 0: return 'errNetwork';
      case err.status === 429: return 'errRate';
      case err.status === 413: return 'errTooLong';
      case err.status >= 400 && err.status < 500: return 'errBad';
      default: return 'errServer';
    }
  }

  const retryable = (err) => err.status === 0 || err.status === 429 || err.status === 408 || err.status >= 500;

  // ---------- sending ----------

  // sendMessage shows the customer's bubble at once and posts it. fields is
  // {text} or {payload, label}. The client id is made here, once, and reused
  // by every retry of the same message so the server can de-duplicate.
  function sendMessage(fields) {
    const req = { session, id: newId(), ...fields };
    const wasNear = nearBottom();
    removeWelcome();
    const li = renderMessage({ dir: 'in', text: fields.text !== undefined ? fields.text : fields.label });
    li.classList.add('pending');
    afterAppend(wasNear, true);
    post(req, li);
  }

  async function post(req, li) {
    setBusy(true);
    setTyping(true);
    clearStatus(li);
    li.classList.add('pending');
    li.setAttribute('aria-busy', 'true');
    try {
      const data = await api(`${API}/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...req, locale }),
      });
      li.classList.remove('pending', 'failed');
      li.removeAttribute('aria-busy');
      if (typeof data.seq === 'number') {
        if (seen.has(data.seq)) {
          // An earlier try did reach the server and the stream has already
          // shown this very message: keep that copy only.
          li.remove();
        } else {
          seen.add(data.seq);
          li.dataset.seq = String(data.seq);
        }
      }
      setTyping(false);
      // Replies and anything the stream brought meanwhile, merged in seq order.
      const replies = Array.isArray(data.replies) ? data.replies : [];
      const held = pendingEvents;
      pendingEvents = [];
      const wasNear = nearBottom();
      if (showMessages(replies.concat(held))) afterAppend(wasNear, true);
      if (!sessionKnown) {
        sessionKnown = true;
        openEvents();
      }
    } catch (err) {
      setTyping(false);
      li.classList.remove('pending');
      li.removeAttribute('aria-busy');
      li.classList.add('failed');
      showStatus(li, err, req);
    } finally {
      setBusy(false);
      flushEvents();
    }
  }

  function clearStatus(li) {
    const old = li.querySelector('.msg-status');
    if (old) old.remove();
  }

  // showStatus puts a small inline error under a customer bubble, with a
  // Retry button when trying again can help.
  function showStatus(li, err, req) {
    clearStatus(li);
    const status = el('div', 'msg-status');
    status.setAttribute('role', 'alert');
    const icon = el('span', 'status-icon', '!');
    icon.setAttribute('aria-hidden', 'true');
    status.appendChild(icon);
    const key = errorKey(err);
    const msg = el('span', 'status-text', t(key));
    msg.dataset.i18n = key;
    if (err.message && err.status) msg.title = err.message;
    status.appendChild(msg);
    if (retryable(err)) {
      const btn = el('button', 'link-button retry', t('retry'));
      btn.type = 'button';
      btn.dataset.i18n = 'retry';
      btn.addEventListener('click', () => {
        if (inflight) return;
        // The message is recorded when the retry succeeds: move it to the end.
        const wasNear = nearBottom();
        appendItem(li);
        afterAppend(wasNear, true);
        post(req, li);
        if (finePointer()) els.input.focus(); // the Retry button is going away
      });
      status.appendChild(btn);
    }
    const wasNear = nearBottom();
    li.appendChild(status);
    afterAppend(wasNear, false);
  }

  function submitInput() {
    if (inflight) return;
    const text = els.input.value.slice(0, MAX_CHARS).trim();
    if (!text) return;
    els.input.value = '';
    autoGrow();
    updateCounter();
    updateSendButton();
    sendMessage({ text });
  }

  // ---------- history and live events ----------

  async function loadHistory(initial) {
    let data;
    try {
      data = await api(`${API}/history?session=${encodeURIComponent(session)}`, {}, 15000);
    } catch (err) {
      if (err.status === 404) {
        sessionKnown = false;
        if (initial) showWelcome();
        return 'unknown';
      }
      if (initial) showWelcome();
      return 'failed';
    }
    sessionKnown = true;
    const msgs = Array.isArray(data.messages) ? data.messages : [];
    const wasNear = nearBottom();
    if (initial && msgs.length === 0) showWelcome();
    if (msgs.length) removeWelcome();
    if (showMessages(msgs)) afterAppend(wasNear, initial);
    return 'ok';
  }

  function onEvent(ev) {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (!m || typeof m.seq !== 'number') return;
    if (inflight) {
      // Wait for the POST: its answer tells which seq our own message got,
      // so a copy of it (or of its replies) is not shown twice.
      pendingEvents.push(m);
      return;
    }
    const wasNear = nearBottom();
    if (showMessages([m])) {
      removeWelcome();
      afterAppend(wasNear, false);
    }
  }

  function flushEvents() {
    if (!pendingEvents.length) return;
    const list = pendingEvents;
    pendingEvents = [];
    const wasNear = nearBottom();
    if (showMessages(list)) afterAppend(wasNear, false);
  }

  function setConnected(on) {
    els.dot.classList.toggle('online', on);
    if (on) {
      clearTimeout(bannerTimer);
      bannerTimer = 0;
      if (!els.banner.hidden && els.bannerText.dataset.i18n === 'reconnecting') hideBanner();
    } else if (!bannerTimer) {
      // EventSource also errors when a server simply ends a long stream and
      // it reconnects right away: only speak up if that takes a while.
      bannerTimer = setTimeout(() => showBanner('reconnecting'), 2500);
    }
  }

  function openEvents() {
    if (events || !sessionKnown || typeof window.EventSource !== 'function') return;
    clearTimeout(reconnectTimer);
    // Start after the newest message on screen: the server replays only what
    // came later (the browser adds Last-Event-ID itself on reconnects).
    let after = 0;
    for (const seq of seen) if (seq > after) after = seq;
    const es = new EventSource(`${API}/events?session=${encodeURIComponent(session)}&after=${after}`);
    events = es;
    es.addEventListener('open', () => {
      reconnectDelay = 1000;
      setConnected(true);
    });
    es.addEventListener('message', onEvent);
    es.addEventListener('error', () => {
      if (events !== es) return;
      setConnected(false);
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error such as 404, or a bad response):
        // catch up through history and open a fresh stream later.
        es.close();
        events = null;
        scheduleReconnect();
      }
    });
  }

  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(reconnect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 30000);
  }

  async function reconnect() {
    if (events) return;
    const result = await loadHistory(false);
    if (result === 'ok') {
      openEvents();
    } else if (result === 'unknown') {
      // Forgotten by the server: the next successful POST opens the stream.
      clearTimeout(bannerTimer);
      bannerTimer = 0;
      hideBanner();
    } else {
      scheduleReconnect();
    }
  }

  // ---------- wiring ----------

  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitInput();
  });

  els.input.addEventListener('keydown', (e) => {
    // Never send while an input method (pinyin, zhuyin…) is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submitInput();
    }
  });

  els.input.addEventListener('input', () => {
    autoGrow();
    updateCounter();
    updateSendButton();
  });

  els.locale.addEventListener('change', () => {
    if (!LOCALES.includes(els.locale.value)) return;
    locale = els.locale.value;
    store.set(LOCALE_KEY, locale);
    applyLocale();
  });

  els.scroller.addEventListener('scroll', () => {
    if (nearBottom()) els.jump.hidden = true;
  }, { passive: true });

  els.jump.addEventListener('click', () => scrollToBottom());

  window.addEventListener('online', () => {
    if (sessionKnown && !events) {
      reconnectDelay = 1000;
      reconnect();
    }
  });

  applyLocale();
  autoGrow();
  updateSendButton();

  async function retryHistory() {
    hideBanner();
    const result = await loadHistory(false);
    if (result === 'ok') openEvents();
    else if (result === 'failed') showBanner('historyFailed', 'retry', retryHistory);
  }

  loadHistory(true).then((result) => {
    scrollToBottom();
    if (result === 'ok') openEvents();
    else if (result === 'failed') showBanner('historyFailed', 'retry', retryHistory);
  });

  if (finePointer()) els.input.focus();
})();
