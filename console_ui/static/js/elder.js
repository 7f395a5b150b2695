// The elder page: the profile (an audited read), the devices and their last reports, the elder's money (this
// month's allowance, prepaid balance, payments), and everything that happened to the elder on one timeline,
// newest first, paged by the server.

import { html, useEffect, useState } from '../vendor/htm/preact/standalone.module.js';
import { api } from './api.js';
import { formatTime } from './i18n.js';
import { MoneyCard } from './payments.js';
import { Profile } from './profile.js';

const PAGE = 30;
const KINDS = ['call', 'phone_call', 'order', 'follow_up', 'care_call', 'complaint', 'assessment'];
// Entries the console can open: where they go.
const OPENS = { call: 'call', order: 'order', complaint: 'complaint', assessment: 'assessment' };

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
    case 'assessment':
      return [t(`assessment_procedure.${entry.code}`), t(`assessment_step.${entry.state}`), entry.outcome && t(`ability_level.${entry.outcome}`)];
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
            ${OPENS[entry.kind] && html`<button type="button" class="small" onClick=${() => onOpen({ kind: OPENS[entry.kind], id: entry.id, elderId })}>${t('open_record')}</button>`}
          </li>`)}
      </ol>
      <p class="muted" data-testid="timeline-shown">${t('shown_of', { shown: page.items.length, total: page.total })}</p>
      ${page.items.length < page.total && html`<button type="button" data-testid="timeline-more" onClick=${more}>${t('load_more')}</button>`}
    </section>`;
}

const POLICY_FIELDS = ['raise_after_readings', 'raise_after_minutes', 'clear_after_readings', 'clear_margin', 'max_accuracy_m'];

/** The overrides as typed: numbers for the fields filled in, conditions with none left out. */
function overridesFrom(form, conditions) {
  const overrides = {};
  for (const condition of conditions) {
    const fields = {};
    for (const field of POLICY_FIELDS) {
      const value = form.get(`${condition}.${field}`);
      if (value !== null && value !== '') fields[field] = Number(value);
    }
    if (Object.keys(fields).length) overrides[condition] = fields;
  }
  const quiet = (form.get('quiet_hours') || '').trim();
  if (quiet) overrides.quiet_hours = quiet;
  return overrides;
}

// The elder's own alarm settings over the defaults: how many readings or minutes before a call opens, how
// it clears, how vague a position may be; the quiet hours for P3/P4 alarms. Empty fields keep the default.
function AlarmSettings({ elder, config, t, onError, onSaved }) {
  const defaults = config.alarm_defaults || {};
  const conditions = Object.keys(defaults);
  const own = elder.alarm_overrides || {};
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { alarm_overrides: overridesFrom(new FormData(event.target), conditions) };
      onSaved(await api(`/api/v1/elders/${elder.id}`, { method: 'PATCH', body }));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="card alarm-settings" aria-label=${t('alarm_settings')} data-testid="alarm-settings" onSubmit=${submit}>
      <h3>${t('alarm_settings')}</h3>
      <table class="admin-table">
        <thead><tr><th>${t('condition_label')}</th>${POLICY_FIELDS.map((f) => html`<th key=${f}>${t(`policy_field.${f}`)}</th>`)}</tr></thead>
        <tbody>
          ${conditions.map((condition) => html`<tr key=${condition}>
            <td>${t(`condition.${condition}`)}</td>
            ${POLICY_FIELDS.map((field) => (field === 'max_accuracy_m' && condition !== 'geofence' ? html`<td key=${field}></td>` : html`
              <td key=${field}><input type="number" min="0" step="any" size="4" name=${`${condition}.${field}`} data-testid=${`override-${condition}-${field}`}
                aria-label=${`${t(`condition.${condition}`)} ${t(`policy_field.${field}`)}`}
                defaultValue=${own[condition]?.[field] ?? ''} placeholder=${String(defaults[condition][field])} /></td>`))}
          </tr>`)}
        </tbody>
      </table>
      <label>${t('quiet_hours_label')} <input name="quiet_hours" pattern="\\d{2}:\\d{2}-\\d{2}:\\d{2}" size="11" data-testid="override-quiet-hours"
        defaultValue=${own.quiet_hours || ''} placeholder=${config.quiet_hours || ''} /></label>
      <p class="muted">${t('overrides_hint')}</p>
      <button type="submit" class="primary" disabled=${busy} data-testid="save-overrides">${t('save_overrides')}</button>
    </form>`;
}

export function ElderPage({ elderId, config, t, onError, onInfo, onOpen, onClose }) {
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
          <${MoneyCard} elderId=${elderId} t=${t} onError=${onError} onInfo=${onInfo} />
          ${elder && html`<${AlarmSettings} key=${elder.updated_at} elder=${elder} config=${config} t=${t} onError=${onError}
            onSaved=${(saved) => { setElder(saved); onInfo(t('overrides_saved')); }} />`}
        </div>
        <${ElderTimeline} elderId=${elderId} t=${t} onError=${onError} onOpen=${onOpen} />
      </div>
    </section>`;
}
