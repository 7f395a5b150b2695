// The elder page: the profile (an audited read), the devices and their last reports, and everything that
// happened to the elder on one timeline, newest first, paged by the server.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { formatTime } from './i18n.js';
import { Profile } from './profile.js';

const PAGE = 30;
const KINDS = ['call', 'phone_call', 'order', 'follow_up', 'care_call', 'complaint'];
// Entries the console can open: where they go.
const OPENS = { call: 'call', order: 'order', complaint: 'complaint' };

/** What an entry is, in the UI's language, from its kind, code and state. */
function entryWords(entry, t) {
  switch (entry.kind) {
    case 'call':
      return [`P${entry.priority} ${t(`category.${entry.code}`)}`, t(`state.${entry.state}`), entry.outcome && t(`outcomes.${entry.outcome}`)];
    case 'phone_call':
      return [entry.code ? t(`phone_category.${entry.code}`) : '', t(`phone_state.${entry.state}`), entry.outcome && t(`phone_outcome.${entry.outcome}`)];
    case 'order':
      return [t(`service.${entry.code}`), t(`order_state.${entry.state}`)];
    case 'follow_up':
      return [t(`followup_kind.${entry.code}`), t(`followup_state.${entry.state}`)];
    case 'care_call':
      return [t(`care_channel.${entry.code}`), t(`care_state.${entry.state}`)];
    default:
      return [t(`complaint_kind.${entry.code}`), t(`complaint_state.${entry.state}`)];
  }
}

function Devices({ devices, t }) {
  if (!devices.length) return null;
  return html`
    <section class="card devices" aria-label=${t('devices')}>
      <h3>${t('devices')}</h3>
      <table class="devices-table">
        <tbody>
          ${devices.map((d) => html`
            <tr key=${d.id} data-testid="elder-device">
              <td>${t(`device_kind.${d.kind}`)}</td>
              <td class="mono">${d.imei}</td>
              <td>${t('battery')} ${d.battery == null ? '—' : `${d.battery}%`}</td>
              <td>${t('last_seen')} ${d.last_seen_at ? formatTime(d.last_seen_at) : t('never_seen')}</td>
            </tr>`)}
        </tbody>
      </table>
    </section>`;
}

function useTimeline(elderId, kind, onError) {
  const [page, setPage] = useState({ items: [], total: 0 });
  const fetchFrom = (offset) => {
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (kind) params.set('kind', kind);
    return api(`/api/v1/elders/${elderId}/timeline?${params}`);
  };
  useEffect(() => {
    fetchFrom(0).then(setPage, onError);
  }, [elderId, kind]);
  const more = () => fetchFrom(page.items.length).then(
    (next) => setPage((current) => ({ items: [...current.items, ...next.items], total: next.total })), onError);
  return [page, more];
}

function ElderTimeline({ elderId, t, onError, onOpen }) {
  const [kind, setKind] = useState('');
  const [page, more] = useTimeline(elderId, kind, onError);
  return html`
    <section class="card elder-timeline" aria-label=${t('elder_timeline')}>
      <div class="board-head">
        <h3>${t('elder_timeline')}</h3>
        <select aria-label=${t('kind')} value=${kind} onChange=${(e) => setKind(e.target.value)} data-testid="timeline-kind">
          <option value="">${t('timeline_all')}</option>
          ${KINDS.map((k) => html`<option key=${k} value=${k}>${t(`timeline_kind.${k}`)}</option>`)}
        </select>
      </div>
      ${page.items.length === 0 && html`<p class="empty">${t('no_timeline')}</p>`}
      <ol class="elder-entries">
        ${page.items.map((entry) => html`
          <li key=${`${entry.kind}-${entry.id}`} class=${`elder-entry kind-${entry.kind}`} data-testid="elder-entry" data-kind=${entry.kind} data-id=${entry.id}>
            <time>${formatTime(entry.at)}</time>
            <span class="hit-kind">${t(`timeline_kind.${entry.kind}`)} #${entry.id}</span>
            <span>${entryWords(entry, t).filter(Boolean).join(' · ')}</span>
            ${OPENS[entry.kind] && html`<button type="button" class="small" onClick=${() => onOpen({ kind: OPENS[entry.kind], id: entry.id })}>${t('open_record')}</button>`}
          </li>`)}
      </ol>
      <p class="muted" data-testid="timeline-shown">${t('shown_of', { shown: page.items.length, total: page.total })}</p>
      ${page.items.length < page.total && html`<button type="button" data-testid="timeline-more" onClick=${more}>${t('load_more')}</button>`}
    </section>`;
}

export function ElderPage({ elderId, t, onError, onOpen, onClose }) {
  const [elder, setElder] = useState(null);
  useEffect(() => {
    setElder(null);
    api(`/api/v1/elders/${elderId}`).then(setElder, onError);
  }, [elderId]);
  return html`
    <section class="elder-page" aria-label=${t('elder_page')} data-testid="elder-page" data-elder-id=${elderId}>
      <div class="elder-head">
        <h2>${t('elder_page')}</h2>
        <button type="button" class="link" onClick=${onClose}>${t('close_elder_page')}</button>
      </div>
      <div class="elder-columns">
        <div>
          <${Profile} elder=${elder} callId=${null} t=${t} />
          ${elder && html`<${Devices} devices=${elder.devices || []} t=${t} />`}
        </div>
        <${ElderTimeline} elderId=${elderId} t=${t} onError=${onError} onOpen=${onOpen} />
      </div>
    </section>`;
}
