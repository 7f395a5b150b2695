// The phone view (电话): the call-back worklist on top (callers who hung up while waiting, to ring back
// first), then every phone call with filters, and a recording's playback for the agent who took the call
// and for supervisors (each playback is an audited read on the server, so the audio loads only on demand).

import { html, useEffect, useRef, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { formatDuration, formatTime } from './i18n.js';
import { useTopic } from './live.js';
import { DIRECTIONS, usePhone } from './phone.js';

const PAGE_SIZE = 100;
const MESSAGE_RELOAD_MS = 1000; // a busy hour's burst of phone messages costs one reload a second
const STATES = ['queued', 'ringing', 'talking', 'ended'];

function isManager(me) {
  return me.role === 'supervisor' || me.role === 'admin';
}

export function mayPlay(me, phoneCall) {
  return isManager(me) || phoneCall.agent_id === me.id;
}

// ---------------------------------------------------------------- call-backs

function CallbackRow({ item, t, onDone, onError }) {
  const [busy, setBusy] = useState(false);
  const { dial } = usePhone();
  // Lists mask numbers: the whole number is on the (audited) phone call.
  const ringBack = async () => {
    try {
      const phoneCall = await api(`/api/v1/phone-calls/${item.phone_call_id}`);
      dial(phoneCall.direction === 'inbound' ? phoneCall.from : phoneCall.to, {});
    } catch (err) {
      onError(err);
    }
  };
  const done = async () => {
    setBusy(true);
    try {
      await onDone(item);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <li class=${`callback-row ${item.alarm_open ? 'alarm-open' : ''}`} data-testid="callback-row" data-callback-id=${item.id}>
      <time>${formatTime(item.created_at)}</time>
      <span class="number">${item.number}</span>
      <button type="button" class="small dial-button" data-testid="callback-dial" onClick=${ringBack}>☎ ${t('ring_back')}</button>
      <span>${item.category ? t(`phone_category.${item.category}`) : ''}</span>
      ${item.alarm_open && html`<span class="warn" data-testid="callback-alarm">${t('callback_alarm_open')}</span>`}
      <button type="button" class="small" data-testid="callback-done" disabled=${busy} onClick=${done}>${t('callback_done')}</button>
    </li>`;
}

function Callbacks({ topics, t, onError, onInfo }) {
  const [items, setItems] = useState([]);
  const [reloads, setReloads] = useState(0);
  const reload = () => setReloads((n) => n + 1);
  useEffect(() => {
    api('/api/v1/callbacks?state=open').then((page) => setItems(page.items), onError);
  }, [reloads]);
  useTopic(topics, 'callback', reload);
  useTopic(topics, 'resync', reload);
  const done = async (item) => {
    try {
      await api(`/api/v1/callbacks/${item.id}/done`, { method: 'POST', body: {} });
      setItems((current) => current.filter((c) => c.id !== item.id));
      onInfo(t('callback_marked_done'));
    } catch (err) {
      onError(err);
    }
  };
  return html`
    <section class="callbacks card" aria-label=${t('callbacks_title')} data-testid="callbacks">
      <h3>${t('callbacks_title')} <span class="count" data-testid="callbacks-count">${items.length}</span></h3>
      ${items.length === 0 ? html`<p class="empty">${t('no_callbacks')}</p>` : html`
        <ol class="callback-list">${items.map((c) => html`<${CallbackRow} key=${c.id} item=${c} t=${t} onDone=${done} onError=${onError} />`)}</ol>`}
    </section>`;
}

// ---------------------------------------------------------------- the list

function Recording({ phoneCall, me, t }) {
  const [playing, setPlaying] = useState(false);
  const recording = phoneCall.recording;
  if (!recording) return html`<span class="muted">—</span>`;
  if (recording.state !== 'stored') return html`<span class="muted" data-testid="recording-state">${t(`recording_state.${recording.state}`)}</span>`;
  if (!mayPlay(me, phoneCall)) return html`<span class="muted">${formatDuration(recording.duration_s || 0)}</span>`;
  if (!playing) {
    return html`<button type="button" class="small" data-testid="recording-play" title=${t('recording_audited')}
      onClick=${(e) => { e.stopPropagation(); setPlaying(true); }}>▶ ${formatDuration(recording.duration_s || 0)}</button>`;
  }
  return html`<audio controls autoplay preload="none" data-testid="recording-audio" src=${`/api/v1/phone-calls/${phoneCall.id}/recording`}></audio>`;
}

function PhoneCallRow({ phoneCall, me, t }) {
  const number = phoneCall.direction === 'inbound' ? phoneCall.from : phoneCall.to;
  const waited = phoneCall.queued_at && (phoneCall.answered_at || phoneCall.ended_at)
    ? (Date.parse(phoneCall.answered_at || phoneCall.ended_at) - Date.parse(phoneCall.queued_at)) / 1000 : null;
  return html`
    <tr class=${`phone-row direction-${phoneCall.direction} outcome-${phoneCall.outcome || 'none'}`} data-testid="phone-row"
        data-phone-call-id=${phoneCall.id}>
      <td>${formatTime(phoneCall.answered_at || phoneCall.queued_at || phoneCall.created_at)}</td>
      <td>${t(`phone_direction.${phoneCall.direction}`)}${phoneCall.by_hand ? html` <span class="tag">${t('by_hand')}</span>` : ''}</td>
      <td class="number">${number}</td>
      <td>${phoneCall.elder_name || (phoneCall.caller_kind ? t(`caller_kind.${phoneCall.caller_kind}`) : '')}</td>
      <td>${phoneCall.category ? t(`phone_category.${phoneCall.category}`) : '—'}</td>
      <td data-testid="phone-row-outcome">${phoneCall.outcome ? t(`phone_outcome.${phoneCall.outcome}`) : t(`phone_state.${phoneCall.state}`)}</td>
      <td class="agent-name">${phoneCall.agent || '—'}</td>
      <td>${waited !== null ? formatDuration(waited) : '—'}</td>
      <td>${phoneCall.talk_seconds != null ? formatDuration(phoneCall.talk_seconds) : '—'}</td>
      <td class="note">${phoneCall.note || ''}</td>
      <td><${Recording} phoneCall=${phoneCall} me=${me} t=${t} /></td>
    </tr>`;
}

function listQuery(filters, me, before) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filters.direction) params.set('direction', filters.direction);
  if (filters.state) params.set('state', filters.state);
  if (filters.mine) params.set('agent', String(me.id));
  if (before) params.set('before', String(before));
  return `/api/v1/phone-calls?${params}`;
}

function Filters({ filters, t, onChange }) {
  const select = (name, values, group, all) => html`
    <select aria-label=${t(`phone_filter.${name}`)} data-testid=${`phone-filter-${name}`} value=${filters[name]}
      onChange=${(e) => onChange({ ...filters, [name]: e.target.value })}>
      <option value="">${t(all)}</option>
      ${values.map((v) => html`<option key=${v} value=${v}>${t(`${group}.${v}`)}</option>`)}
    </select>`;
  return html`
    <div class="board-filters">
      ${select('direction', DIRECTIONS, 'phone_direction', 'all_directions')}
      ${select('state', STATES, 'phone_state', 'all_states')}
      <label><input type="checkbox" data-testid="phone-filter-mine" checked=${filters.mine}
        onChange=${(e) => onChange({ ...filters, mine: e.target.checked })} /> ${t('my_calls')}</label>
    </div>`;
}

export function PhoneView({ me, topics, t, onError, onInfo }) {
  const [filters, setFilters] = useState({ direction: '', state: '', mine: false });
  const [page, setPage] = useState({ items: [], next_before: null });
  const [reloads, setReloads] = useState(0);
  const { logCall } = usePhone();
  const pending = useRef(null);
  const reload = () => setReloads((n) => n + 1);
  const reloadSoon = () => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      reload();
    }, MESSAGE_RELOAD_MS);
  };
  useEffect(() => {
    api(listQuery(filters, me)).then(setPage, onError);
  }, [filters, reloads]);
  useEffect(() => () => clearTimeout(pending.current), []);
  useTopic(topics, 'phone', reloadSoon);
  useTopic(topics, 'resync', reload);
  const more = () => api(listQuery(filters, me, page.next_before))
    .then((next) => setPage((p) => ({ items: [...p.items, ...next.items], next_before: next.next_before })), onError);
  return html`
    <section class="phone-view" aria-label=${t('phone_title')}>
      <${Callbacks} topics=${topics} t=${t} onError=${onError} onInfo=${onInfo} />
      <div class="board card">
        <div class="board-head">
          <h2>${t('phone_title')}</h2>
          <button class="primary" data-testid="log-call" onClick=${() => logCall({ direction: 'inbound' })}>${t('log_call')}</button>
        </div>
        <${Filters} filters=${filters} t=${t} onChange=${setFilters} />
        <table class="orders-table phone-table" data-testid="phone-list">
          <thead><tr>
            ${['time', 'direction', 'number', 'caller', 'category', 'outcome', 'agent', 'wait', 'talk', 'note', 'recording']
              .map((c) => html`<th key=${c}>${t(`phone_col.${c}`)}</th>`)}
          </tr></thead>
          <tbody>${page.items.map((p) => html`<${PhoneCallRow} key=${p.id} phoneCall=${p} me=${me} t=${t} />`)}</tbody>
        </table>
        ${page.items.length === 0 && html`<p class="empty">${t('no_phone_calls')}</p>`}
        ${page.next_before && html`<button type="button" data-testid="phone-more" onClick=${more}>${t('more')}</button>`}
      </div>
    </section>`;
}
