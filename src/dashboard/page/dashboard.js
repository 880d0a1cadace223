// The seckill sale dashboard: plain browser JavaScript, no build step, no
// library. It reads GET /admin/stream (Server-Sent Events) with fetch(), so
// the admin token travels in the authorization header as everywhere else in
// the admin API (EventSource cannot send headers), and draws with inline SVG.
'use strict';
(() => {
  const KEY = 'seckill.adminToken';
  /** The charts show at most this much history (seconds)... */
  const HISTORY_S = 300;
  /** ...and at least this wide a window, so a new page does not stretch two points across the chart. */
  const MIN_WINDOW_S = 20;
  /** No snapshot for this long: the stream is considered lost and opened again. */
  const STALE_MS = 3000;
  /** Busy/timeout/unavailable are judged over the last few seconds. */
  const ALERT_WINDOW_S = 5;
  const ALERTS = ['busy', 'timeout', 'unavailable'];
  const COLORS = {
    won: '#3fb56b', sold_out: '#7d8590', already_bought: '#5b8def', not_started: '#c9a93a', ended: '#9a7fd1',
    busy: '#f0883e', timeout: '#e5534b', unknown_event: '#57606a', unauthorized: '#8b949e', bad_request: '#6e7681',
    unavailable: '#d63384', no_order: '#adbac7',
  };
  const SVG = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);
  /** event id -> [{ t, remaining, rates }], oldest first */
  const series = new Map();
  let controller = null;
  let retryTimer = null;
  let watchdog = null;
  let skew = 0; // server clock - this browser's clock, ms

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

  function showLogin(message) {
    stopStream();
    clearData();
    $('dash').hidden = true;
    $('conn').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message;
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
    series.clear();
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
    const mine = new AbortController();
    controller = mine;
    let res;
    try {
      res = await fetch('stream', { headers: { authorization: 'Bearer ' + token }, cache: 'no-store', signal: mine.signal });
    } catch {
      if (!mine.signal.aborted) retry('cannot reach the server');
      return;
    }
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      return showLogin('The server refused that token (401).');
    }
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

  // ---- rendering ---------------------------------------------------------

  const fmt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
  const rate = (n) => (n >= 100 ? fmt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2).replace(/\.00$/, ''));
  const ms = (s) => (s === null ? '–' : s * 1000 >= 10 ? (s * 1000).toFixed(0) + ' ms' : (s * 1000).toFixed(2) + ' ms');

  function duration(msLeft) {
    const s = Math.max(0, Math.round(msLeft / 1000));
    const d = Math.floor(s / 86400);
    const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((x) => String(x).padStart(2, '0')).join(':');
    return d > 0 ? d + 'd ' + hms : hms;
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

  function onSnapshot(s) {
    showDash();
    setConn('live', 'up');
    skew = s.t - Date.now();
    const up = duration(s.t - s.process.startedAt);
    $('process').textContent =
      'Connected to process ' + s.process.pid + ' on ' + s.process.host + ' (up ' + up + '). ' +
      'Answers, rates and the queue are summed over every process of every server (' + s.processes + ' live, each publishing ' +
      'about once a second); script time is this process\'s. Remaining stock and orders waiting for MySQL come from Redis.' +
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
    s.events.forEach((e, i) => {
      seen.add(e.id);
      const points = record(e, s.t);
      const card = cardFor(e.id);
      if (list.children[i] !== card) list.insertBefore(card, list.children[i] || null);
      renderEvent(card, e, points, s);
    });
    for (const card of [...list.children]) {
      if (!seen.has(card.dataset.event)) {
        series.delete(card.dataset.event);
        card.remove();
      }
    }
    $('no-events').hidden = s.events.length > 0;
  }

  function record(e, t) {
    let points = series.get(e.id);
    if (points === undefined) series.set(e.id, (points = []));
    points.push({ t, remaining: e.remaining, rates: e.rates });
    while (points.length > 0 && points[0].t < t - HISTORY_S * 1000) points.shift();
    return points;
  }

  function cardFor(id) {
    const existing = [...$('events').children].find((c) => c.dataset.event === id);
    if (existing) return existing;
    const card = el('article', 'event');
    card.dataset.event = id;
    const head = el('header');
    head.append(el('h2', 'event-id', id), el('span', 'event-name'), el('span', 'state'));
    const win = el('p', 'window');
    win.append(el('span', 'range'), el('span', 'countdown'));
    const tiles = el('div', 'tiles');
    const remaining = el('div', 'tile');
    remaining.append(el('div', 'label', 'remaining'), el('div', 'big remaining'), el('div', 'sub remaining-sub'));
    const lag = el('div', 'tile');
    lag.append(el('div', 'label', 'orders waiting for MySQL'), el('div', 'big unpersisted'), el('div', 'sub', 'in the Redis stream, not yet written by the persister'));
    const alerts = el('div', 'tile alerts');
    alerts.append(el('div', 'label', 'refused, per second (last ' + ALERT_WINDOW_S + ' s)'));
    for (const name of ALERTS) {
      const row = el('div', 'alert-row');
      row.dataset.outcome = name;
      row.append(el('span', 'alert-name', name), el('span', 'alert-rate'), el('span', 'alert-share'));
      alerts.append(row);
    }
    tiles.append(remaining, lag, alerts);
    const drain = el('figure', 'chart');
    drain.append(el('figcaption', '', 'remaining stock'), svgEl('svg', { class: 'drain', viewBox: '0 0 600 140' }));
    const mix = el('figure', 'chart');
    mix.append(el('figcaption', '', 'decisions per second by outcome (every process)'), svgEl('svg', { class: 'mix', viewBox: '0 0 600 140' }), el('div', 'legend'));
    const charts = el('div', 'charts');
    charts.append(drain, mix);
    card.append(head, win, tiles, charts);
    return card;
  }

  function stateOf(e) {
    if (e.state === 'scheduled') return ['scheduled', 'scheduled'];
    if (e.remaining <= 0) return e.state === 'ended' ? ['ended · sold out', 'ended'] : ['sold out', 'soldout'];
    return e.state === 'open' ? ['open', 'open'] : ['ended', 'ended'];
  }

  function renderEvent(card, e, points, s) {
    const q = (sel) => card.querySelector(sel);
    q('.event-name').textContent = e.name && e.name !== e.id ? e.name : '';
    const [label, cls] = stateOf(e);
    const state = q('.state');
    state.textContent = label;
    state.className = 'state state-' + cls;
    q('.range').textContent = new Date(e.start).toLocaleString() + ' → ' + new Date(e.end).toLocaleString();
    const now = Date.now() + skew;
    q('.countdown').textContent =
      now < e.start ? 'opens in ' + duration(e.start - now) : now < e.end ? 'closes in ' + duration(e.end - now) : 'ended ' + duration(now - e.end) + ' ago';

    q('.remaining').textContent = fmt(e.remaining);
    q('.remaining-sub').textContent =
      'of ' + fmt(e.stock) + ' · sold ' + fmt(e.stock - e.remaining) + (e.remainingFrom === 'redis' ? ' · Redis' : ' · last known (Redis away)');
    q('.unpersisted').textContent = e.unpersisted === null ? '–' : fmt(e.unpersisted);
    q('.unpersisted').classList.toggle('warn', e.unpersisted !== null && e.unpersisted > 0);

    renderAlerts(card, points);
    drawDrain(q('svg.drain'), points, e.stock, s.t);
    drawMix(q('svg.mix'), q('.legend'), points, s.outcomes, s.t);
  }

  /**
   * Highlighted when their share of all answers over the last few seconds
   * passes 1% (warn) or 10% (alert); an arrow when the last tick's rate is
   * above that window's average (climbing).
   */
  function renderAlerts(card, points) {
    const t = points[points.length - 1].t;
    const recent = points.filter((p) => p.t > t - ALERT_WINDOW_S * 1000);
    const avg = (name) => recent.reduce((n, p) => n + (p.rates[name] || 0), 0) / recent.length;
    const all = recent.reduce((n, p) => n + Object.values(p.rates).reduce((a, b) => a + b, 0), 0) / recent.length;
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

  function span(points, t) {
    const first = points[0].t;
    return Math.max(MIN_WINDOW_S * 1000, Math.min(HISTORY_S * 1000, t - first));
  }

  function axis(svgNode, top, bottom, left) {
    svgNode.append(
      svgEl('line', { x1: 0, y1: 130, x2: 600, y2: 130, class: 'axis', 'vector-effect': 'non-scaling-stroke' }),
      Object.assign(svgEl('text', { x: 4, y: 12, class: 'tick' }), { textContent: top }),
      Object.assign(svgEl('text', { x: 4, y: 126, class: 'tick' }), { textContent: bottom }),
      Object.assign(svgEl('text', { x: 596, y: 126, class: 'tick end' }), { textContent: left }),
    );
  }

  function drawDrain(svgNode, points, stock, t) {
    const width = span(points, t);
    const x = (pt) => (600 * (pt - (t - width))) / width;
    const y = (v) => 130 - (120 * v) / Math.max(1, stock);
    const line = points.map((p) => x(p.t).toFixed(1) + ',' + y(p.remaining).toFixed(1)).join(' ');
    const last = points[points.length - 1];
    const area = x(points[0].t).toFixed(1) + ',130 ' + line + ' ' + x(last.t).toFixed(1) + ',130';
    svgNode.replaceChildren(
      svgEl('polygon', { points: area, class: 'drain-area' }),
      svgEl('polyline', { points: line, class: 'drain-line', 'vector-effect': 'non-scaling-stroke' }),
    );
    axis(svgNode, fmt(stock), '0', '−' + Math.round(width / 1000) + ' s … now');
  }

  function drawMix(svgNode, legend, points, outcomes, t) {
    const width = span(points, t);
    const x = (pt) => (600 * (pt - (t - width))) / width;
    const used = outcomes.filter((name) => points.some((p) => (p.rates[name] || 0) > 0));
    const totals = points.map((p) => used.reduce((n, name) => n + (p.rates[name] || 0), 0));
    const top = niceMax(Math.max(1, ...totals));
    const y = (v) => 130 - (120 * v) / top;
    const below = points.map(() => 0);
    const shapes = [];
    for (const name of used) {
      const lower = points.map((p, i) => x(p.t).toFixed(1) + ',' + y(below[i]).toFixed(1));
      points.forEach((p, i) => (below[i] += p.rates[name] || 0));
      const upper = points.map((p, i) => x(p.t).toFixed(1) + ',' + y(below[i]).toFixed(1));
      shapes.push(svgEl('polygon', { points: upper.concat(lower.reverse()).join(' '), fill: COLORS[name] || '#888', class: 'stack' }));
    }
    svgNode.replaceChildren(...shapes);
    axis(svgNode, fmt(top) + '/s', '0', '−' + Math.round(width / 1000) + ' s … now');
    // The legend gives each outcome's average over the last few seconds: one tick alone is noisy.
    const recent = points.filter((p) => p.t > t - ALERT_WINDOW_S * 1000);
    const avg = (name) => recent.reduce((n, p) => n + (p.rates[name] || 0), 0) / Math.max(1, recent.length);
    legend.replaceChildren(
      ...used.map((name) => {
        const item = el('span', 'key');
        const swatch = el('i');
        swatch.style.background = COLORS[name] || '#888';
        item.append(swatch, document.createTextNode(name.replace(/_/g, ' ') + ' ' + rate(avg(name)) + '/s'));
        return item;
      }),
    );
    if (used.length === 0) legend.replaceChildren(el('span', 'muted', 'no answers in this window'));
  }

  function niceMax(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  // ---- create an event ---------------------------------------------------

  function localInput(d) {
    const pad = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  function whenOf(value) {
    // datetime-local has no zone: it is this browser's local time. Sent as ISO-8601 UTC.
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? value : d.toISOString();
  }

  async function createEvent(ev) {
    ev.preventDefault();
    const out = $('c-result');
    const id = $('c-id').value.trim();
    const body = { stock: $('c-stock').value === '' ? null : Number($('c-stock').value), start: whenOf($('c-start').value), end: whenOf($('c-end').value) };
    if ($('c-name').value !== '') body.name = $('c-name').value;
    out.className = '';
    out.textContent = 'sending…';
    let res;
    let answer = {};
    try {
      res = await fetch('events/' + encodeURIComponent(id), {
        method: 'PUT',
        headers: { authorization: 'Bearer ' + (sessionStorage.getItem(KEY) || ''), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      answer = await res.json().catch(() => ({}));
    } catch {
      out.className = 'error';
      out.textContent = 'cannot reach the server';
      return;
    }
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      return showLogin('The server refused that token (401).');
    }
    if (res.ok) {
      out.className = 'ok';
      out.textContent = res.status + ' ' + (answer.result || 'ok') + ': ' + answer.event + ', ' + answer.stock + ' units, ' + answer.state;
    } else {
      out.className = 'error';
      out.textContent = res.status + ' ' + (answer.error || answer.result || 'error') + (answer.c !== undefined ? ' (code ' + answer.c + ')' : '');
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
    const start = new Date(Date.now() + 60_000);
    start.setMilliseconds(0);
    $('c-start').value = localInput(start);
    $('c-end').value = localInput(new Date(start.getTime() + 3_600_000));
    window.addEventListener('hashchange', () => {
      takeFragmentToken();
      connect();
    });
    takeFragmentToken();
    connect();
  });
})();
