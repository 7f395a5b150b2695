// The history of calls: every call, newest first, filtered by state, priority, category and the Shanghai
// dates it was opened on, paged by the server.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { pickable } from './pickable.js';
import { api } from './api.js';
import { formatTime, localToUtc } from './i18n.js';
import { useDebounced } from './live.js';
import { Pager } from './pager.js';

const PAGE = 50;
const PRIORITIES = ['P1', 'P2', 'P3', 'P4'];
const CATEGORIES = ['sos', 'fall', 'vitals', 'geofence_exit', 'device_silent', 'low_battery', 'device_removed', 'service_request', 'enquiry', 'complaint'];
const ENDED = ['closed', 'cancelled', 'false_alarm'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NO_FILTER = { state: 'ended', priority: '', category: '', from: '', to: '' };

/** The day after a "YYYY-MM-DD" date, as a date string (the "to" date is inclusive). */
function nextDay(date) {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

function historyQuery(filter, offset) {
  const params = new URLSearchParams({ newest_first: 'true', limit: String(PAGE), offset: String(offset) });
  for (const state of filter.state === 'ended' ? ENDED : filter.state ? [filter.state] : []) params.append('state', state);
  if (filter.priority) params.set('priority', filter.priority);
  if (filter.category) params.set('category', filter.category);
  if (DATE.test(filter.from)) params.set('opened_from', localToUtc(filter.from, '00:00'));
  if (DATE.test(filter.to)) params.set('opened_before', localToUtc(nextDay(filter.to), '00:00'));
  return `/api/v1/calls?${params}`;
}

function Filters({ filter, t, onChange }) {
  const set = (key) => (event) => onChange({ ...filter, [key]: event.target.value });
  return html`
    <div class="filters" role="group" aria-label=${t('history_filters')}>
      <select aria-label=${t('col_state')} value=${filter.state} onChange=${set('state')} data-testid="history-state">
        <option value="ended">${ENDED.map((s) => t(`state.${s}`)).join(' / ')}</option>
        <option value="">${t('all_states')}</option>
        ${[...ENDED, 'new', 'acknowledged', 'dispatched', 'on_scene', 'resolved'].map((s) => html`<option key=${s} value=${s}>${t(`state.${s}`)}</option>`)}
      </select>
      <select aria-label=${t('col_priority')} value=${filter.priority} onChange=${set('priority')} data-testid="history-priority">
        <option value="">${t('all_priorities')}</option>
        ${PRIORITIES.map((p) => html`<option key=${p} value=${p}>${t(`priority.${p}`)}</option>`)}
      </select>
      <select aria-label=${t('col_category')} value=${filter.category} onChange=${set('category')} data-testid="history-category">
        <option value="">${t('all_categories')}</option>
        ${CATEGORIES.map((c) => html`<option key=${c} value=${c}>${t(`category.${c}`)}</option>`)}
      </select>
      <label>${t('date_from')} <input type="text" inputmode="numeric" pattern="\\d{4}-\\d{2}-\\d{2}" placeholder="2026-01-01" size="10"
        value=${filter.from} onInput=${set('from')} data-testid="history-from" /></label>
      <label>${t('date_to')} <input type="text" inputmode="numeric" pattern="\\d{4}-\\d{2}-\\d{2}" placeholder="2026-12-31" size="10"
        value=${filter.to} onInput=${set('to')} data-testid="history-to" /></label>
      <button type="button" class="link" onClick=${() => onChange(NO_FILTER)}>${t('clear_filters')}</button>
    </div>`;
}

export function HistoryView({ t, onError, onOpenCall, onOpenElder }) {
  const [filter, setFilter] = useState(NO_FILTER);
  const settled = useDebounced(filter, 300); // typed dates: ask once the typing stops
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState({ items: [], total: 0 });
  const query = historyQuery(settled, offset);
  useEffect(() => {
    api(query).then(setPage, onError);
  }, [query]);
  const filterBy = (next) => {
    setOffset(0);
    setFilter(next);
  };
  return html`
    <section class="history-view card" aria-label=${t('history_title')}>
      <h2>${t('history_title')} <span class="count" data-testid="history-count">${page.total}</span></h2>
      <${Filters} filter=${filter} t=${t} onChange=${filterBy} />
      <table class="history-table">
        <thead><tr>${['col_opened', 'col_elder', 'col_category', 'col_priority', 'col_state', 'col_outcome', 'col_handler'].map((c) => html`<th key=${c}>${t(c)}</th>`)}</tr></thead>
        <tbody>
          ${page.items.map((call) => html`
            <tr key=${call.id} class="history-row" data-testid="history-row" data-call-id=${call.id} ...${pickable(() => onOpenCall(call.id))}>
              <td>${formatTime(call.opened_at)}</td>
              <td><button type="button" class="link" onClick=${(e) => { e.stopPropagation(); onOpenElder(call.elder_id); }} translate=${false}>${call.elder_name}</button></td>
              <td>${t(`category.${call.category}`)}</td>
              <td>${call.priority}</td>
              <td>${t(`state.${call.state}`)}</td>
              <td>${call.outcome ? t(`outcomes.${call.outcome}`) : ''}</td>
              <td translate=${false}>${call.claimed_by_name || ''}</td>
            </tr>`)}
        </tbody>
      </table>
      ${page.items.length === 0 && html`<p class="empty">${t('no_calls_filtered')}</p>`}
      <${Pager} offset=${offset} size=${PAGE} total=${page.total} t=${t} onOffset=${setOffset} testid="history" />
    </section>`;
}
