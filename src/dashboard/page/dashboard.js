// The seckill sale dashboard: plain browser JavaScript, no build step, no
// library. It reads GET /admin/stream (Server-Sent Events) with fetch(), so
// the admin token travels in the authorization header as everywhere else in
// the admin API (EventSource cannot send headers), and draws with inline SVG.
// Each sale's charts come from its history, which the server keeps in Redis
// (GET /admin/events/{e}/history, then the newest sample of each snapshot),
// so a reload, or a page opened after the sale, draws the whole sale.
'use strict';
(() => {
  const KEY = 'seckill.adminToken';
  /** No snapshot for this long: the stream is considered lost and opened again. */
  const STALE_MS = 3000;
  /** Busy/timeout/unavailable are judged over the last few seconds. */
  const ALERT_WINDOW_S = 5;
  const ALERTS = ['busy', 'timeout', 'unavailable'];
  /** An open sale's chart spans at least this much, so its first seconds do not fill the width. */
  const MIN_SPAN_MS = 60_000;
  /** Columns of a chart: each shows the peak of the seconds it covers, so a one-second burst stays visible. */
  const COLUMNS = 240;
  const COLORS = {
    won: '#3fb56b', sold_out: '#7d8590', already_bought: '#5b8def', not_started: '#c9a93a', ended: '#9a7fd1',
    busy: '#f0883e', timeout: '#e5534b', unknown_event: '#57606a', unauthorized: '#8b949e', bad_request: '#6e7681',
    unavailable: '#d63384', no_order: '#adbac7', expired: '#b08800',
  };
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  /** event id -> [{ t, rates }]: the last seconds of snapshots, for the refusal alerts */
  const live = new Map();
  /** event id -> { sale, samples: [[t, remaining, ...answers by code]], state: 'none' | 'loading' | 'loaded' | 'failed', failedAt } */
  const histories = new Map();
  let controller = null;
  let retryTimer = null;
  let watchdog = null;
  let skew = 0; // server clock - this browser's clock, ms
  let lastSnapshot = null;

  // ---- token -------------------------------------------------------------

  /** `#token=…` is taken once, kept like a typed one, and removed from the address bar and history. */
  function takeFragmentToken() {
    const m = /^#token=(.+)$/.exec(location.hash);
    if (m === null) return;
    try {
      sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    } catch {
      sessionStorage.setItem(KEY, m[1]);
    }
    history.replaceState(null, '', location.pathname + location.search);
  }

  const bearer = () => ({ authorization: 'Bearer ' + (sessionStorage.getItem(KEY) || '') });

  function showLogin(message) {
    stopStream();
    clearData();
    $('dash').hidden = true;
    $('conn').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message;
  }

  function refused() {
    sessionStorage.removeItem(KEY);
    showLogin('The server refused that token (401).');
  }

  function showDash() {
    if (!$('dash').hidden) return;
    $('login').hidden = true;
    $('dash').hidden = false;
    $('logout').hidden = false;
    $('conn').hidden = false;
    $('login-error').textContent = '';
  }

  /** Nothing of a sale stays on the page once the token is gone. */
  function clearData() {
    live.clear();
    histories.clear();
    lastSnapshot = null;
    $('events').replaceChildren();
    $('process').textContent = '';
    for (const id of ['q-parked', 'q-waiting', 'q-capacity', 's-p50', 's-p99', 's-calls', 'redis-status']) $(id).textContent = '–';
    $('c-result').textContent = '';
  }

  // ---- stream ------------------------------------------------------------

  function stopStream() {
    clearTimeout(retryTimer);
    clearTimeout(watchdog);
    if (controller !== null) controller.abort();
    controller = null;
  }

  function setConn(text, cls) {
    const el = $('conn');
    el.textContent = text;
    el.className = 'conn ' + cls;
  }

  function retry(why) {
    stopStream();
    setConn('reconnecting (' + why + ')', 'down');
    retryTimer = setTimeout(connect, 1000);
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => retry('no data for ' + STALE_MS / 1000 + ' s'), STALE_MS);
  }

  async function connect() {
    stopStream();
    const token = sessionStorage.getItem(KEY);
    if (!token) return showLogin('');
    if ($('dash').hidden) {
      // A token in hand: no form asking for one while the stream is tried (or retried), but where it stands.
      $('login').hidden = true;
      $('conn').hidden = false;
      setConn('connecting…', 'down');
    }
    const mine = new AbortController();
    controller = mine;
    let res;
    try {
      res = await fetch('stream', { headers: { authorization: 'Bearer ' + token }, cache: 'no-store', signal: mine.signal });
    } catch {
      if (!mine.signal.aborted) retry('cannot reach the server');
      return;
    }
    if (res.status === 401) return refused();
    if (!res.ok || res.body === null) return retry('stream answered ' + res.status);
    armWatchdog();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data !== '') {
            armWatchdog();
            onSnapshot(JSON.parse(data));
          }
        }
      }
    } catch {
      // aborted or cut: handled below
    }
    if (controller === mine) retry('stream ended');
  }

  // ---- history -----------------------------------------------------------

  /** The history kept for `e`'s sale (a new one when the event was redefined: the demo started anew). */
  function historyOf(e) {
    const sale = e.start + ':' + e.end;
    let h = histories.get(e.id);
    if (h === undefined || h.sale !== sale) histories.set(e.id, (h = { sale, samples: [], state: 'none' }));
    return h;
  }

  /** Appends the snapshot's newest sample when it is newer than the last one held. */
  function addSample(h, row) {
    if (!row) return;
    const last = h.samples[h.samples.length - 1];
    if (last === undefined || row[0] > last[0]) h.samples.push(row);
  }

  /** Reads the stored history once a card is shown open; the live samples that came meanwhile are kept after it. */
  async function loadHistory(e, h) {
    // A failed read (Redis away) is tried again a few seconds later.
    if (h.state === 'loading' || h.state === 'loaded' || (h.state === 'failed' && Date.now() - h.failedAt < 5000)) return;
    h.state = 'loading';
    const failed = () => {
      h.state = 'failed';
      h.failedAt = Date.now();
    };
    let res;
    try {
      res = await fetch('events/' + encodeURIComponent(e.id) + '/history', { headers: bearer(), cache: 'no-store' });
    } catch {
      return failed();
    }
    if (res.status === 401) return refused();
    if (!res.ok) return failed();
    const body = await res.json().catch(() => null);
    if (body === null || !Array.isArray(body.samples)) return failed();
    if (histories.get(e.id) !== h) return;
    const stored = body.samples;
    const lastStored = stored.length > 0 ? stored[stored.length - 1][0] : -Infinity;
    h.samples = stored.concat(h.samples.filter((row) => row[0] > lastStored));
    h.state = 'loaded';
    if (lastSnapshot !== null) render(lastSnapshot);
  }

  // ---- formatting --------------------------------------------------------

  const fmt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
  const rate = (n) => (n >= 100 ? fmt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2).replace(/\.00$/, ''));
  const ms = (s) => (s === null ? '–' : s * 1000 >= 10 ? (s * 1000).toFixed(0) + ' ms' : (s * 1000).toFixed(2) + ' ms');
  const pad = (n) => String(n).padStart(2, '0');

  function duration(msLeft) {
    const s = Math.max(0, Math.round(msLeft / 1000));
    const d = Math.floor(s / 86400);
    const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map(pad).join(':');
    return d > 0 ? d + 'd ' + hms : hms;
  }

  /** "3 s", "2 min 5 s", "1 h 4 min": how long a sale took to sell out. */
  function spanText(msSpan) {
    const s = Math.max(1, Math.ceil(msSpan / 1000));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min' + (s % 60 ? ' ' + (s % 60) + ' s' : '');
    return Math.floor(s / 3600) + ' h' + (Math.floor((s % 3600) / 60) ? ' ' + Math.floor((s % 3600) / 60) + ' min' : '');
  }

  /** This browser's zone as it names it at that moment ("UTC", "GMT+8", "CET"). */
  function zoneAt(t) {
    const part = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date(t)).find((p) => p.type === 'timeZoneName');
    return part ? part.value : '';
  }

  const dayOf = (d) => d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  const clockOf = (d) => pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());

  /** "2026-12-03 17:00:00 GMT+8": every time the page shows says its zone. */
  function when(t) {
    const d = new Date(t);
    return dayOf(d) + ' ' + clockOf(d) + ' ' + zoneAt(t);
  }

  /** A sale's window, the end's day left out when it is the start's. */
  function windowText(start, end) {
    const a = new Date(start);
    const b = new Date(end);
    const sameZone = zoneAt(start) === zoneAt(end);
    return (sameZone ? dayOf(a) + ' ' + clockOf(a) : when(start)) + ' → ' + (dayOf(a) === dayOf(b) && sameZone ? clockOf(b) + ' ' + zoneAt(end) : when(end));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  // ---- rendering ---------------------------------------------------------

  function onSnapshot(s) {
    showDash();
    setConn('live', 'up');
    skew = s.t - Date.now();
    lastSnapshot = s;
    for (const e of s.events) {
      addSample(historyOf(e), e.sample);
      let points = live.get(e.id);
      if (points === undefined) live.set(e.id, (points = []));
      points.push({ t: s.t, rates: e.rates });
      while (points.length > 0 && points[0].t < s.t - ALERT_WINDOW_S * 1000) points.shift();
    }
    render(s);
  }

  function render(s) {
    const up = duration(s.t - s.process.startedAt);
    $('process').textContent =
      'Connected to process ' + s.process.pid + ' on ' + s.process.host + ' (up ' + up + '). ' +
      'Answers, rates and the queue are summed over every process of every server (' + s.processes + ' live, each publishing ' +
      'about once a second); script time is this process\'s. Remaining stock and orders waiting for MySQL come from Redis; ' +
      'the charts from the history the server keeps in Redis, one sample a second.' +
      (s.workerRestarts === undefined ? '' : ' Worker restarts on this server: ' + s.workerRestarts + '.');

    const q = s.queue;
    $('q-parked').textContent = fmt(q.parked);
    $('q-waiting').textContent = fmt(q.waiting);
    $('q-capacity').textContent = fmt(q.capacity);
    const fill = q.capacity > 0 ? Math.min(1, q.parked / q.capacity) : 0;
    const meter = $('q-meter');
    meter.style.width = (fill * 100).toFixed(1) + '%';
    meter.className = fill > 0.8 ? 'alert' : fill > 0.5 ? 'warn' : '';

    $('s-p50').textContent = ms(s.script.p50);
    $('s-p99').textContent = ms(s.script.p99);
    $('s-calls').textContent = fmt(s.script.calls);
    $('s-window').textContent = String(Math.round(s.script.windowS) || 10);
    const redis = $('redis-status');
    redis.textContent = s.redis;
    redis.className = s.redis === 'ready' ? '' : 'bad';

    const seen = new Set();
    const list = $('events');
    // The server sends open sales first, then the next to open, then the most recently ended.
    s.events.forEach((e, i) => {
      seen.add(e.id);
      const card = cardFor(e.id);
      if (list.children[i] !== card) list.insertBefore(card, list.children[i] || null);
      renderEvent(card, e, s);
    });
    for (const card of [...list.children]) {
      if (!seen.has(card.dataset.event)) {
        live.delete(card.dataset.event);
        histories.delete(card.dataset.event);
        card.remove();
      }
    }
    $('no-events').hidden = s.events.length > 0;
  }

  function tile(cls, label) {
    const t = el('div', 'tile ' + cls);
    t.append(el('div', 'label', label), el('div', 'big ' + cls + '-big'), el('div', 'sub ' + cls + '-sub'));
    return t;
  }

  function chart(cls, caption) {
    const fig = el('figure', 'chart chart-' + cls);
    const cap = el('figcaption');
    cap.append(el('span', 'caption', caption), el('span', 'scale'));
    const svg = svgEl('svg', { class: cls, viewBox: '0 0 ' + COLUMNS + ' 100', preserveAspectRatio: 'none' });
    const axis = el('div', 'axis-row');
    axis.append(el('span', 'x0'), el('span', 'x1'));
    fig.append(cap, svg, axis);
    return fig;
  }

  function cardFor(id) {
    const existing = [...$('events').children].find((c) => c.dataset.event === id);
    if (existing) return existing;
    const card = el('article', 'event');
    card.dataset.event = id;
    const details = el('details');
    const summary = el('summary');
    const head = el('div', 'head');
    const toggle = el('button', 'pause', 'pause');
    toggle.type = 'button';
    // Inside the summary: a click here must not fold the card.
    toggle.addEventListener('click', (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      void switchPause(id, toggle);
    });
    head.append(el('h2', 'event-id', id), el('span', 'event-name'), el('span', 'state'), toggle);
    const win = el('p', 'window');
    win.append(el('span', 'range'), el('span', 'countdown'));
    const totals = el('p', 'totals');
    for (const [cls, label] of [['requests', 'requests'], ['won', 'won'], ['soldout', 'sold out'], ['buyers', 'buyers']]) {
      const item = el('span', 'total');
      item.append(el('b', 't-' + cls), document.createTextNode(' ' + label));
      totals.append(item);
    }
    totals.append(el('span', 'total t-selltime'));
    summary.append(head, win, totals);
    // A card the user opened or closed stays so; the others follow their state (ended: closed).
    summary.addEventListener('click', () => (card.dataset.chosen = '1'));
    details.addEventListener('toggle', () => {
      if (details.open && lastSnapshot !== null) render(lastSnapshot);
    });

    const tiles = el('div', 'tiles');
    const alerts = el('div', 'tile alerts');
    alerts.append(el('div', 'label', 'refused, per second (last ' + ALERT_WINDOW_S + ' s)'));
    for (const name of ALERTS) {
      const row = el('div', 'alert-row');
      row.dataset.outcome = name;
      row.append(el('span', 'alert-name', name), el('span', 'alert-rate'), el('span', 'alert-share'));
      alerts.append(row);
    }
    tiles.append(tile('left', 'remaining'), tile('lag', 'orders waiting for MySQL'), tile('pay', 'payments'), alerts);
    const charts = el('div', 'charts');
    charts.append(chart('drain', 'remaining stock'), chart('wins', 'wins per second'), chart('mix', 'other answers per second, by outcome'));
    const legend = el('div', 'legend');
    const note = el('p', 'history-note muted');
    details.append(summary, tiles, charts, legend, note);
    card.append(details);
    return card;
  }

  /** POST events/{id}/pause or /resume, as the button says; the next snapshot shows the result. */
  async function switchPause(id, button) {
    const action = button.dataset.action || 'pause';
    button.disabled = true;
    try {
      const res = await fetch('events/' + encodeURIComponent(id) + '/' + action, { method: 'POST', headers: bearer() });
      const body = await res.json().catch(() => ({}));
      button.title = res.ok ? (body.paused ? 'paused: no unit is decided, every buy answers 16' : 'selling') : res.status + ' ' + (body.error || '');
    } catch (err) {
      button.title = String(err);
    } finally {
      button.disabled = false;
    }
  }

  function stateOf(e) {
    if (e.paused && e.state !== 'ended') return ['paused', 'paused'];
    if (e.state === 'scheduled') return ['scheduled', 'scheduled'];
    if (e.remaining <= 0) return e.state === 'ended' ? ['ended · sold out', 'ended'] : ['sold out', 'soldout'];
    return e.state === 'open' ? ['open', 'open'] : ['ended', 'ended'];
  }

  function renderEvent(card, e, s) {
    const q = (sel) => card.querySelector(sel);
    const details = q('details');
    if (card.dataset.chosen !== '1') details.open = e.state !== 'ended';
    card.classList.toggle('ended', e.state === 'ended');
    q('.event-name').textContent = e.name && e.name !== e.id ? e.name : '';
    const [label, cls] = stateOf(e);
    const state = q('.state');
    state.textContent = label;
    state.className = 'state state-' + cls;
    const toggle = q('button.pause');
    toggle.hidden = e.state === 'ended';
    toggle.dataset.action = e.paused ? 'resume' : 'pause';
    toggle.textContent = e.paused ? 'resume' : 'pause';
    q('.range').textContent = windowText(e.start, e.end);
    const now = Date.now() + skew;
    q('.countdown').textContent =
      now < e.start ? 'opens in ' + duration(e.start - now) : now < e.end ? 'closes in ' + duration(e.end - now) : 'ended ' + duration(now - e.end) + ' ago';

    q('.t-requests').textContent = fmt(e.totals.requests);
    q('.t-won').textContent = fmt(e.totals.won);
    q('.t-soldout').textContent = fmt(e.totals.soldOut);
    q('.t-buyers').textContent = fmt(e.totals.buyers);
    q('.t-selltime').textContent =
      e.soldOutAt === null ? (e.state === 'scheduled' ? '' : 'not sold out') : 'sold out within ' + spanText(e.soldOutAt + e.step - e.start) + ' of the start';

    q('.left-big').textContent = fmt(e.remaining);
    q('.left-sub').textContent =
      'of ' + fmt(e.stock) + ' · sold ' + fmt(e.stock - e.remaining) + (e.remainingFrom === 'redis' ? ' · Redis' : ' · last known (Redis away)') +
      // An event sold in lots: its limit per user and each SKU's units left of its stock.
      (e.lots ? ' · ' + e.lots.limit + ' per user' + e.lots.skus.filter((k) => k.id !== '').map((k) => ' · ' + k.id + ' ' + fmt(k.remaining) + '/' + fmt(k.stock)).join('') : '');
    const lag = q('.lag-big');
    lag.textContent = e.unpersisted === null ? '–' : fmt(e.unpersisted);
    // Amber only where a persister is expected to take them: without MySQL they stay in Redis by design.
    lag.classList.toggle('warn', s.persisting && e.unpersisted !== null && e.unpersisted > 0);
    q('.tile.lag .label').textContent = s.persisting ? 'orders waiting for MySQL' : 'orders in Redis only';
    q('.lag-sub').textContent = s.persisting
      ? 'in the Redis stream, not yet written by the persister'
      : 'no MySQL on this server (MYSQL_URL=none): no persister, the orders stay in the Redis stream';
    const pay = q('.tile.pay');
    pay.hidden = !(e.payWithin > 0);
    if (e.payWithin > 0) {
      const p = e.payments;
      q('.pay-big').textContent = p === null ? '–' : fmt(p.due) + ' due';
      q('.pay-sub').textContent = (p === null ? '' : fmt(p.paid) + ' paid · ' + fmt(p.expired) + ' expired · ') + 'pay within ' + spanText(e.payWithin * 1000);
    }

    renderAlerts(card, live.get(e.id) || []);
    const h = historyOf(e);
    if (details.open) {
      void loadHistory(e, h);
      drawCharts(card, e, h, s);
    }
  }

  /**
   * Highlighted when their share of all answers over the last few seconds
   * passes 1% (warn) or 10% (alert); an arrow when the last tick's rate is
   * above that window's average (climbing).
   */
  function renderAlerts(card, points) {
    if (points.length === 0) return;
    const avg = (name) => points.reduce((n, p) => n + (p.rates[name] || 0), 0) / points.length;
    const all = points.reduce((n, p) => n + Object.values(p.rates).reduce((a, b) => a + b, 0), 0) / points.length;
    const last = points[points.length - 1].rates;
    for (const row of card.querySelectorAll('.alert-row')) {
      const name = row.dataset.outcome;
      const r = avg(name);
      const share = all > 0 ? r / all : 0;
      const climbing = (last[name] || 0) > r * 1.05 && (last[name] || 0) > 0;
      row.querySelector('.alert-rate').textContent = rate(r) + '/s' + (climbing ? ' ▲' : '');
      row.querySelector('.alert-share').textContent = (share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 0) + '%';
      row.className = 'alert-row' + (share >= 0.1 ? ' alert' : share >= 0.01 ? ' warn' : '');
    }
  }

  /**
   * The whole sale, from its history: each column of a chart covers an
   * equal part of the time drawn and shows the highest per-second rate in it
   * (the stack: the second with the most answers), so a short selling phase
   * is as tall as it was. Wins and the other answers have a scale each: 300
   * wins a second stay visible beside 100,000 refusals.
   */
  function drawCharts(card, e, h, s) {
    const q = (sel) => card.querySelector(sel);
    // A sale put open (its start is when it was put) may sell before its first sample: its start, with nothing
    // sold and nothing answered, is the row before it, or those first wins would never show as a rate.
    const first = h.samples[0];
    const rows =
      first !== undefined && first[0] > e.start && first[0] - e.start <= 60_000
        ? [[e.start, e.stock].concat(first.slice(2).map(() => 0))].concat(h.samples)
        : h.samples;
    const note = q('.history-note');
    q('.charts').hidden = rows.length < 2;
    if (rows.length < 2) {
      for (const cls of ['drain', 'wins', 'mix']) q('svg.' + cls).replaceChildren();
      q('.legend').replaceChildren();
      note.textContent =
        h.state === 'loading' ? 'reading the history…' : e.state === 'scheduled' && rows.length === 0 ? 'sampled from a minute before the start, once a second' : 'no history for this sale';
      return;
    }
    note.textContent = 'one sample every ' + e.step / 1000 + ' s, ' + fmt(rows.length) + ' in all; each column shows the peak of its seconds';
    const x0 = rows[0][0];
    const x1 = Math.max(rows[rows.length - 1][0], e.state === 'ended' ? 0 : x0 + MIN_SPAN_MS);
    const col = (t) => Math.min(COLUMNS - 1, Math.max(0, Math.floor(((t - x0) / (x1 - x0)) * COLUMNS)));
    const names = s.outcomes;
    const won = names.indexOf('won');
    const wins = new Array(COLUMNS).fill(0);
    const mixTotal = new Array(COLUMNS).fill(0);
    const mix = new Array(COLUMNS).fill(null);
    const left = new Array(COLUMNS).fill(null);
    left[col(x0)] = rows[0][1];
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1];
      const b = rows[i];
      const secs = (b[0] - a[0]) / 1000;
      const rates = names.map((_, k) => Math.max(0, (b[2 + k] || 0) - (a[2 + k] || 0)) / secs);
      const other = rates.reduce((n, r, k) => (k === won ? n : n + r), 0);
      // The interval [a, b) over the columns it covers.
      for (let c = col(a[0]); c <= col(b[0] - 1); c++) {
        wins[c] = Math.max(wins[c], rates[won]);
        if (other >= mixTotal[c]) {
          mixTotal[c] = other;
          mix[c] = rates;
        }
      }
      left[col(b[0])] = b[1];
    }
    for (let c = 1; c < COLUMNS; c++) if (left[c] === null) left[c] = left[c - 1];
    const lastCol = col(rows[rows.length - 1][0] - 1);

    // Remaining stock: a step line.
    const yLeft = (v) => 100 - (96 * v) / Math.max(1, e.stock);
    let line = '';
    const leftCol = col(rows[rows.length - 1][0]);
    for (let c = 0; c <= leftCol; c++) line += c + ',' + yLeft(left[c]).toFixed(2) + ' ' + (c + 1) + ',' + yLeft(left[c]).toFixed(2) + ' ';
    q('svg.drain').replaceChildren(
      svgEl('polygon', { points: '0,100 ' + line + (leftCol + 1) + ',100', class: 'drain-area' }),
      svgEl('polyline', { points: line.trim(), class: 'drain-line', 'vector-effect': 'non-scaling-stroke' }),
    );
    q('.chart-drain .scale').textContent = 'of ' + fmt(e.stock);

    // Wins: their own scale.
    const winTop = niceMax(Math.max(1, ...wins));
    q('svg.wins').replaceChildren(svgEl('polygon', { points: columnsPolygon(wins.slice(0, lastCol + 1), winTop), fill: COLORS.won, class: 'stack' }));
    q('.chart-wins .scale').textContent = 'scale 0–' + fmt(winTop) + '/s';

    // Every other answer, stacked by outcome, on a scale of its own.
    const mixTop = niceMax(Math.max(1, ...mixTotal));
    const used = names.filter((name, k) => k !== won && mix.some((r) => r !== null && r[k] > 0));
    const below = new Array(lastCol + 1).fill(0);
    const shapes = [];
    for (const name of used) {
      const k = names.indexOf(name);
      const lower = below.slice();
      for (let c = 0; c <= lastCol; c++) below[c] += mix[c] === null ? 0 : mix[c][k];
      shapes.push(svgEl('polygon', { points: bandPolygon(lower, below, mixTop), fill: COLORS[name] || '#888', class: 'stack' }));
    }
    q('svg.mix').replaceChildren(...shapes);
    q('.chart-mix .scale').textContent = 'scale 0–' + fmt(mixTop) + '/s';

    for (const fig of card.querySelectorAll('.chart')) {
      fig.querySelector('.x0').textContent = clockOf(new Date(x0));
      fig.querySelector('.x1').textContent = clockOf(new Date(x1)) + ' ' + zoneAt(x1);
    }
    // The legend: each outcome's answers in the whole sale.
    const legend = q('.legend');
    const shown = names.filter((name) => (e.answers[name] || 0) > 0);
    legend.replaceChildren(
      ...shown.map((name) => {
        const item = el('span', 'key');
        item.dataset.outcome = name;
        const swatch = el('i');
        swatch.style.background = COLORS[name] || '#888';
        item.append(swatch, document.createTextNode(name.replace(/_/g, ' ') + ' ' + fmt(e.answers[name])));
        return item;
      }),
    );
    if (shown.length === 0) legend.replaceChildren(el('span', 'muted', 'no answers yet'));
  }

  /** A step outline of per-column values, closed along the axis. */
  function columnsPolygon(values, top) {
    const y = (v) => (100 - (96 * v) / top).toFixed(2);
    let pts = '0,100 ';
    values.forEach((v, c) => (pts += c + ',' + y(v) + ' ' + (c + 1) + ',' + y(v) + ' '));
    return pts + values.length + ',100';
  }

  /** The band between two step outlines (a layer of the stack). */
  function bandPolygon(lower, upper, top) {
    const y = (v) => (100 - (96 * v) / top).toFixed(2);
    const up = [];
    const down = [];
    upper.forEach((v, c) => up.push(c + ',' + y(v), c + 1 + ',' + y(v)));
    lower.forEach((v, c) => down.push(c + ',' + y(v), c + 1 + ',' + y(v)));
    return up.concat(down.reverse()).join(' ');
  }

  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  // ---- create an event ---------------------------------------------------

  /** A duration with its unit ("15m", "900s", "1h30m") in seconds; "0" is none. Undefined when it is not one. */
  function seconds(text) {
    if (text === '0') return 0;
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
    if (m === null || text === '') return undefined;
    return Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Number(m[3] || 0);
  }

  function timeOf(value) {
    // datetime-local has no zone: it is this browser's local time. Sent as ISO-8601 UTC.
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? undefined : d.getTime();
  }

  async function createEvent(ev) {
    ev.preventDefault();
    const out = $('c-result');
    const fail = (text) => {
      out.className = 'error';
      out.textContent = text;
    };
    const id = $('c-id').value.trim();
    // The default window is taken now, at the press, not when the page was opened.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const start = $('c-start').value === '' ? now + 60_000 : timeOf($('c-start').value);
    if (start === undefined) return fail('start: not a time');
    const end = $('c-end').value === '' ? start + 3_600_000 : timeOf($('c-end').value);
    if (end === undefined) return fail('end: not a time');
    const body = { stock: $('c-stock').value === '' ? null : Number($('c-stock').value), start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    const payText = $('c-pay').value.trim();
    if (payText !== '') {
      const pay = seconds(payText);
      if (pay === undefined) return fail('pay within: give a unit, as 900s, 15m or 1h30m (0: a win is final)');
      body.payWithin = pay;
    }
    if ($('c-name').value !== '') body.name = $('c-name').value;
    // The cost alone: the server fills in ALTCHA's default algorithm and counter range, and says what is wrong.
    if ($('c-pow').value !== '') body.pow = { cost: Number($('c-pow').value) };
    if ($('c-draw').value !== '') body.drawMs = Number($('c-draw').value);
    if ($('c-limit').value !== '') body.limit = Number($('c-limit').value);
    const skuText = $('c-skus').value.trim();
    if (skuText !== '') {
      // "red=500, blue=300": each SKU's stock; the stock is their sum, left out unless given.
      body.skus = {};
      for (const part of skuText.split(',')) {
        const m = /^\s*([A-Za-z0-9_-]{1,32})\s*=\s*(\d+)\s*$/.exec(part);
        if (m === null) return fail('SKUs: give id=stock, comma-separated (red=500, blue=300)');
        body.skus[m[1]] = Number(m[2]);
      }
      if (body.stock === null) delete body.stock;
    }
    out.className = '';
    out.textContent = 'sending…';
    let res;
    let answer = {};
    try {
      res = await fetch('events/' + encodeURIComponent(id), {
        method: 'PUT',
        headers: { ...bearer(), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      answer = await res.json().catch(() => ({}));
    } catch {
      return fail('cannot reach the server');
    }
    if (res.status === 401) return refused();
    if (res.ok) {
      out.className = 'ok';
      out.textContent =
        res.status + ' ' + (answer.result || 'ok') + ': ' + answer.event + ', ' + answer.stock + ' units, ' + answer.state +
        ', ' + windowText(Date.parse(answer.start), Date.parse(answer.end)) + (answer.payWithin > 0 ? ', pay within ' + spanText(answer.payWithin * 1000) : '') +
        (answer.pow ? ', proof of work ' + answer.pow.algorithm + ' cost ' + answer.pow.cost : '') +
        (answer.drawMs > 0 ? ', a draw of the first ' + answer.drawMs + ' ms' : '') +
        (answer.limit > 1 ? ', ' + answer.limit + ' per user' : '') + (answer.skus ? ', SKUs ' + Object.entries(answer.skus).map(([k, v]) => k + ' ' + v).join(', ') : '');
    } else {
      fail(res.status + ' ' + (answer.error || answer.result || 'error') + (answer.c !== undefined ? ' (code ' + answer.c + ')' : ''));
    }
  }

  // ---- start -------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const value = $('token').value.trim();
      $('token').value = '';
      if (value === '') return;
      sessionStorage.setItem(KEY, value);
      $('login-error').textContent = 'checking…';
      connect();
    });
    $('logout').addEventListener('click', () => {
      sessionStorage.removeItem(KEY);
      showLogin('');
    });
    $('create').addEventListener('submit', createEvent);
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    $('c-zone').textContent =
      'Times are this browser\'s: ' + zone + ' (' + zoneAt(Date.now()) + '). An empty start is a minute after you press Put; an empty end, an hour after the start.';
    window.addEventListener('hashchange', () => {
      takeFragmentToken();
      connect();
    });
    takeFragmentToken();
    connect();
  });
})();
