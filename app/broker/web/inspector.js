// The actor inspector's page (index.html). Polls /api/cluster every second
// and renders, from the last good answer, the actor tree, the tables and the
// selected actor's detail; a failed poll keeps that answer on screen under a
// "stale" banner.
//
// Text reaches the DOM through textContent only (el() below): actor states
// carry names chosen by clients (topics, groups, client ids) and errors.
//
// Parts of the DOM the user points at (table headers, tree nodes) are kept
// between polls and a table body is replaced only when its text changed, so
// a click or a text selection is not lost to the next poll.
'use strict';

(() => {
  const POLL_MS = 1000;
  const FETCH_TIMEOUT_MS = 4000;
  /// How deep the generic sections look for array fields in a state.
  const ARRAY_SEARCH_DEPTH = 2;
  /// A kind's actors start unfolded in the tree up to this many.
  const TREE_OPEN_UP_TO = 8;
  const KIND_ORDER = ['node', 'peers', 'topic_registry', 'partition', 'replica_fetcher',
    'group_coordinator', 'group', 'session', 'txn_coordinator', 'delay_schedule', 'retry',
    'flusher'];

  const ui = {
    data: null,        // the last good /api/cluster answer
    lastOkMs: 0,
    polls: 0,          // good answers so far
    failure: null,     // why the last poll failed, null when it did not
    selected: null,    // {broker, path} shown in the detail pane
    sort: {},          // table id -> {key, dir}
    open: new Map(),   // tree node id -> open, as the user left it
    treeSig: '',
    seen: new Map(),   // broker id -> {address, up, lastSeenMs}: every broker reported so far
  };

  const $ = (id) => document.getElementById(id);

  /// A new element; props: className, text, dataset, on<event>, or attributes.
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === '') continue;
      if (k === 'className') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  // ---- formatting ----

  function fmtValue(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function fmtBytes(n) {
    if (typeof n !== 'number') return '';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
    return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
  }

  const fmtRate = (v) => (typeof v === 'number' ? v.toFixed(1) : '');

  /// n, or instead when it is negative (unknown).
  const orElse = (n, instead) => (typeof n === 'number' && n < 0 ? instead : n);

  const fmtTime = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

  /// Numbers in numeric order, then text in natural order, missing values last.
  function compare(a, b) {
    const na = a === null || a === undefined || a === '';
    const nb = b === null || b === undefined || b === '';
    if (na || nb) return na === nb ? 0 : na ? 1 : -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'number') return -1;
    if (typeof b === 'number') return 1;
    return fmtValue(a).localeCompare(fmtValue(b), undefined, { numeric: true });
  }

  // ---- the data ----

  const brokers = () => (ui.data && ui.data.brokers) || [];

  /// Every actor of a kind as {broker, actor}, in broker order.
  const actorsOf = (kind) => brokers().flatMap((b) =>
    (b.actors || []).filter((a) => a.kind === kind).map((a) => ({ broker: b, actor: a })));

  function findActor(sel) {
    if (!sel) return null;
    const b = brokers().find((x) => x.broker_id === sel.broker);
    const a = b && (b.actors || []).find((x) => x.path === sel.path);
    return a ? { broker: b, actor: a } : null;
  }

  function isSelected(brokerId, path) {
    return !!ui.selected && ui.selected.broker === brokerId && ui.selected.path === path;
  }

  /// The classes of a table row that stands for an actor.
  function actorRowClass(answered, brokerId, path) {
    return [answered ? '' : 'unanswered', isSelected(brokerId, path) ? 'selected' : ''].join(' ').trim();
  }

  function select(brokerId, path) {
    ui.selected = { broker: brokerId, path };
    renderAll();
    $('detail').scrollTop = 0;
  }

  // ---- tables ----

  function sortBy(tableId, key) {
    const s = ui.sort[tableId];
    ui.sort[tableId] = { key, dir: s && s.key === key ? -s.dir : 1 };
    renderAll();
  }

  /// Fills table: columns [{key, label, value(row) (sorts), text(row) (shows,
  /// default value), num, cls}]; opts {key(row), rowClass(row), onclick(row),
  /// empty}. Rows come in their natural order until a header is clicked.
  function renderTable(table, columns, rows, opts) {
    const colSig = columns.map((c) => c.key).join('\u0001');
    if (table.dataset.columns !== colSig) {
      const tr = el('tr');
      for (const c of columns) {
        tr.append(el('th', {
          className: c.num ? 'num' : '', dataset: { key: c.key }, title: 'sort',
          onclick: () => sortBy(table.id, c.key),
        }, c.label));
      }
      table.replaceChildren(el('thead', null, tr), el('tbody'));
      table.dataset.columns = colSig;
      table.dataset.body = '';
    }
    const sort = ui.sort[table.id];
    const by = sort && columns.find((c) => c.key === sort.key);
    if (by) rows = rows.slice().sort((a, b) => sort.dir * compare(by.value(a), by.value(b)));
    for (const th of table.tHead.rows[0].cells) {
      const on = !!by && th.dataset.key === by.key;
      th.classList.toggle('sorted-asc', on && sort.dir > 0);
      th.classList.toggle('sorted-desc', on && sort.dir < 0);
    }
    const shaped = rows.map((r) => ({
      key: opts.key(r),
      cls: opts.rowClass ? opts.rowClass(r) : '',
      cells: columns.map((c) => fmtValue(c.text ? c.text(r) : c.value(r))),
      row: r,
    }));
    const bodySig = JSON.stringify([opts.empty, shaped.map((s) => [s.key, s.cls, s.cells])]);
    if (table.dataset.body === bodySig) return;
    table.dataset.body = bodySig;
    const body = el('tbody');
    if (!shaped.length) {
      body.append(el('tr', { className: 'empty' },
        el('td', { colspan: columns.length, text: opts.empty || 'none' })));
    }
    for (const s of shaped) {
      const tr = el('tr', { dataset: { key: s.key }, className: s.cls });
      if (opts.onclick) {
        tr.classList.add('clickable');
        tr.addEventListener('click', () => opts.onclick(s.row));
      }
      s.cells.forEach((text, i) => {
        const c = columns[i];
        tr.append(el('td', { className: [c.num ? 'num' : '', c.cls || ''].join(' ').trim(), text }));
      });
      body.append(tr);
    }
    table.tBodies[0].replaceWith(body);
  }

  /// The child of container whose data-key is key, made by create() if none.
  function keyedChild(container, key, create) {
    for (const c of container.children) if (c.dataset.key === key) return c;
    const e = create();
    e.dataset.key = key;
    container.append(e);
    return e;
  }

  /// Removes the children of container whose data-key is not in keys.
  function dropOthers(container, keys) {
    for (const c of [...container.children]) if (!keys.has(c.dataset.key)) c.remove();
  }

  const col = (key, label, value, more) => Object.assign({ key, label, value }, more || {});
  const num = (key, label, value, more) => col(key, label, value, Object.assign({ num: true }, more || {}));

  function renderBrokers() {
    renderTable($('brokers-table'), [
      num('id', 'broker', (b) => b.broker_id),
      col('address', 'address', (b) => b.address),
      col('up', 'status', (b) => (b.up ? 'up' : 'down')),
      num('actors', 'actors', (b) => (b.actors || []).length),
      num('unanswered', 'no answer', (b) => (b.actors || []).filter((a) => !a.answered).length),
      col('taken', 'snapshot', (b) => b.taken_at_ms,
        { text: (b) => (b.taken_at_ms ? fmtTime(b.taken_at_ms) : '') }),
      col('error', 'error', (b) => b.error, { cls: 'error-text' }),
    ], brokers(), {
      key: (b) => String(b.broker_id),
      rowClass: (b) => (b.up ? 'broker-up' : 'broker-down'),
      empty: 'no broker reported',
    });
  }

  /// A partition actor as a row; an actor that did not answer keeps its path's
  /// topic and partition.
  function partitionRow({ broker, actor }) {
    const s = actor.state || {};
    const path = actor.path.slice('partition/'.length);
    const cut = path.lastIndexOf('/');
    const topic = s.topic !== undefined ? s.topic : path.slice(0, cut);
    const partition = s.partition !== undefined ? s.partition : Number(path.slice(cut + 1));
    // An unreplicated partition writes no role; its summary starts with it.
    const role = !actor.answered ? 'no answer' : s.role || (actor.summary || '').split(' ')[0];
    return {
      broker: broker.broker_id, topic, partition, role, answered: actor.answered, path: actor.path,
      log_start: s.log_start_offset, log_end: s.log_end_offset, hw: s.high_watermark,
      size: s.size_bytes, isr: s.replicated ? (s.isr || []).join(',') : '',
      epoch: s.replicated ? s.leader_epoch : undefined,
    };
  }

  function renderPartitions() {
    const internal = $('show-internal').checked;
    const rows = actorsOf('partition').map(partitionRow)
      .filter((r) => internal || !String(r.topic).startsWith('__'))
      .sort((a, b) => compare(a.topic, b.topic) || a.partition - b.partition || a.broker - b.broker);
    renderTable($('partitions-table'), [
      col('topic', 'topic', (r) => r.topic),
      num('partition', 'partition', (r) => r.partition),
      num('broker', 'broker', (r) => r.broker),
      col('role', 'role', (r) => r.role),
      num('log_start', 'log start', (r) => r.log_start),
      num('log_end', 'log end', (r) => r.log_end),
      num('hw', 'high watermark', (r) => r.hw),
      num('size', 'size', (r) => r.size, { text: (r) => fmtBytes(r.size) }),
      num('epoch', 'epoch', (r) => r.epoch),
      col('isr', 'isr', (r) => r.isr),
    ], rows, {
      key: (r) => `${r.topic}/${r.partition}/${r.broker}`,
      rowClass: (r) => actorRowClass(r.answered, r.broker, r.path),
      onclick: (r) => select(r.broker, r.path),
      empty: internal ? 'no partition' : 'no partition (internal topics hidden)',
    });
  }

  /// One row per group; a group reported by several brokers (a coordinator
  /// moving) shows the answer with the most members.
  function groupRows() {
    const best = new Map();
    for (const { broker, actor } of actorsOf('group')) {
      const s = actor.state || {};
      const name = s.group !== undefined ? s.group : actor.path.slice('group/'.length);
      const row = {
        group: name, broker: broker.broker_id, path: actor.path, answered: actor.answered,
        state: actor.answered ? s.state : 'no answer', generation: s.generation,
        members: Array.isArray(s.members) ? s.members.length : undefined,
        total_lag: s.total_lag, unknown: s.lag_unknown_partitions, offsets: s.offsets || [],
      };
      const have = best.get(name);
      const score = (r) => (r.answered ? 1000000 : 0) + (r.members || 0);
      if (!have || score(row) > score(have)) best.set(name, row);
    }
    return [...best.values()].sort((a, b) => compare(a.group, b.group));
  }

  function renderGroups() {
    const groups = groupRows();
    renderTable($('groups-table'), [
      col('group', 'group', (g) => g.group),
      num('broker', 'broker', (g) => g.broker),
      col('state', 'state', (g) => g.state),
      num('generation', 'generation', (g) => g.generation),
      num('members', 'members', (g) => g.members),
      num('total_lag', 'total lag', (g) => g.total_lag, { cls: 'total-lag' }),
      num('unknown', 'lag unknown', (g) => g.unknown,
        { text: (g) => (g.unknown ? `${g.unknown} partition(s)` : '') }),
    ], groups, {
      key: (g) => g.group,
      rowClass: (g) => actorRowClass(g.answered, g.broker, g.path),
      onclick: (g) => select(g.broker, g.path),
      empty: 'no consumer group',
    });
    const lags = [];
    for (const g of groups) for (const o of g.offsets) lags.push(Object.assign({ group: g.group }, o));
    renderTable($('group-lag-table'), [
      col('group', 'group', (o) => o.group),
      col('topic', 'topic', (o) => o.topic),
      num('partition', 'partition', (o) => o.partition),
      // -1: none committed, or the partition's leader did not answer.
      num('committed', 'committed', (o) => o.committed, { text: (o) => orElse(o.committed, '-') }),
      num('log_start', 'log start', (o) => o.log_start_offset, { text: (o) => orElse(o.log_start_offset, '?') }),
      num('hw', 'high watermark', (o) => o.high_watermark, { text: (o) => orElse(o.high_watermark, '?') }),
      num('lag', 'lag', (o) => o.lag, { cls: 'lag', text: (o) => orElse(o.lag, 'unknown') }),
      col('member', 'member', (o) => o.member),
    ], lags, {
      key: (o) => `${o.group}/${o.topic}/${o.partition}`,
      rowClass: (o) => (o.lag < 0 ? 'unanswered' : ''),
      empty: 'no committed or assigned partition',
    });
  }

  /// Array fields of a state (nested objects searched ARRAY_SEARCH_DEPTH
  /// deep) as [dotted name, array].
  function arrayFields(obj, prefix, depth, out) {
    for (const [k, v] of Object.entries(obj || {})) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (Array.isArray(v)) out.push([name, v]);
      else if (v && typeof v === 'object' && depth > 1) arrayFields(v, name, depth - 1, out);
    }
    return out;
  }

  /// Summary line and every array field of each actor of kind, as tables
  /// whose columns are the keys of the array's objects.
  function renderGeneric(containerId, kind) {
    const container = $(containerId);
    const keys = new Set();
    const items = actorsOf(kind);
    if (!items.length) {
      keys.add('none');
      keyedChild(container, 'none', () => el('p', { className: 'muted', text: `no ${kind} actor reported` }));
    }
    for (const { broker, actor } of items) {
      const key = `${broker.broker_id}/${actor.path}`;
      keys.add(key);
      const block = keyedChild(container, key, () => el('div', { className: 'generic-block' },
        el('h3', { className: 'clickable', title: 'show the full state',
          onclick: () => select(broker.broker_id, actor.path) },
        `broker ${broker.broker_id} · ${actor.path}`),
        el('p', { className: 'summary' }), el('div', { className: 'arrays' })));
      const summary = block.querySelector('.summary');
      summary.textContent = actor.answered ? actor.summary : `no answer: ${actor.error}`;
      summary.classList.toggle('error-text', !actor.answered);
      const arrays = block.querySelector('.arrays');
      const names = new Set();
      for (const [name, arr] of arrayFields(actor.state, '', ARRAY_SEARCH_DEPTH, [])) {
        names.add(name);
        const id = `${containerId}-${broker.broker_id}-${actor.path}-${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
        const part = keyedChild(arrays, name, () => el('div', { className: 'array-field' },
          el('h4'), el('table', { id, className: 'generic-table' })));
        part.querySelector('h4').textContent = `${name} (${arr.length})`;
        const objects = arr.length > 0 && arr.every((x) => x && typeof x === 'object' && !Array.isArray(x));
        const cols = [];
        if (objects) {
          const seen = new Set();
          for (const k of arr.flatMap((x) => Object.keys(x))) {
            if (!seen.has(k)) { seen.add(k); cols.push(k); }
          }
        }
        const columns = objects
          ? cols.map((k) => col(k, k, (r) => r.v[k], { num: typeof arr[0][k] === 'number' }))
          : [col('value', 'value', (r) => r.v)];
        renderTable(part.querySelector('table'), columns, arr.map((v, i) => ({ i, v })),
          { key: (r) => String(r.i), empty: 'empty' });
      }
      dropOthers(arrays, names);
      container.append(block);  // keeps broker order
    }
    dropOthers(container, keys);
  }

  function renderActors() {
    const filter = $('actor-filter').value.trim().toLowerCase();
    const rows = [];
    for (const b of brokers()) {
      for (const a of b.actors || []) {
        const text = `${a.path} ${a.kind} ${a.summary} ${a.error}`.toLowerCase();
        if (!filter || text.includes(filter)) rows.push({ broker: b.broker_id, a });
      }
    }
    renderTable($('actors-table'), [
      num('broker', 'broker', (r) => r.broker),
      col('path', 'path', (r) => r.a.path),
      col('kind', 'kind', (r) => r.a.kind),
      num('mailbox', 'mailbox', (r) => r.a.mailbox),
      num('rate', 'msg/s', (r) => r.a.handled_per_s, { text: (r) => fmtRate(r.a.handled_per_s) }),
      num('handled', 'handled', (r) => r.a.handled),
      col('summary', 'summary', (r) => (r.a.answered ? r.a.summary : `no answer: ${r.a.error}`)),
    ], rows, {
      key: (r) => `${r.broker}/${r.a.path}`,
      rowClass: (r) => actorRowClass(r.a.answered, r.broker, r.a.path),
      onclick: (r) => select(r.broker, r.a.path),
      empty: filter ? 'no actor matches' : 'no actor reported',
    });
  }

  // ---- the tree ----

  /// A foldable tree node whose open state survives rebuilds.
  function treeNode(id, defaultOpen, cls, summary, children) {
    const d = el('details', { className: cls, dataset: { node: id } });
    d.open = ui.open.has(id) ? ui.open.get(id) : defaultOpen;
    d.addEventListener('toggle', () => ui.open.set(id, d.open));
    d.append(el('summary', null, ...summary), ...children);
    return d;
  }

  function kindRank(k) {
    const i = KIND_ORDER.indexOf(k);
    return i < 0 ? KIND_ORDER.length : i;
  }

  function buildTree(bs) {
    const brokerNodes = bs.map((b) => {
      const kinds = new Map();
      for (const a of b.actors || []) {
        if (!kinds.has(a.kind)) kinds.set(a.kind, []);
        kinds.get(a.kind).push(a);
      }
      const kindNodes = [...kinds.keys()]
        .sort((x, y) => kindRank(x) - kindRank(y) || x.localeCompare(y))
        .map((kind) => {
          const actors = kinds.get(kind).slice().sort((x, y) => compare(x.path, y.path));
          const unanswered = actors.filter((a) => !a.answered).length;
          return treeNode(`k:${b.broker_id}:${kind}`, actors.length <= TREE_OPEN_UP_TO, 'kind',
            [kind, el('span', { className: 'count', text: String(actors.length) }),
              unanswered ? el('span', { className: 'badge warn', text: `${unanswered} no answer` }) : null],
            [el('ul', null, ...actors.map((a) => el('li', null, el('button', {
              type: 'button', className: `actor-link${a.answered ? '' : ' unanswered'}`,
              title: a.answered ? a.summary : `no answer: ${a.error}`,
              dataset: { broker: String(b.broker_id), path: a.path },
              onclick: () => select(b.broker_id, a.path),
            }, a.path))))]);
        });
      const children = b.up ? kindNodes
        : [el('p', { className: 'broker-error', text: b.error || 'no reason given' })];
      return treeNode(`b:${b.broker_id}`, true, `broker ${b.up ? 'broker-up' : 'broker-down'}`,
        [`broker ${b.broker_id}`,
          el('span', { className: `badge ${b.up ? 'up' : 'down'}`, text: b.up ? 'up' : 'down' }),
          el('span', { className: 'muted', text: b.address })], children);
    });
    const root = treeNode('cluster', true, 'cluster',
      ['cluster', el('span', { className: 'count',
        text: `${bs.length} broker${bs.length === 1 ? '' : 's'}` })],
      brokerNodes);
    $('actor-tree').replaceChildren(root);
  }

  function renderTree() {
    const bs = brokers();
    if (!ui.data) return;
    const sig = JSON.stringify(bs.map((b) => [b.broker_id, b.address, b.up, b.error,
      (b.actors || []).map((a) => [a.kind, a.path, a.answered, a.error])]));
    if (sig !== ui.treeSig) {
      ui.treeSig = sig;
      buildTree(bs);
    }
    for (const btn of $('actor-tree').querySelectorAll('.actor-link')) {
      btn.classList.toggle('selected', isSelected(Number(btn.dataset.broker), btn.dataset.path));
    }
  }

  // ---- the detail pane ----

  function renderDetail() {
    const pane = $('detail');
    pane.hidden = !ui.selected;
    if (!ui.selected) return;
    const found = findActor(ui.selected);
    $('detail-title').textContent = ui.selected.path;
    const facts = [['broker', String(ui.selected.broker)]];
    if (!found) {
      facts.push(['status', 'not in the last report']);
    } else {
      const { broker, actor: a } = found;
      facts.push(['kind', a.kind], ['answered', a.answered ? 'yes' : `no: ${a.error}`],
        ['mailbox', String(a.mailbox)], ['handled', String(a.handled)],
        ['msg/s', fmtRate(a.handled_per_s)], ['summary', a.summary],
        ['snapshot', broker.taken_at_ms ? fmtTime(broker.taken_at_ms) : '']);
    }
    const dl = $('detail-facts');
    const sig = JSON.stringify(facts);
    if (dl.dataset.sig !== sig) {
      dl.dataset.sig = sig;
      dl.replaceChildren(...facts.flatMap(([k, v]) =>
        [el('dt', { text: k }), el('dd', { text: v, dataset: { fact: k } })]));
    }
    const json = found ? JSON.stringify(found.actor.state, null, 2) : '';
    const pre = $('detail-state');
    if (pre.textContent !== json) pre.textContent = json;
  }

  // ---- polling ----

  function renderStatus() {
    const banner = $('stale-banner');
    if (ui.failure) {
      banner.hidden = false;
      banner.textContent = ui.data
        ? `Stale: the last poll of /api/cluster failed (${ui.failure}); `
          + `showing the data of ${fmtTime(ui.lastOkMs)}.`
        : `Unreachable: /api/cluster failed (${ui.failure}); no data yet.`;
    } else {
      banner.hidden = true;
      banner.textContent = '';
    }
    document.body.classList.toggle('stale', !!ui.failure);
    const last = $('last-update');
    if (ui.lastOkMs) {
      last.textContent = fmtTime(ui.lastOkMs);
      last.dataset.ms = String(ui.lastOkMs);
    }
    last.dataset.polls = String(ui.polls);
  }

  function renderAll() {
    renderStatus();
    if (!ui.data) return;
    renderTree();
    renderBrokers();
    renderPartitions();
    renderGroups();
    renderGeneric('txn-content', 'txn_coordinator');
    renderGeneric('delay-content', 'delay_schedule');
    renderGeneric('retry-content', 'retry');
    renderActors();
    renderDetail();
  }

  /// The reason an error answer gives: its JSON "error" or its text.
  function errorText(text) {
    try {
      const j = JSON.parse(text);
      if (j && typeof j.error === 'string') return j.error;
    } catch (e) { /* not JSON: the text itself */ }
    return text.trim().slice(0, 200);
  }

  /// fetch() that gives up after FETCH_TIMEOUT_MS.
  async function fetchText(url) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const resp = await fetch(url, { cache: 'no-store', signal: ctl.signal });
      return { status: resp.status, ok: resp.ok, text: await resp.text() };
    } catch (e) {
      throw new Error(e.name === 'AbortError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : e.message);
    } finally {
      clearTimeout(timer);
    }
  }

  /// A good /api/cluster answer becomes the data shown. The answer lists
  /// the registered brokers only: a broker this page has seen that it no
  /// longer lists (crashed or left: its registration in etcd is gone), or
  /// that a replicated partition names as a replica, is shown as down with
  /// the reason instead of missing from the tables.
  function accept(data) {
    const now = Date.now();
    const listed = new Set();
    const named = new Map();  // broker id -> a partition naming it as a replica
    for (const b of data.brokers) {
      listed.add(b.broker_id);
      ui.seen.set(b.broker_id, { address: b.address, lastSeenMs: now });
      for (const a of b.actors || []) {
        const st = a.state || {};
        if (a.kind !== 'partition' || !st.replicated || !Array.isArray(st.replicas)) continue;
        for (const id of st.replicas) {
          if (typeof id === 'number' && !named.has(id)) named.set(id, `${st.topic}/${st.partition}`);
        }
      }
    }
    const missing = new Map();
    for (const [id, s] of ui.seen) {
      missing.set(id, { address: s.address,
        why: `not in the cluster report since ${fmtTime(s.lastSeenMs)}: no longer registered `
          + '(crashed or left the cluster)' });
    }
    for (const [id, tp] of named) {
      if (!missing.has(id)) {
        missing.set(id, { address: '',
          why: `not in the cluster report (not registered), yet a replica of ${tp}` });
      }
    }
    for (const [id, m] of missing) {
      if (listed.has(id)) continue;
      data.brokers.push({ broker_id: id, address: m.address, up: false, taken_at_ms: 0,
        actors: [], error: m.why, unlisted: true });
    }
    data.brokers.sort((a, b) => a.broker_id - b.broker_id);
    ui.data = data;
    ui.lastOkMs = Date.now();
    ui.polls += 1;
    ui.failure = null;
  }

  async function poll() {
    const started = Date.now();
    try {
      const r = await fetchText('/api/cluster');
      if (!r.ok) throw new Error(`HTTP ${r.status}: ${errorText(r.text)}`);
      const data = JSON.parse(r.text);
      if (!data || !Array.isArray(data.brokers)) throw new Error('unexpected answer: no "brokers"');
      accept(data);
    } catch (e) {
      ui.failure = e.message || String(e);
    }
    try {
      renderAll();
    } catch (e) {
      // A state this page does not expect must not stop the polling.
      console.error(e);
      $('stale-banner').hidden = false;
      $('stale-banner').textContent = `This page failed to show the last answer: ${e.message}`;
    }
    setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
  }

  // ---- message trace ----
  //
  // A trace is a snapshot: /api/trace (the message's copies in retry topics
  // and dead-letter queues, found by their amq-original-* headers) and a
  // fresh /api/cluster (the partition's replicas and the groups' offsets),
  // asked together when the form is submitted and shown as an ordered list
  // of hops: the partition, each replica, each group with an offset there,
  // then the copies in the order the message went through them. The delay
  // wheel's envelopes of the message (a delayed send, a retry waiting for its
  // backoff) come first for the topic itself and before the copies for its
  // retry topics.

  const HOP_LABEL = {
    partition: 'partition', replica: 'replica', group: 'group', retry: 'retry',
    dead_letter: 'dead letter', delay: 'delay wheel',
  };

  const fmtDateTime = (ms) => (typeof ms === 'number' && ms > 0
    ? new Date(ms).toLocaleString([], { hour12: false }) : '');

  /// Where offset stands in a replica's log: {status, tone, text}.
  function offsetStatus(offset, r) {
    if (typeof r.log_start !== 'number' || typeof r.log_end !== 'number') {
      return { status: 'unknown', tone: 'warn', text: 'log offsets unknown' };
    }
    if (offset < r.log_start) {
      return { status: 'deleted', tone: 'bad',
        text: `deleted by retention: the log now starts at ${r.log_start}` };
    }
    if (offset >= r.log_end) {
      return { status: 'not_written', tone: 'warn',
        text: `not written yet: the log ends before it (next offset ${r.log_end})` };
    }
    if (typeof r.hw === 'number' && offset >= r.hw) {
      return { status: 'unacknowledged', tone: 'warn',
        text: `in the log, at or above the high watermark ${r.hw}: not acknowledged yet, not readable` };
    }
    return { status: 'readable', tone: 'ok',
      text: 'in the log, below the high watermark: acknowledged and readable' };
  }

  /// One hop of the trace. facts: [label, value]; empty values are left out.
  function hop(kind, status, tone, title, verdict, facts) {
    const shown = (facts || []).filter(([, v]) => v !== undefined && v !== null && v !== '');
    return el('li', { className: `trace-hop ${tone}`, dataset: { kind, status } },
      el('div', { className: 'hop-head' },
        el('span', { className: 'hop-kind', text: HOP_LABEL[kind] || kind }),
        el('span', { className: 'hop-title', text: title })),
      el('p', { className: 'hop-verdict', text: verdict }),
      shown.length ? el('dl', { className: 'hop-facts' }, ...shown.flatMap(([k, v]) =>
        [el('dt', { text: k }), el('dd', { text: fmtValue(v) })])) : null);
  }

  /// The partition hop and one replica hop per broker that holds topic/p or
  /// should (a replica the leader lists on a broker that did not report).
  function partitionHops(topic, p, offset) {
    const path = `partition/${topic}/${p}`;
    const held = [];
    for (const b of brokers()) {
      const a = (b.actors || []).find((x) => x.kind === 'partition' && x.path === path);
      if (a) held.push({ b, a, row: partitionRow({ broker: b, actor: a }) });
    }
    const leaders = held.filter((h) => h.a.answered && h.row.role === 'leader')
      .sort((x, y) => (y.a.state.leader_epoch || 0) - (x.a.state.leader_epoch || 0));
    const leader = leaders[0] || (held.length === 1 && held[0].a.answered ? held[0] : null);
    const ls = leader ? leader.a.state : {};
    const hops = [];
    if (!held.length) {
      hops.push(hop('partition', 'missing', 'bad', `${topic}/${p} @ ${offset}`,
        `no broker reports partition ${topic}/${p}: no such topic or partition, or its brokers are down`,
        []));
      return hops;
    }
    const verdict = leader ? offsetStatus(offset, leader.row)
      : { status: 'no_leader', tone: 'warn', text: 'no answering leader: see the replicas below' };
    hops.push(hop('partition', verdict.status, verdict.tone, `${topic}/${p} @ ${offset}`,
      leader && held.length > 1 ? `on the leader (broker ${leader.b.broker_id}): ${verdict.text}` : verdict.text, [
        ['leader', leader ? `broker ${leader.b.broker_id}` : 'unknown'],
        ['leader epoch', ls.replicated ? ls.leader_epoch : ''],
        ['replicas', Array.isArray(ls.replicas) ? ls.replicas.join(', ') : ''],
        ['in-sync replicas', ls.replicated && Array.isArray(ls.isr) ? ls.isr.join(', ') : ''],
        ['log', leader ? `${leader.row.log_start}..${leader.row.log_end}` : ''],
        ['high watermark', leader ? leader.row.hw : ''],
      ]));
    for (const h of held.sort((x, y) => x.b.broker_id - y.b.broker_id)) {
      const st = h.a.state || {};
      const fetcher = (h.b.actors || []).find((x) => x.kind === 'replica_fetcher'
        && x.path === `fetcher/${topic}/${p}`);
      const fs = fetcher && fetcher.answered ? fetcher.state || {} : null;
      const v = h.a.answered ? offsetStatus(offset, h.row)
        : { status: 'no_answer', tone: 'bad', text: `no answer: ${h.a.error}` };
      hops.push(hop('replica', v.status, v.tone, `broker ${h.b.broker_id} · ${h.row.role}`, v.text, [
        ['log start', h.row.log_start], ['log end', h.row.log_end], ['high watermark', h.row.hw],
        ['flushed up to', st.flushed_offset],
        ['fetching', fs ? `${fs.phase} from broker ${fs.leader}, lag ${fs.lag}` : ''],
      ]));
    }
    const have = new Set(held.map((h) => h.b.broker_id));
    for (const id of Array.isArray(ls.replicas) ? ls.replicas : []) {
      if (typeof id !== 'number' || have.has(id)) continue;
      const b = brokers().find((x) => x.broker_id === id);
      const why = !b ? 'not in the cluster report'
        : !b.up ? `broker ${id} is down${b.error ? `: ${b.error}` : ''}`
          : 'the broker runs no partition actor for it';
      hops.push(hop('replica', b && !b.up ? 'down' : 'unreported', 'bad', `broker ${id} · replica`,
        `not reported: ${why}`, [['address', b ? b.address : '']]));
    }
    return hops;
  }

  /// Group offsets on topic/p: [{group, committed, lag, member}].
  function offsetsOn(topic, p) {
    const out = [];
    for (const g of groupRows()) {
      for (const o of g.offsets) {
        if (o.topic === topic && o.partition === p) out.push(Object.assign({ group: g.group }, o));
      }
    }
    return out;
  }

  /// Whether committed offset c is past offset: {status, tone, text}.
  function consumedStatus(c, offset) {
    if (typeof c !== 'number' || c < 0) {
      return { status: 'none', tone: 'warn', text: 'no offset committed (or its leader did not answer)' };
    }
    if (c > offset) {
      return { status: 'consumed', tone: 'ok', text: `consumed past it: committed offset ${c} > ${offset}` };
    }
    return { status: 'pending', tone: 'warn', text: `not consumed yet: next offset to consume is ${c}` };
  }

  function groupHops(topic, p, offset) {
    return offsetsOn(topic, p).map((o) => {
      const v = consumedStatus(o.committed, offset);
      return hop('group', v.status, v.tone, o.group, v.text, [
        ['committed', orElse(o.committed, '-')], ['lag', orElse(o.lag, 'unknown')],
        ['member', o.member],
      ]);
    });
  }

  /// The copies in the order the message went through them: re-drive cycle,
  /// delivery number, a retry before the dead letter of the same delivery.
  function copyOrder(a, b) {
    const n = (v) => (typeof v === 'number' ? v : 0);
    return n(a.redrive_count) - n(b.redrive_count)
      || n(a.delivery_count) - n(b.delivery_count)
      || (a.kind === 'dead_letter') - (b.kind === 'dead_letter')
      || n(a.timestamp_ms) - n(b.timestamp_ms)
      || compare(a.topic, b.topic) || n(a.offset) - n(b.offset);
  }

  function copyHops(copies) {
    return copies.slice().sort(copyOrder).map((c) => {
      const where = `${c.topic}/${c.partition} @ ${c.offset}`;
      const seen = offsetsOn(c.topic, c.partition).map((o) => {
        const v = consumedStatus(o.committed, c.offset);
        return [`group ${o.group}`, v.text];
      });
      if (c.kind === 'dead_letter') {
        return hop('dead_letter', String(c.reason || 'dead_letter'), 'bad', where,
          `dead-lettered (${c.reason || 'no reason given'})${c.dlq_group ? ` by group ${c.dlq_group}` : ''}`,
          [['reason', c.reason], ['group', c.dlq_group], ['dead-lettered at', fmtDateTime(c.dlq_time_ms)],
            ['delivery count', c.delivery_count], ['last error', c.last_error],
            ['re-drives', c.redrive_count || ''], ['written at', fmtDateTime(c.timestamp_ms)], ...seen]);
      }
      return hop('retry', 'retry', 'warn', where, `retried: delivery ${c.delivery_count}`,
        [['delivery count', c.delivery_count], ['last error', c.last_error],
          ['re-drives', c.redrive_count || ''], ['written at', fmtDateTime(c.timestamp_ms)], ...seen]);
    });
  }

  /// The delay wheel's envelopes of the message, in the order they were
  /// scheduled.
  function delayHops(delays) {
    return delays.slice().sort((a, b) => a.scheduled_ms - b.scheduled_ms
      || a.envelope_offset - b.envelope_offset).map((d) => {
      const where = `${d.topic}/${d.partition}`;
      const what = d.level === 'retry' ? 'a retry held for its backoff'
        : d.level === 'at' ? 'delayed to a deliver-at time'
          : /^[0-9]+$/.test(d.level) ? `delayed by level ${d.level}` : 'delayed';
      const dispatched = d.state === 'dispatched';
      return hop('delay', d.state, dispatched ? 'ok' : 'warn', `${where} · due ${fmtDateTime(d.due_ms)}`,
        dispatched ? `${what}, then delivered to ${where} by dispatch ${d.dispatch}`
          : `${what}: waiting in the delay wheel until ${fmtDateTime(d.due_ms)}`,
        [['level', d.level], ['scheduled at', fmtDateTime(d.scheduled_ms)], ['due', fmtDateTime(d.due_ms)],
          ['envelope', `__delay_schedule/${d.schedule_partition} @ ${d.envelope_offset}`],
          ['dispatch', dispatched ? d.dispatch : '']]);
    });
  }

  /// The parsed JSON of an answer, or null.
  function parseJson(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  let traceSeq = 0;

  async function trace(ev) {
    ev.preventDefault();
    const seq = ++traceSeq;
    const topic = $('trace-topic').value.trim();
    const id = $('trace-id').value.trim().toLowerCase();
    // By id, the partition and offset come back with the trace.
    let p = Number($('trace-partition').value);
    let offset = Number($('trace-offset').value);
    const list = $('trace-result');
    const status = $('trace-status');
    const say = (cls, text) => { status.className = cls; status.textContent = text; };
    say('muted', 'tracing…');
    const q = new URLSearchParams(id ? { topic, id }
      : { topic, partition: String(p), offset: String(offset) });
    const [tr, cl] = await Promise.allSettled([fetchText(`/api/trace?${q}`), fetchText('/api/cluster')]);
    if (seq !== traceSeq) return;  // a newer trace was asked for
    const notes = [];
    // The freshest cluster report, else the last one polled.
    let clusterNote = '';
    if (cl.status === 'fulfilled' && cl.value.ok) {
      const data = parseJson(cl.value.text);
      if (data && Array.isArray(data.brokers)) {
        accept(data);
        try { renderAll(); } catch (e) { console.error(e); }
      } else clusterNote = 'unexpected /api/cluster answer';
    } else {
      clusterNote = cl.status === 'fulfilled'
        ? `HTTP ${cl.value.status}: ${errorText(cl.value.text)}` : cl.reason.message;
    }
    if (clusterNote) {
      notes.push(ui.data ? `/api/cluster failed (${clusterNote}): replicas and groups as of `
        + `${fmtTime(ui.lastOkMs)}` : `/api/cluster failed (${clusterNote}): no replica or group shown`);
    }
    let copies = [];
    let delays = [];
    let bad = false;
    let located = !id;  // by id: once the trace says where it is
    if (tr.status === 'rejected') {
      notes.push(`/api/trace failed: ${tr.reason.message}`);
      bad = true;
    } else if (tr.value.status === 404 && tr.value.text.startsWith('no such page')) {
      notes.push('this broker has no /api/trace: retry and dead-letter copies not shown');
    } else if (tr.value.status === 400) {
      list.hidden = true;
      list.replaceChildren();
      say('error-text', `bad trace: ${errorText(tr.value.text)}`);
      return;
    } else if (!tr.value.ok) {
      notes.push(`/api/trace: HTTP ${tr.value.status}: ${errorText(tr.value.text)}`);
      bad = true;
    } else {
      const t = parseJson(tr.value.text);
      if (!t || !Array.isArray(t.copies)) {
        notes.push('/api/trace: unexpected answer');
        bad = true;
      } else if (id && !t.found && !(Array.isArray(t.delays) && t.delays.length)) {
        list.hidden = true;
        list.replaceChildren();
        say('error-text', `no message with id ${id} in ${topic} (${fmtBytes(t.scanned_bytes)} `
          + `scanned${t.truncated ? ', incomplete' : ''})`);
        return;
      } else if (id && !t.found) {
        // Not in the topic yet: only the delay wheel holds it.
        delays = t.delays;
        notes.push(`not in ${topic} yet: ${delays.length} envelope${delays.length === 1 ? '' : 's'} `
          + `in the delay wheel (${fmtBytes(t.scanned_bytes)} scanned)`);
      } else {
        if (id) {
          p = t.partition;
          offset = t.offset;
          located = true;
        }
        copies = t.copies;
        delays = Array.isArray(t.delays) ? t.delays : [];
        if (delays.length) {
          notes.push(`${delays.length} envelope${delays.length === 1 ? '' : 's'} in the delay wheel`);
        }
        notes.push(`${copies.length} cop${copies.length === 1 ? 'y' : 'ies'} in retry topics `
          + `and dead-letter queues (${fmtBytes(t.scanned_bytes)} scanned`
          + `${t.truncated ? ', incomplete: some were not read' : ''})`);
        if (t.truncated) bad = true;
      }
    }
    const hops = delayHops(delays.filter((d) => d.topic === topic));
    if (ui.data && located) hops.push(...partitionHops(topic, p, offset), ...groupHops(topic, p, offset));
    hops.push(...delayHops(delays.filter((d) => d.topic !== topic)));
    hops.push(...copyHops(copies));
    list.replaceChildren(...hops);
    list.hidden = hops.length === 0;
    list.dataset.topic = topic;
    list.dataset.partition = String(p);
    list.dataset.offset = String(offset);
    const at = located ? `${topic}/${p} @ ${offset}` : topic;
    say(bad ? 'error-text' : 'muted',
      `${at}${id ? ` (id ${id})` : ''}, traced ${fmtTime(Date.now())}: `
      + `${notes.join('; ')}.`);
  }

  function start() {
    $('show-internal').addEventListener('change', renderAll);
    $('actor-filter').addEventListener('input', renderAll);
    $('trace-form').addEventListener('submit', trace);
    $('detail-close').addEventListener('click', () => { ui.selected = null; renderAll(); });
    poll();
  }

  start();
})();
