// The service-order board (服务工单): today's, overdue and open orders, live from the console feed; the
// new-order form with its elder search; and one order's history and offers.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { pickable } from './pickable.js';
import { api } from './api.js';
import { formatTime, formatWindow, localDate, localToday, localToUtc, reasonText } from './i18n.js';
import { ElderPicker } from './elderpicker.js';
import { useTopic } from './live.js';
import { Pager } from './pager.js';
import { yuan } from './money.js';
import { AllowanceHint, OrderPayments } from './payments.js';

const TABS = ['today', 'overdue', 'open', 'closed', 'all'];
const STATES = ['requested', 'scheduled', 'in_progress', 'completed', 'followed_up', 'cancelled', 'failed'];
const OPEN_STATES = new Set(['requested', 'scheduled', 'in_progress']);
const PAGE_SIZE = 50;
// Dates and times are typed as the console shows them in either language: 2026-03-02, 09:00 (24-hour, Shanghai),
// not in the browser's own locale as date and time inputs would.
const DATE_PATTERN = '\\d{4}-\\d{2}-\\d{2}';
const TIME_PATTERN = '([01]\\d|2[0-3]):[0-5]\\d';

/** What the badge says: a scheduled order is either still offered or accepted by its provider. */
export function orderPhase(order) {
  if (order.state !== 'scheduled') return order.state;
  return order.accepted_at ? 'accepted' : 'offered';
}

function belongs(order, { tab, state, providerId }) {
  if (state && order.state !== state) return false;
  if (providerId && String(order.provider_id) !== providerId) return false;
  if (tab === 'today') return localDate(order.window_start) === localToday();
  if (tab === 'overdue') return Boolean(order.overdue);
  if (tab === 'open') return OPEN_STATES.has(order.state);
  if (tab === 'closed') return !OPEN_STATES.has(order.state);
  return true;
}

function byWindow(a, b) {
  return a.window_start.localeCompare(b.window_start) || a.id - b.id;
}

/** The board's rows after one live change: updated, inserted or dropped as the order (no longer) fits. */
function applyChange(page, order, filters) {
  const present = page.items.some((o) => o.id === order.id);
  const others = page.items.filter((o) => o.id !== order.id);
  if (!belongs(order, filters)) return present ? { items: others, total: page.total - 1 } : page;
  const sorted = [...others, order].sort(byWindow);
  if (filters.tab === 'closed') sorted.reverse(); // the history: latest first, as the server sends it
  return { items: sorted, total: page.total + (present ? 0 : 1) };
}

export function OrderBadge({ order, t }) {
  const phase = orderPhase(order);
  return html`<span class=${`order-badge phase-${phase}`} data-testid="order-state" data-state=${order.state} data-phase=${phase}>
    ${t(`order_state.${phase}`)}</span>`;
}

// ---------------------------------------------------------------- the board

function OrderRow({ order, selected, t, onSelect }) {
  return html`
    <tr class=${`order-row ${selected ? 'selected' : ''} ${order.overdue ? 'overdue' : ''} ${order.escalated_at ? 'escalated' : ''}`}
        data-testid="order-row" data-order-id=${order.id} ...${pickable(() => onSelect(order.id))}>
      <td class="window">${formatWindow(order.window_start, order.window_end)}</td>
      <td class="elder-name" translate=${false}>${order.elder_name}</td>
      <td>${t(`service.${order.service_type}`)}</td>
      <td><${OrderBadge} order=${order} t=${t} /></td>
      <td data-testid="order-provider" translate=${false}>${order.provider_name || '—'}</td>
      <td class="flags">
        ${order.escalated_at && html`<span class="escalation" data-testid="order-escalated" title=${escalationText(order, t)}>⚠ ${t('escalated')}</span>`}
        ${order.overdue && html`<span class="overdue-tag">${t('overdue')}</span>`}
      </td>
    </tr>`;
}

function Filters({ filters, providers, t, onChange }) {
  return html`
    <div class="board-filters">
      <div class="tabs" role="tablist">
        ${TABS.map((tab) => html`
          <button key=${tab} role="tab" aria-selected=${filters.tab === tab} class=${filters.tab === tab ? 'tab active' : 'tab'}
            data-testid=${`orders-tab-${tab}`} onClick=${() => onChange({ ...filters, tab })}>${t(`order_tab.${tab}`)}</button>`)}
      </div>
      <select aria-label=${t('filter_state')} value=${filters.state} onChange=${(e) => onChange({ ...filters, state: e.target.value })}>
        <option value="">${t('all_states')}</option>
        ${STATES.map((s) => html`<option key=${s} value=${s}>${t(`order_state.${s}`)}</option>`)}
      </select>
      <select aria-label=${t('filter_provider')} value=${filters.providerId}
        onChange=${(e) => onChange({ ...filters, providerId: e.target.value })}>
        <option value="">${t('all_providers')}</option>
        ${providers.map((p) => html`<option key=${p.id} value=${String(p.id)}>${p.name}</option>`)}
      </select>
    </div>`;
}

function ordersQuery({ tab, state, providerId }, offset) {
  const params = new URLSearchParams({ view: tab, limit: String(PAGE_SIZE), offset: String(offset) });
  if (state) params.set('state', state);
  if (providerId) params.set('provider_id', providerId);
  return `/api/v1/service-orders?${params}`;
}

export function OrdersView({ topics, config, intent, t, onError, onInfo }) {
  const [filters, setFiltersAndPage] = useState({ tab: 'today', state: '', providerId: '' });
  const [offset, setOffset] = useState(0);
  const setFilters = (next) => {
    setOffset(0);
    setFiltersAndPage(next);
  };
  const [page, setPage] = useState({ items: [], total: 0 });
  const [providers, setProviders] = useState([]);
  const [selectedId, setSelectedId] = useState(null);
  const [versions, setVersions] = useState({});
  const [creating, setCreating] = useState(false);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    api(ordersQuery(filters, offset)).then(setPage, onError);
  }, [filters, offset, reloads]);
  useEffect(() => {
    api('/api/v1/providers?limit=500').then((p) => setProviders(p.items), onError);
  }, []);
  useTopic(topics, 'order', (order) => {
    setPage((current) => applyChange(current, order, filters));
    setVersions((v) => ({ ...v, [order.id]: (v[order.id] || 0) + 1 }));
  });
  useTopic(topics, 'resync', () => setReloads((n) => n + 1));
  // The phone panel asks for a new order for the caller: the form opens with the elder picked.
  // A search hit or the elder page opens one order (openId).
  useEffect(() => {
    if (intent?.openId) setSelectedId(intent.openId);
    else if (intent) setCreating(true);
  }, [intent?.at]);

  const created = (order) => {
    setCreating(false);
    const open = { tab: 'open', state: '', providerId: '' };
    setFilters((f) => (belongs(order, f) ? f : open));
    setPage((current) => applyChange(current, order, open));
    setSelectedId(order.id);
    onInfo(createdMessage(order, t));
  };

  return html`
    <section class="desk-view orders-view" aria-label=${t('orders_title')}>
      <div class="board card" data-testid="orders-board">
        <div class="board-head">
          <h2>${t('orders_title')} <span class="count" data-testid="orders-count">${page.total}</span></h2>
          <button class="primary" data-testid="new-order" onClick=${() => setCreating(true)}>${t('new_order')}</button>
        </div>
        <${Filters} filters=${filters} providers=${providers} t=${t} onChange=${setFilters} />
        ${creating && html`<${OrderForm} key=${intent?.at || 0} config=${config} initialElder=${intent?.elder || null} t=${t} onError=${onError} onCreated=${created} onClose=${() => setCreating(false)} />`}
        <table class="orders-table">
          <thead><tr>${['window', 'elder', 'service', 'state', 'provider', 'flags'].map((c) => html`<th key=${c}>${t(`col.${c}`)}</th>`)}</tr></thead>
          <tbody>
            ${page.items.map((o) => html`<${OrderRow} key=${o.id} order=${o} selected=${o.id === selectedId} t=${t} onSelect=${setSelectedId} />`)}
          </tbody>
        </table>
        ${page.items.length === 0 && html`<p class="empty">${t('no_orders')}</p>`}
        <${Pager} offset=${offset} size=${PAGE_SIZE} total=${page.total} t=${t} onOffset=${setOffset} testid="orders" />
      </div>
      ${selectedId !== null && html`<${OrderDetail} key=${selectedId} orderId=${selectedId} version=${versions[selectedId] || 0}
        t=${t} onError=${onError} onInfo=${onInfo} onClose=${() => setSelectedId(null)} />`}
    </section>`;
}

// ---------------------------------------------------------------- the new-order form

function OrderForm({ config, initialElder, t, onError, onCreated, onClose }) {
  const serviceTypes = config.service_types.filter((s) => s !== 'emergency_rescue');
  const [elder, setElder] = useState(initialElder);
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    if (!elder) return setProblem(t('pick_elder'));
    const windowStart = localToUtc(form.get('date'), form.get('start'));
    const windowEnd = localToUtc(form.get('date'), form.get('end'));
    if (windowEnd <= windowStart) return setProblem(t('window_invalid'));
    setProblem('');
    setBusy(true);
    try {
      const body = { elder_id: elder.id, service_type: form.get('service_type'), window_start: windowStart, window_end: windowEnd };
      if (form.get('notes').trim()) body.notes = form.get('notes').trim();
      onCreated(await api('/api/v1/service-orders', { method: 'POST', body }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
    return undefined;
  };
  return html`
    <form class="order-form" data-testid="order-form" onSubmit=${submit} aria-label=${t('order_form')}>
      <h3>${t('order_form')}</h3>
      <${ElderPicker} elder=${elder} t=${t} onError=${onError} onPick=${setElder} />
      ${elder && html`<${AllowanceHint} key=${elder.id} elderId=${elder.id} t=${t} onError=${onError} />`}
      <div class="form-row">
        <label>${t('service_type')}
          <select name="service_type" data-testid="order-service">
            ${serviceTypes.map((s) => html`<option key=${s} value=${s} selected=${s === 'cleaning'}>${t(`service.${s}`)}</option>`)}
          </select>
        </label>
        <label>${t('date')}<input type="text" inputmode="numeric" name="date" data-testid="order-date" required pattern=${DATE_PATTERN} size="10" defaultValue=${localToday(1)} /></label>
        <label>${t('start_time')}<input type="text" inputmode="numeric" name="start" data-testid="order-start" required pattern=${TIME_PATTERN} size="5" defaultValue="09:00" /></label>
        <label>${t('end_time')}<input type="text" inputmode="numeric" name="end" data-testid="order-end" required pattern=${TIME_PATTERN} size="5" defaultValue="11:00" /></label>
      </div>
      <label class="wide">${t('notes')}<textarea name="notes" maxlength="2000" placeholder=${t('notes_placeholder')}></textarea></label>
      ${problem && html`<p class="error" role="alert">${problem}</p>`}
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="order-submit" disabled=${busy}>${t('create_order')}</button>
        <button type="button" onClick=${onClose}>${t('back')}</button>
      </div>
    </form>`;
}

// ---------------------------------------------------------------- one order

/** What one history line says: the job's steps as on a call's timeline, the order's own steps by kind. */
function historyText(entry, t) {
  const d = entry.detail || {};
  switch (entry.kind) {
    case 'requested': return d.source ? t(`order_source.${d.source}`) : entry.text;
    case 'dispatch': return [d.service_type && t(`service.${d.service_type}`), entry.text].filter(Boolean).join(' · ');
    case 'offer': return [d.rank && `#${d.rank}`, d.provider, d.code].filter(Boolean).join(' · ');
    case 'followed_up': return d.satisfaction ? `${t('satisfaction')} ${d.satisfaction}` : entry.text;
    case 'dispatch_failed':
    case 'escalated': return reasonText(t, d.reason_code, d.reason_params, entry.text);
    default: return [d.provider, d.code, d.via && `(${d.via})`, entry.text].filter(Boolean).join(' · ');
  }
}

function historyLabel(kind, t) {
  const own = t('order_entry');
  return typeof own === 'object' && own[kind] ? own[kind] : t(`entry.${kind}`);
}

function History({ history, t }) {
  return html`
    <section aria-label=${t('history')}>
      <h3>${t('history')}</h3>
      <ol class="timeline order-history" data-testid="order-history">
        ${[...history].reverse().map((e, i) => html`
          <li key=${i} class=${`entry-${e.kind}`}>
            <time>${formatTime(e.at)}</time>
            <span class="entry-kind">${historyLabel(e.kind, t)}</span>
            <span class="entry-who">${e.by || ''}</span>
            <span class="entry-text">${historyText(e, t)}</span>
          </li>`)}
      </ol>
    </section>`;
}

function Offers({ job, t }) {
  return html`
    <section aria-label=${t('offers')}>
      <h3>${t('offers')} ${job && html`<span class="state-label">${t(`job_state.${job.state}`)}</span>`}</h3>
      ${!job || !job.offers.length
        ? html`<p class="empty">${(job && reasonText(t, job.reason_code, job.reason_params, job.reason)) || t('no_offers')}</p>`
        : html`<table class="offers" data-testid="order-offers"><tbody>
            ${job.offers.map((o, i) => html`
              <tr key=${i} class=${`offer-${o.state}`} data-offer-state=${o.state}>
                <td translate=${false}>${o.provider_name}</td>
                <td class="offer-state">${t(`offer_state.${o.state}`)}</td>
                <td>${t('code')} ${o.code}</td>
                <td class="muted">${o.state === 'offered' && o.deadline_at ? `${t('reply_by')} ${formatTime(o.deadline_at)}` : ''}</td>
              </tr>`)}
          </tbody></table>`}
    </section>`;
}

function OrderActions({ order, t, onError, onInfo, onChanged }) {
  const [cancelling, setCancelling] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const post = async (path, body, message) => {
    setBusy(true);
    try {
      await api(`/api/v1/service-orders/${order.id}${path}`, { method: 'POST', body });
      onInfo(message);
      setCancelling(false);
      onChanged();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  if (!OPEN_STATES.has(order.state)) return null;
  return html`
    <div class="action-buttons">
      ${order.state === 'requested' && html`<button class="primary" data-testid="order-redispatch" disabled=${busy}
        onClick=${() => post('/dispatch', {}, t('redispatched'))}>${t('redispatch')}</button>`}
      ${!cancelling && html`<button class="danger" data-testid="order-cancel" disabled=${busy} onClick=${() => setCancelling(true)}>${t('cancel_order')}</button>`}
      ${cancelling && html`
        <form class="cancel-form" onSubmit=${(e) => { e.preventDefault(); post('/cancel', { reason: reason.trim() }, t('order_cancelled')); }}>
          <input aria-label=${t('cancel_reason')} placeholder=${t('cancel_reason')} data-testid="cancel-reason" required
            value=${reason} onInput=${(e) => setReason(e.target.value)} />
          <button type="submit" class="danger" disabled=${busy || !reason.trim()} data-testid="confirm-cancel">${t('confirm_cancel')}</button>
          <button type="button" onClick=${() => setCancelling(false)}>${t('keep_order')}</button>
        </form>`}
    </div>`;
}

function OrderFacts({ order, t }) {
  const fact = (label, value) => value && html`<dt>${label}</dt><dd>${value}</dd>`;
  const price = order.price_cents != null
    ? `${order.price_item || ''} ${yuan(order.price_cents)} · ${t(`payment.${order.payment_method}`)} (${t('subsidy_part')} ${yuan(order.subsidy_cents)} / ${t('self_pay_part')} ${yuan(order.self_pay_cents)})`
    : '';
  return html`
    <dl class="facts">
      ${fact(t('address'), order.address)}
      ${fact(t('col.provider'), order.provider_name)}
      ${fact(t('notes'), order.notes)}
      ${fact(t('price'), price)}
      ${fact(t('escalated'), order.escalated_at && `${formatTime(order.escalated_at)} ${escalationText(order, t)}`)}
      ${fact(t('reason'), order.reason)}
      ${fact(t('created'), `${formatTime(order.created_at)} · ${order.created_by} · ${t(`order_source.${order.source}`)}`)}
      ${fact(t('accepted_at'), order.accepted_at && formatTime(order.accepted_at))}
      ${fact(t('arrived_at'), order.arrived_at && formatTime(order.arrived_at))}
      ${fact(t('completed_at'), order.completed_at && formatTime(order.completed_at))}
    </dl>`;
}

function OrderDetail({ orderId, version, t, onError, onInfo, onClose }) {
  const [order, setOrder] = useState(null);
  const [reloads, setReloads] = useState(0);
  useEffect(() => {
    api(`/api/v1/service-orders/${orderId}`).then(setOrder, onError);
  }, [orderId, version, reloads]);
  if (!order) return html`<aside class="order-detail card"></aside>`;
  return html`
    <aside class="order-detail card" data-testid="order-detail" data-order-id=${order.id} aria-label=${t('order_detail')}>
      <header class="detail-title">
        <h2>#${order.id} <span class="elder-name" translate=${false}>${order.elder_name}</span> · ${t(`service.${order.service_type}`)}</h2>
        <button class="link" aria-label=${t('close_detail')} onClick=${onClose}>×</button>
      </header>
      <p><span class="window">${formatWindow(order.window_start, order.window_end)}</span> <${OrderBadge} order=${order} t=${t} />
        ${order.overdue && html` <span class="overdue-tag">${t('overdue')}</span>`}</p>
      <${OrderActions} order=${order} t=${t} onError=${onError} onInfo=${onInfo} onChanged=${() => setReloads((n) => n + 1)} />
      <${OrderFacts} order=${order} t=${t} />
      <${OrderPayments} order=${order} version=${version + reloads} t=${t} onError=${onError} onInfo=${onInfo} />
      <${Offers} job=${order.job} t=${t} />
      <${History} history=${order.history || []} t=${t} />
    </aside>`;
}

function escalationText(order, t) {
  return reasonText(t, order.escalation_code, order.escalation_params, order.escalation_reason);
}

/** What creating the order did: offered to whom, kept for later, or back to the agents at once (and why). */
function createdMessage(order, t) {
  if (order.escalated_at) return t('order_escalated_now', { id: order.id, reason: escalationText(order, t) });
  const asked = (order.job?.offers || []).filter((o) => o.state === 'offered').map((o) => o.provider_name);
  if (asked.length) return t('order_offered_to', { id: order.id, providers: asked.join('、') });
  return t(order.state === 'scheduled' ? 'order_offered' : 'order_waiting', { id: order.id });
}
