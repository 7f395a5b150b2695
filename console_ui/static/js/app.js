// The operator console: login, the live call queue and the call in hand; the service-desk views
// (orders, follow-ups, care calls, complaints, providers) live in their own modules and get their live messages through `topics`.
// The hotline: the seat state in the header, the phone panel (screen-pop, call, wrap-up) over every view,
// click-to-call on every number (PhoneContext) and the phone and wallboard views.

import { html, render, useCallback, useEffect, useMemo, useRef, useState } from '../vendor/htm/preact/standalone.module.js';
import { AdminView } from './admin.js';
import { AssessmentsView, AssessorConsole } from './assessments.js';
import { setAlertLevel, setMuted, unlockSound } from './alerts.js';
import { AgentStateSelector, useMyPresence } from './agentstate.js';
import { pickable } from './pickable.js';
import { api, ApiError, LiveFeed } from './api.js';
import { CareCallsView } from './carecalls.js';
import { ComplaintsView } from './complaints.js';
import { dictionary, errorText, formatDuration, formatTime, initialLanguage, reasonText, saveLanguage, translator } from './i18n.js';
import { ElderPage } from './elder.js';
import { FollowUpsView } from './followups.js';
import { HistoryView } from './history.js';
import { createTopics } from './live.js';
import { CallMap } from './map.js';
import { AlertStrip } from './notices.js';
import { OrdersView } from './orders.js';
import { dialRefusal, isRefusal, LogCallForm, PhoneContext, PhoneNumber, placeCall } from './phone.js';
import { PhoneView } from './phonecalls.js';
import { Pager } from './pager.js';
import { Profile } from './profile.js';
import { ProvidersView } from './providers.js';
import { PhonePanel, recordFor, usePhonePanel } from './screenpop.js';
import { SearchBox } from './search.js';
import { SettlementView } from './settlement.js';
import { Wallboard } from './wallboard.js';

const PRIORITY_ORDER = { P1: 1, P2: 2, P3: 3, P4: 4 };
const QUEUE_STATES = new Set(['new', 'acknowledged', 'dispatched', 'on_scene', 'resolved']);
const VIEWS = ['calls', 'history', 'orders', 'followups', 'carecalls', 'complaints', 'assessments', 'providers', 'phone', 'sms'];
const MANAGER_VIEWS = [...VIEWS, 'wallboard', 'settlement', 'admin'];
const PHONE_MESSAGES = ['phone', 'agent', 'callback'];
const RECORD_CATEGORIES = new Set(['emergency', 'home_service', 'complaint']); // what a new phone contact opens

function viewsFor(me) {
  return me.role === 'supervisor' || me.role === 'admin' ? MANAGER_VIEWS : VIEWS;
}

/** Queue order: calls waiting only for closing last; then priority; within a priority the unacknowledged
 * first (an agent's own on-scene P1 never sits above a new one), then the oldest. */
function queueOrder(a, b) {
  const closingOnly = (call) => (call.state === 'resolved' ? 1 : 0);
  const acknowledged = (call) => (call.state === 'new' ? 0 : 1);
  return closingOnly(a) - closingOnly(b) || PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority]
    || acknowledged(a) - acknowledged(b) || a.opened_at.localeCompare(b.opened_at);
}

/** The call an agent arriving at the console should see first: the oldest unacknowledged P1. */
function firstUnacknowledgedP1(calls) {
  return [...calls].filter((c) => c.priority === 'P1' && c.state === 'new').sort(queueOrder)[0] || null;
}

const isEscalated = (call) => call.state === 'new' && call.escalation_level > 0;

function useNow(offsetMs) {
  const [now, setNow] = useState(Date.now() + offsetMs);
  useEffect(() => {
    setNow(Date.now() + offsetMs);
    const timer = setInterval(() => setNow(Date.now() + offsetMs), 1000);
    return () => clearInterval(timer);
  }, [offsetMs]);
  return now;
}

/** What the countdown of a call counts to: the P1 acknowledgement deadline, else the state's SLA. */
function countdown(call, now) {
  const deadline = call.state === 'new' && call.ack_deadline_at ? call.ack_deadline_at : call.sla_deadline_at;
  if (!deadline) return null;
  const seconds = (Date.parse(deadline) - now) / 1000;
  return { seconds, overdue: seconds <= 0 };
}

function alertLevel(calls) {
  const ringing = calls.filter((c) => c.state === 'new' && c.priority === 'P1');
  if (ringing.some((c) => c.escalation_level > 0)) return 'escalated';
  return ringing.length ? 'p1' : 'none';
}

// ---------------------------------------------------------------- login

function Login({ t, onLanguage, onLoggedIn }) {
  const [error, setError] = useState('');
  const submit = async (event) => {
    event.preventDefault();
    unlockSound();
    const form = new FormData(event.target);
    try {
      await api('/api/v1/auth/login', { method: 'POST', body: { username: form.get('username'), password: form.get('password') } });
      onLoggedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 429 ? t('login_throttled') : t('login_failed'));
    }
  };
  return html`
    <main class="login">
      <form class="login-card" onSubmit=${submit}>
        <h1>${t('title')}</h1>
        <label>${t('username')}<input name="username" autocomplete="username" required /></label>
        <label>${t('password')}<input name="password" type="password" autocomplete="current-password" required /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" class="primary">${t('login')}</button>
        <button type="button" class="link" lang=${t('language_code')} onClick=${onLanguage}>${t('language')}</button>
      </form>
    </main>`;
}

// ---------------------------------------------------------------- queue

function Countdown({ call, now, t }) {
  const left = countdown(call, now);
  if (!left) return null;
  return html`<span class=${`countdown ${left.overdue ? 'overdue' : ''}`} data-testid="countdown">
    ${left.overdue ? `${t('overdue')} ${formatDuration(-left.seconds)}` : `${t('left')} ${formatDuration(left.seconds)}`}
  </span>`;
}

function QueueRow({ call, selected, now, t, onSelect }) {
  const waited = (now - Date.parse(call.opened_at)) / 1000;
  return html`
    <li class=${`call-row priority-${call.priority} state-${call.state} ${selected ? 'selected' : ''} ${isEscalated(call) ? 'escalated' : ''}`}
        data-call-id=${call.id} data-priority=${call.priority} data-state=${call.state} ...${pickable(() => onSelect(call.id))}>
      <span class="badge">${call.priority}</span>
      <div class="row-main">
        <div class="row-title"><strong class="elder-name" translate=${false}>${call.elder_name}</strong> · ${t(`category.${call.category}`)}</div>
        <div class="row-meta">
          <span class="state-label">${t(`state.${call.state}`)}</span>
          <span>${t('waiting')} ${formatDuration(waited)}</span>
          <span title=${formatTime(call.opened_at)}>${formatTime(call.opened_at)}</span>
        </div>
        <div class="row-meta">
          <${Countdown} call=${call} now=${now} t=${t} />
          <span>${call.claimed_by_name ? html`${t('handled_by')} <span translate=${false}>${call.claimed_by_name}</span>` : t('unclaimed')}</span>
          ${isEscalated(call) && html`<span class="escalation">${t('escalated')} ×${call.escalation_level}</span>`}
        </div>
      </div>
    </li>`;
}

const NO_FILTER = { priorities: [], state: '', mine: false, unclaimed: false, escalated: false, compact: false };
const FILTER_KEY = 'console.queueFilter';

function useQueueFilter() {
  const [filter, setFilter] = useState(() => {
    try {
      return { ...NO_FILTER, ...JSON.parse(localStorage.getItem(FILTER_KEY) || '{}') };
    } catch {
      return NO_FILTER;
    }
  });
  const change = (changes) => setFilter((current) => {
    const next = { ...current, ...changes };
    localStorage.setItem(FILTER_KEY, JSON.stringify(next));
    return next;
  });
  return [filter, change];
}

/** Which of the filter's tests a call passes: the counts show what each filter would keep. */
const QUEUE_TESTS = {
  mine: (call, me) => call.claimed_by_name === me.username,
  unclaimed: (call) => call.claimed_by === null,
  escalated: isEscalated,
};

function passes(call, filter, me) {
  return (!filter.priorities.length || filter.priorities.includes(call.priority))
    && (!filter.state || call.state === filter.state)
    && Object.entries(QUEUE_TESTS).every(([name, test]) => !filter[name] || test(call, me));
}

function countBy(calls, key) {
  const counts = {};
  for (const call of calls) counts[call[key]] = (counts[call[key]] || 0) + 1;
  return counts;
}

function QueueFilters({ calls, filter, me, t, onChange }) {
  const byPriority = countBy(calls, 'priority');
  const byState = countBy(calls, 'state');
  const toggle = (name, label, count) => html`<button type="button" class=${`chip ${filter[name] ? 'on' : ''}`}
    aria-pressed=${filter[name]} data-testid=${`filter-${name}`} onClick=${() => onChange({ [name]: !filter[name] })}>${label} <span class="n">${count}</span></button>`;
  const togglePriority = (p) => onChange({
    priorities: filter.priorities.includes(p) ? filter.priorities.filter((x) => x !== p) : [...filter.priorities, p].sort(),
  });
  return html`
    <div class="queue-filters" role="group" aria-label=${t('queue_filters')}>
      <div class="chips">
        ${Object.keys(PRIORITY_ORDER).map((p) => html`<button type="button" key=${p}
          class=${`chip priority-chip priority-${p} ${filter.priorities.includes(p) ? 'on' : ''}`} aria-pressed=${filter.priorities.includes(p)}
          data-testid=${`filter-${p}`} onClick=${() => togglePriority(p)}>${p} <span class="n">${byPriority[p] || 0}</span></button>`)}
      </div>
      <div class="chips">
        <select aria-label=${t('queue_state')} data-testid="filter-state" value=${filter.state} onChange=${(e) => onChange({ state: e.target.value })}>
          <option value="">${t('all_states')} (${calls.length})</option>
          ${[...QUEUE_STATES].map((st) => html`<option key=${st} value=${st}>${t(`state.${st}`)} (${byState[st] || 0})</option>`)}
        </select>
        ${Object.keys(QUEUE_TESTS).map((name) => toggle(name, t(`queue_only.${name}`), calls.filter((c) => QUEUE_TESTS[name](c, me)).length))}
        ${toggle('compact', t('compact'), '')}
      </div>
    </div>`;
}

function Queue({ calls, me, selectedId, now, t, onSelect, onNewContact }) {
  const [filter, setFilter] = useQueueFilter();
  const shown = calls.filter((call) => passes(call, filter, me));
  const filtered = shown.length !== calls.length;
  return html`
    <section class=${`queue ${filter.compact ? 'compact' : ''}`} aria-label=${t('queue')}>
      <h2>${t('queue')} <span class="count" data-testid="queue-count">${filtered ? `${shown.length} / ${calls.length}` : calls.length}</span>
        ${filtered && html`<button type="button" class="link small" onClick=${() => setFilter({ ...NO_FILTER, compact: filter.compact })}>${t('clear_filters')}</button>`}
        <button type="button" class="small new-contact" data-testid="new-contact" title=${t('new_contact_hint')} onClick=${onNewContact}>${t('new_contact')}</button></h2>
      <${QueueFilters} calls=${calls} filter=${filter} me=${me} t=${t} onChange=${setFilter} />
      ${shown.length === 0 && html`<p class="empty">${calls.length ? t('no_calls_filtered') : t('no_calls')}</p>`}
      <ol class="call-list">
        ${shown.map((call) => html`<${QueueRow} key=${call.id} call=${call} selected=${call.id === selectedId} now=${now} t=${t} onSelect=${onSelect} />`)}
      </ol>
    </section>`;
}

// ---------------------------------------------------------------- call detail

/** The latest text to each contact about this call, as the carrier reported it. */
function latestByContact(messages) {
  const latest = new Map();
  for (const m of messages || []) latest.set(m.contact_id, m);
  return latest;
}

function Contacts({ elder, callId, messages, busy, t, onNotify }) {
  if (!elder) return null;
  const latest = latestByContact(messages);
  const contacts = [...elder.contacts].sort((a, b) => a.priority - b.priority);
  return html`
    <section class="card" aria-label=${t('contacts')}>
      <h3>${t('contacts')}</h3>
      <ol class="contacts">
        ${contacts.map((c) => {
          const sent = latest.get(c.id);
          return html`
          <li key=${c.id} data-contact-id=${c.id}>
            <span><strong translate=${false}>${c.name}</strong> ${t(`contact_kind.${c.kind}`)}${c.relation ? html` · <span translate=${false}>${c.relation}</span>` : ''}</span>
            <${PhoneNumber} number=${c.phone} links=${{ call_id: callId }} t=${t} />
            ${sent && html`<span class=${`sms-state sms-${sent.state}`} data-testid="contact-sms-state"
              title=${`${t(`purpose.${sent.purpose}`)}${sent.error_code ? ` · ${sent.error_code}` : ''}`}>${t(`sms_state.${sent.state}`)} ${formatTime(sent.updated_at)}</span>`}
            <button disabled=${busy} data-testid="notify" onClick=${() => onNotify(c.id)}>${sent ? t('notify_again') : t('notify')}</button>
          </li>`;
        })}
      </ol>
    </section>`;
}

function DeviceEvents({ events, t }) {
  return html`
    <section class="card" aria-label=${t('events')}>
      <h3>${t('events')}</h3>
      <table class="events">
        <tbody>
          ${events.map((e, i) => html`
            <tr key=${i}>
              <td>${formatTime(e.received_at)}</td>
              <td class=${`event-${e.type}`}>${t(`event_type.${e.type}`)}</td>
              <td>${e.position ? `${e.position.lon.toFixed(5)}, ${e.position.lat.toFixed(5)}` : ''}</td>
              <td class="event-data">${Object.entries(e.data || {}).filter(([k]) => k !== 'raw').slice(0, 4).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ')}</td>
            </tr>`)}
        </tbody>
      </table>
    </section>`;
}

/** The provider who accepted one of the call's jobs (on the way or there), with the ranking's travel time. */
function acceptedProvider(jobs) {
  for (const job of jobs) {
    const offer = job.offers.find((o) => o.state === 'accepted' || o.state === 'arrived');
    if (offer) {
      const ranked = job.ranking.find((r) => r.provider_id === offer.provider_id);
      return { id: offer.provider_id, name: offer.provider_name, distance_m: offer.distance_m, minutes: ranked?.travel_minutes ?? null };
    }
  }
  return null;
}

function km(metres) {
  return `${(metres / 1000).toFixed(1)} km`;
}

/** Why an alarm was raised, from its code and parameters, in the UI's language. */
function alarmReason(d, t) {
  const p = d.reason_params || {};
  const what = d.reason_code === 'vitals'
    ? (p.readings || []).map((r) => `${t(`vital.${r.condition}`)} ${r.value} ${r.op} ${r.limit}`).join('；')
    : t(`alarm_reason.${d.reason_code}`);
  return p.held_from ? `${what} ${t('held_from', { time: p.held_from })}` : what;
}

function entryText(entry, t) {
  const d = entry.detail || {};
  switch (entry.kind) {
    case 'state': return `${t(`state.${d.from}`)} → ${t(`state.${d.to}`)}${d.outcome ? ` (${t(`outcomes.${d.outcome}`)})` : ''}${entry.text ? ` · ${entry.text}` : ''}`;
    case 'opened':
    case 'alarm': return [d.priority, d.category && t(`category.${d.category}`), d.reason_code ? alarmReason(d, t) : entry.text].filter(Boolean).join(' · ');
    case 'notify': return `${d.name} (${d.relation || ''}) ${d.phone || ''}`;
    case 'dispatch': return `${t(`service.${d.service_type}`)} · ${d.candidates}`;
    case 'offer': return `#${d.rank} ${d.provider} · ${km(d.distance_m)} · ${d.code}`;
    case 'offer_expired':
    case 'offer_declined':
    case 'offer_accepted':
    case 'offer_undeliverable':
    case 'provider_arrived':
    case 'provider_done': return `${d.provider} · ${d.code}${d.via ? ` (${d.via})` : ''}`;
    case 'contact_alert':
    case 'contact_reached':
    case 'contact_no_report':
    case 'contact_failed': return `${d.name}${d.relation ? ` (${d.relation})` : ''} ${d.phone || ''}${d.error ? ` ${d.error}` : ''}`;
    case 'contacts_stopped': return `${t(`state.${d.state}`)} · ${d.after || ''}`;
    case 'handoff_120': return d.sms_to ? `→ ${d.sms_to}` : '';
    case 'claimed': return d.previous ? `← ${d.previous}` : '';
    case 'dispatch_failed': return reasonText(t, d.reason_code, d.reason_params, entry.text);
    default: return entry.text;
  }
}

function Timeline({ timeline, t }) {
  return html`
    <section class="card" aria-label=${t('timeline')}>
      <h3>${t('timeline')}</h3>
      <ol class="timeline">
        ${[...timeline].reverse().map((e) => html`
          <li key=${e.id} class=${`entry-${e.kind}`}>
            <time>${formatTime(e.at)}</time>
            <span class="entry-kind">${t(`entry.${e.kind}`)}</span>
            <span class="entry-who" translate=${false}>${e.username}</span>
            <span class="entry-text">${entryText(e, t)}</span>
          </li>`)}
      </ol>
    </section>`;
}

function OfferRow({ offer, now, t }) {
  const left = offer.state === 'offered' && offer.deadline_at ? (Date.parse(offer.deadline_at) - now) / 1000 : null;
  return html`
    <tr class=${`offer-${offer.state}`} data-offer-state=${offer.state}>
      <td>#${offer.rank}</td>
      <td translate=${false}>${offer.provider_name}</td>
      <td>${km(offer.distance_m)}</td>
      <td class="offer-state">${t(`offer_state.${offer.state}`)}${left !== null ? ` · ${t('left')} ${formatDuration(left)}` : ''}</td>
      <td>${offer.code}</td>
    </tr>`;
}

function JobCard({ job, now, t }) {
  const offered = new Set(job.offers.map((o) => o.provider_id));
  return html`
    <div class=${`job job-${job.state}`} data-job-state=${job.state}>
      <div class="job-head">
        <strong>${t(`service.${job.service_type}`)}</strong>
        <span class="state-label">${t(`job_state.${job.state}`)}</span>
        ${job.reason && html`<span class="job-reason" data-testid="job-reason">${reasonText(t, job.reason_code, job.reason_params, job.reason)}</span>`}
      </div>
      <table class="offers"><tbody>${job.offers.map((o) => html`<${OfferRow} key=${o.id} offer=${o} now=${now} t=${t} />`)}</tbody></table>
      <details>
        <summary>${t('candidates')} (${job.ranking.length}) · ${t('excluded')} (${job.exclusions.length})</summary>
        <ol class="candidates">
          ${job.ranking.map((r) => html`<li key=${r.provider_id} class=${offered.has(r.provider_id) ? 'asked' : ''}>
            ${r.name} · ${km(r.distance_m)} · ${Math.round(r.travel_minutes)} ${t('minutes')}${r.within_circle ? ` · ${t('within_circle')}` : ''}
            · ★${r.rating} · ${r.load}/${r.capacity}</li>`)}
        </ol>
        <ul class="exclusions">
          ${job.exclusions.map((e) => html`<li key=${e.provider_id}>${e.name}: ${t(`exclusion.${e.reason}`)} · ${e.detail}</li>`)}
        </ul>
      </details>
    </div>`;
}

function DispatchPanel({ jobs, handoff, now, t }) {
  if (!jobs.length && !handoff) return null;
  return html`
    <section class="card dispatch-panel" aria-label=${t('dispatch_panel')}>
      <h3>${t('dispatch_panel')}</h3>
      ${jobs.map((job) => html`<${JobCard} key=${job.id} job=${job} now=${now} t=${t} />`)}
      ${handoff && html`<div class="handoff"><strong>${t('handoff_summary')}</strong><p data-testid="handoff-summary">${handoff}</p></div>`}
    </section>`;
}

function Actions({ call, me, config, busy, t, act, onHandoff }) {
  const [serviceType, setServiceType] = useState('emergency_rescue');
  const [outcome, setOutcome] = useState('resolved_by_phone');
  const [note, setNote] = useState('');
  const byOther = call.claimed_by !== null && call.claimed_by_name !== me.username;
  const blocked = busy || byOther;
  const move = (state) => act(`/transition`, { state });
  const button = (label, onClick, cls = '') => html`<button class=${cls} data-action=${label} disabled=${blocked} onClick=${onClick}>${t(label)}</button>`;
  const byState = {
    new: [button('acknowledge', () => act('/acknowledge'), 'primary'), button('false_alarm', () => move('false_alarm')), button('cancel', () => move('cancelled'))],
    acknowledged: [
      html`<select aria-label=${t('service_type')} value=${serviceType} onChange=${(e) => setServiceType(e.target.value)}>
        ${config.service_types.map((s) => html`<option value=${s}>${t(`service.${s}`)}</option>`)}</select>`,
      button('dispatch', () => act('/dispatch', { service_type: serviceType }), 'primary'),
      button('on_scene', () => move('on_scene')), button('resolve', () => move('resolved')),
      button('false_alarm', () => move('false_alarm')), button('cancel', () => move('cancelled')),
    ],
    dispatched: [
      html`<select aria-label=${t('service_type')} value=${serviceType} onChange=${(e) => setServiceType(e.target.value)}>
        ${config.service_types.map((st) => html`<option value=${st}>${t(`service.${st}`)}</option>`)}</select>`,
      button('dispatch', () => act('/dispatch', { service_type: serviceType })),
      button('on_scene', () => move('on_scene')), button('resolve', () => move('resolved')), button('cancel', () => move('cancelled')),
    ],
    on_scene: [button('resolve', () => move('resolved'), 'primary')],
    resolved: [
      html`<select aria-label=${t('outcome')} value=${outcome} onChange=${(e) => setOutcome(e.target.value)}>
        ${Object.keys(dictionary('en').outcomes).map((o) => html`<option value=${o}>${t(`outcomes.${o}`)}</option>`)}</select>`,
      button('close', () => act('/close', { outcome }), 'primary'),
    ],
  };
  const saveNote = async (event) => {
    event.preventDefault();
    if (note.trim() && (await act('/notes', { text: note.trim() }))) setNote('');
  };
  return html`
    <div class="actions">
      ${byOther && html`<p class="claimed-note">${t('claimed_by_other', { name: call.claimed_by_name })}
        ${call.state === 'new'
          ? html`<button class="primary" disabled=${busy} onClick=${async () => (await act('/claim', { take_over: true })) && act('/acknowledge')}>${t('take_over_and_acknowledge')}</button>`
          : html`<button disabled=${busy} onClick=${() => act('/claim', { take_over: true })}>${t('take_over')}</button>`}</p>`}
      <div class="action-buttons">
        ${call.claimed_by === null && call.state !== 'new' && QUEUE_STATES.has(call.state) && button('claim', () => act('/claim'))}
        ${byState[call.state] || null}
        ${['acknowledged', 'dispatched', 'on_scene'].includes(call.state) && button('handoff', onHandoff, 'danger')}
      </div>
      <form class="note-form" onSubmit=${saveNote}>
        <textarea aria-label=${t('add_note')} placeholder=${t('note_placeholder')} value=${note} onInput=${(e) => setNote(e.target.value)}></textarea>
        <button type="submit" disabled=${busy || !note.trim()}>${t('add_note')}</button>
      </form>
    </div>`;
}

function useCallData(callId, version, onError) {
  const [detail, setDetail] = useState(null);
  const [elder, setElder] = useState(null);
  const [events, setEvents] = useState([]);
  const [providers, setProviders] = useState([]);
  const elderId = detail?.call.elder_id;
  const alarms = detail ? detail.timeline.filter((e) => e.kind === 'alarm' || e.kind === 'opened').length : 0;
  const position = detail?.call.position || elder?.home_location;

  const [jobs, setJobs] = useState([]);
  useEffect(() => {
    api(`/api/v1/calls/${callId}`).then(setDetail, onError);
    api(`/api/v1/calls/${callId}/jobs`).then(setJobs, onError);
  }, [callId, version]);
  useEffect(() => {
    if (elderId) api(`/api/v1/elders/${elderId}`).then(setElder, onError);
  }, [elderId]);
  useEffect(() => {
    if (elderId) api(`/api/v1/device-events?elder_id=${elderId}&limit=10`).then((page) => setEvents(page.items), onError);
  }, [elderId, alarms]);
  useEffect(() => {
    if (position) api(`/api/v1/providers/nearby?lon=${position.lon}&lat=${position.lat}&limit=8`).then(setProviders, onError);
  }, [position?.lon, position?.lat]);
  return { detail, elder: elder?.id === elderId ? elder : null, events, providers, jobs };
}

function CallDetail({ callId, liveCall, version, me, config, now, t, onError, onApplyAssessment }) {
  const { detail, elder, events, providers, jobs } = useCallData(callId, version, onError);
  const [busy, setBusy] = useState(false);
  const [handoff, setHandoff] = useState(null);
  if (!detail) return html`<section class="detail"></section>`;
  const call = liveCall || detail.call;
  const act = async (path, body = {}) => {
    setBusy(true);
    try {
      return (await api(`/api/v1/calls/${callId}${path}`, { method: 'POST', body })) || true;
    } catch (err) {
      onError(err);
      return null;
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section class="detail" data-call-id=${call.id}>
      <header class=${`detail-head priority-${call.priority}`}>
        <span class="badge">${call.priority}</span>
        <h2><span class="elder-name" translate=${false}>${call.elder_name}</span> · ${t(`category.${call.category}`)}</h2>
        <span class="state-label" data-testid="detail-state">${t(`state.${call.state}`)}</span>
        <${Countdown} call=${call} now=${now} t=${t} />
        <span class="muted">${t(`source.${call.source}`)} · ${t('opened')} ${formatTime(call.opened_at)}</span>
        <button type="button" class="small" data-testid="apply-assessment"
          onClick=${() => onApplyAssessment({ elder_id: call.elder_id, elder_name: call.elder_name, call_id: call.id })}>${t('new_assessment')}</button>
      </header>
      <${Actions} call=${call} me=${me} config=${config} busy=${busy} t=${t} act=${act}
        onHandoff=${async () => { const result = await act('/handoff-120'); if (result) setHandoff(result.summary); }} />
      <${DispatchPanel} jobs=${jobs} handoff=${handoff} now=${now} t=${t} />
      <div class="detail-grid">
        <div class="column">
          <${Profile} elder=${elder} callId=${call.id} t=${t} />
          <${Contacts} elder=${elder} callId=${call.id} messages=${detail.contact_messages} busy=${busy} t=${t} onNotify=${(id) => act('/notify', { contact_id: id })} />
        </div>
        <div class="column">
          <section class="card" aria-label=${t('map')}>
            <h3>${t('map')}</h3>
            <${CallMap} call=${call} elder=${elder} providers=${providers} accepted=${acceptedProvider(jobs)} config=${config} t=${t} />
          </section>
          <${DeviceEvents} events=${events} t=${t} />
        </div>
      </div>
      <${Timeline} timeline=${detail.timeline} t=${t} />
    </section>`;
}

// ---------------------------------------------------------------- text messages

function ReplyForm({ t, onError, onDone }) {
  const [outcome, setOutcome] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      setOutcome(await api('/api/v1/sms/replies', { method: 'POST', body: { from: form.get('from'), body: form.get('body') } }));
      event.target.reset();
      onDone();
    } catch (err) {
      onError(err);
    }
  };
  return html`
    <form class="reply-form" onSubmit=${submit}>
      <strong>${t('enter_reply')}</strong>
      <input name="from" aria-label=${t('reply_from')} placeholder=${t('reply_from')} required />
      <input name="body" aria-label=${t('reply_body')} placeholder=${t('reply_body')} required />
      <button type="submit" class="primary">${t('submit')}</button>
      ${outcome && html`<span class=${outcome.handled ? 'ok' : 'error'} data-testid="reply-outcome">${outcome.detail}</span>`}
    </form>`;
}

// Lists mask texts about a person (body_masked); the whole text is one audited read away.
function SmsBody({ message, t, onError }) {
  const [whole, setWhole] = useState(null);
  const show = async () => {
    try {
      setWhole((await api(`/api/v1/sms/${message.id}`)).body);
    } catch (err) {
      onError(err);
    }
  };
  return html`
    <td class="sms-body" data-testid="sms-body" data-sms-id=${message.id}>
      <span translate=${false}>${whole ?? message.body}${message.entered_by ? ` · ${message.entered_by}` : ''}</span>
      ${message.body_masked && whole === null && html`
        <button class="small" data-testid="sms-show" title=${t('show_whole_hint')} onClick=${show}>${t('show_whole')}</button>`}
    </td>`;
}

const SMS_PAGE = 50;

function SmsPanel({ version, t, onError }) {
  const [outboxOnly, setOutboxOnly] = useState(false);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState({ items: [], total: 0 });
  const [refresh, setRefresh] = useState(0);
  useEffect(() => {
    const paging = `limit=${SMS_PAGE}&offset=${offset}`;
    api(outboxOnly ? `/api/v1/sms/outbox?${paging}` : `/api/v1/sms?${paging}`).then(setPage, onError);
  }, [outboxOnly, offset, version, refresh]);
  return html`
    <section class="sms-panel card" aria-label=${t('sms_title')}>
      <h2>${t('sms_title')} <span class="count">${page.total}</span></h2>
      <label><input type="checkbox" checked=${outboxOnly} onChange=${(e) => { setOffset(0); setOutboxOnly(e.target.checked); }} /> ${t('outbox_only')}</label>
      <${ReplyForm} t=${t} onError=${onError} onDone=${() => setRefresh((n) => n + 1)} />
      <table class="sms-list">
        <tbody>
          ${page.items.map((m) => html`
            <tr key=${m.id} class=${`sms-${m.direction} sms-${m.status}`}>
              <td>${formatTime(m.created_at)}</td>
              <td>${t(`direction.${m.direction}`)}</td>
              <td>${m.direction === 'inbound' ? m.from : m.to}</td>
              <td>${t(`purpose.${m.purpose}`)}</td>
              <td class="sms-status">${t(`sms_status.${m.status}`)}${m.error_code ? ` (${m.error_code})` : ''}</td>
              <${SmsBody} message=${m} t=${t} onError=${onError} />
            </tr>`)}
        </tbody>
      </table>
      <${Pager} offset=${offset} size=${SMS_PAGE} total=${page.total} t=${t} onOffset=${setOffset} testid="sms" />
    </section>`;
}

// ---------------------------------------------------------------- the console

function Banner({ calls, me, t, onOpen }) {
  const escalated = calls.filter(isEscalated);
  if (!escalated.length) return null;
  const toSupervisors = escalated.some((c) => c.escalation_level > 1) && me.role !== 'agent';
  return html`<div class="banner" role="alert">
    <span>${toSupervisors ? t('supervisor_alert') : t('agents_alert')}</span>
    ${escalated.map((c) => html`<button type="button" key=${c.id} class="banner-call" data-testid="banner-call" onClick=${() => onOpen(c.id)}>
      ${c.priority} <span translate=${false}>${c.elder_name}</span> · ${t(`category.${c.category}`)} · ${t('escalated')} ×${c.escalation_level}</button>`)}
  </div>`;
}

// Keyboard shortcuts on the calls view (not while typing): key → what it does, for the `?` overlay.
const SHORTCUTS = [
  ['j', 'next_call'], ['k', 'previous_call'], ['a', 'acknowledge'], ['d', 'dispatch'],
  ['n', 'add_note'], ['t', 'notify_first'], ['?', 'shortcuts'], ['Esc', 'close_overlay'],
];

function clickIfEnabled(selector) {
  const target = document.querySelector(selector);
  if (target && !target.disabled) target.click();
}

/** The queue's next (step 1) or previous (-1) call as shown (filters applied), from the current one. */
function neighbourCall(selectedId, step) {
  const ids = [...document.querySelectorAll('.call-row')].map((row) => Number(row.dataset.callId));
  if (!ids.length) return null;
  const at = ids.indexOf(selectedId);
  if (at === -1) return ids[0];
  return ids[Math.min(ids.length - 1, Math.max(0, at + step))];
}

function useShortcuts({ view, selectedId, onSelect, onToggleHelp }) {
  useEffect(() => {
    const onKey = (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.closest?.('input, textarea, select, [contenteditable]')) {
        if (event.key === 'Escape') event.target.blur();
        return;
      }
      if (event.key === '?') return onToggleHelp((shown) => !shown);
      if (event.key === 'Escape') return onToggleHelp(false);
      if (view !== 'calls') return undefined;
      const actions = {
        j: () => onSelect(neighbourCall(selectedId, 1)),
        k: () => onSelect(neighbourCall(selectedId, -1)),
        a: () => clickIfEnabled('.actions [data-action=acknowledge]'),
        d: () => clickIfEnabled('.actions [data-action=dispatch]'),
        n: () => document.querySelector('.note-form textarea')?.focus(),
        t: () => clickIfEnabled('.contacts [data-testid=notify]'),
      };
      const action = actions[event.key];
      if (!action) return undefined;
      event.preventDefault();
      return action();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [view, selectedId]);
}

function ShortcutHelp({ t, onClose }) {
  return html`
    <div class="overlay" role="dialog" aria-modal="true" aria-label=${t('shortcuts')} data-testid="shortcut-help" onClick=${onClose}>
      <div class="overlay-card" onClick=${(e) => e.stopPropagation()}>
        <h2>${t('shortcuts')}</h2>
        <dl class="shortcut-list">
          ${SHORTCUTS.map(([key, what]) => html`<dt key=${key}><kbd>${key}</kbd></dt><dd>${t(`shortcut.${what}`)}</dd>`)}
        </dl>
        <button type="button" onClick=${onClose}>${t('close_help')}</button>
      </div>
    </div>`;
}

function Console({ me, config, t, onLanguage, onLogout }) {
  const [calls, setCalls] = useState(new Map());
  const [selectedId, setSelectedId] = useState(null);
  const [versions, setVersions] = useState({});
  const [connected, setConnected] = useState(false);
  const [synced, setSynced] = useState(false); // the server's resync arrived: live messages flow from here on
  const [offset, setOffset] = useState(0);
  const [toast, setToast] = useState(null);
  const topics = useMemo(createTopics, []);
  const [muted, setMute] = useState(false);
  const [view, setView] = useState('calls');
  const [received, setReceived] = useState(0);
  const now = useNow(offset);

  const onMessage = useCallback((message) => {
    setReceived((n) => n + 1);
    if (message.type === 'resync') {
      if (message.server_time) setOffset(Date.parse(message.server_time) - Date.now());
      setSynced(true);
      setCalls(new Map(message.calls.map((c) => [c.id, c])));
      const waiting = firstUnacknowledgedP1(message.calls);
      if (waiting) setSelectedId((current) => current ?? waiting.id);
      setVersions((v) => Object.fromEntries(Object.entries(v).map(([id, n]) => [id, n + 1])));
      topics.publish('resync');
    } else if (PHONE_MESSAGES.includes(message.type)) {
      topics.publish(message.type, message);
    } else if (['order', 'alert', 'follow_up'].includes(message.type)) {
      topics.publish(message.type, message[message.type]);
    } else if (message.call) {
      const call = message.call;
      setCalls((previous) => new Map(previous).set(call.id, call));
      setVersions((v) => ({ ...v, [call.id]: (v[call.id] || 0) + 1 }));
      // An idle agent is taken straight to a new P1 call.
      if (message.change === 'opened' && call.priority === 'P1') setSelectedId((current) => current ?? call.id);
    }
  }, []);

  useEffect(() => {
    const onStatus = (up) => {
      setConnected(up);
      if (!up) setSynced(false);
    };
    const feed = new LiveFeed({ onMessage, onStatus, onUnauthenticated: onLogout });
    return () => feed.close();
  }, []);

  const queue = useMemo(() => [...calls.values()].filter((c) => QUEUE_STATES.has(c.state)).sort(queueOrder), [calls]);
  useEffect(() => setAlertLevel(alertLevel(queue)), [queue]);
  useEffect(() => () => setAlertLevel('none'), []);

  const showToast = useCallback((text, kind) => {
    setToast({ text, kind });
    setTimeout(() => setToast((current) => (current?.text === text ? null : current)), 6000);
  }, []);
  const showError = useCallback((err) => showToast(`${t('error')}: ${errorText(err, t)}`, 'error'), [t]);
  const showInfo = useCallback((text) => showToast(text, 'info'), []);
  const [presence, setPresence] = useMyPresence(me, topics, showError);
  const phonePanel = usePhonePanel(me, topics);
  useEffect(() => phonePanel.restore(presence), [presence?.phone_call_id, presence?.state]);
  const [logForm, setLogForm] = useState(null); // the "log a phone call" form's prefill, or null
  const [deskIntent, setDeskIntent] = useState(null); // a form a view opens prefilled (from the phone panel)
  const phone = useMemo(() => ({
    dial: async (to, links) => {
      try {
        phonePanel.open(await placeCall(to, links));
      } catch (err) {
        if (!isRefusal(err)) return showError(err);
        const { text: reason, logInstead } = dialRefusal(err, t);
        showToast(reason, 'error');
        if (logInstead) setLogForm({ number: to, direction: 'outbound', links, reason, category: links.follow_up_id ? 'follow_up' : links.care_call_id ? 'care_call' : 'other' });
      }
      return undefined;
    },
    logCall: (prefill) => setLogForm(prefill || {}),
  }), [t]);
  const [elderId, setElderId] = useState(null); // the elder page's elder
  const openRecord = (target) => {
    if (target.kind === 'call') {
      setView('calls');
      setSelectedId(target.callId);
    } else {
      setView(target.kind === 'order' ? 'orders' : target.kind === 'assessment' ? 'assessments' : 'complaints');
      setDeskIntent({ ...target, at: Date.now() });
    }
  };
  const openElder = (id) => {
    setElderId(id);
    setView('elder');
  };
  // A search hit or an elder-page entry: {kind, id} of an elder, call, order or complaint.
  const openFound = ({ kind, id, elderId }) => {
    if (kind === 'elder') return openElder(id);
    if (kind === 'call') return openRecord({ kind, callId: id });
    return openRecord({ kind, openId: id, elderId });
  };
  // A phone call logged by hand; a new contact's emergency, home-service request or complaint opens its record.
  const loggedCall = async (saved, prefill) => {
    if (!prefill.newContact || !RECORD_CATEGORIES.has(saved.category)) return showInfo(t(prefill.newContact ? `contact_saved.${saved.category}` : 'log_saved', { id: saved.id }));
    try {
      const elder = saved.pickedElder || (saved.elder_id ? await api(`/api/v1/elders/${saved.elder_id}`) : null);
      const target = await recordFor({ phoneCall: saved, card: null, elder, note: saved.note, t });
      if (target.kind === 'need_elder') return showInfo(t('pick_elder_first'));
      openRecord(target);
      return showInfo(t(`contact_saved.${saved.category}`, { id: target.callId ?? saved.id }));
    } catch (err) {
      return showError(err);
    }
  };
  const [helpShown, setHelpShown] = useState(false);
  useShortcuts({ view, selectedId, onSelect: setSelectedId, onToggleHelp: setHelpShown });
  const toggleMute = () => {
    setMuted(!muted);
    setMute(!muted);
  };

  return html`
    <${PhoneContext.Provider} value=${phone}>
    <div class=${`console ${phonePanel.panel ? 'with-phone-panel' : ''}`}>
      <header class="topbar">
        <h1>${t('title')}</h1>
        <span class=${`connection ${connected ? 'up' : 'down'}`} data-testid="connection" data-synced=${synced}>${connected ? t('live') : t('reconnecting')}</span>
        <${SearchBox} t=${t} onError=${showError} onOpen=${openFound} />
        <span class="spacer"></span>
        <nav class="views">
          ${viewsFor(me).map((v) => html`<button key=${v} class=${v === view ? 'view current' : 'view'} aria-pressed=${v === view}
            data-testid=${`view-${v}`} onClick=${() => setView(v)}>${t(`views.${v}`)}</button>`)}
        </nav>
        <${AgentStateSelector} me=${me} presence=${presence} config=${config} now=${now} t=${t} onChange=${setPresence} onError=${showError} />
        <button class="link" onClick=${toggleMute}>${muted ? t('sound_off') : t('sound_on')}</button>
        <button class="link" lang=${t('language_code')} onClick=${onLanguage}>${t('language')}</button>
        <span class="operator"><span translate=${false}>${me.display_name || me.username}</span> · ${t(`role.${me.role}`)}</span>
        <button class="link" onClick=${onLogout}>${t('logout')}</button>
      </header>
      <${Banner} calls=${queue} me=${me} t=${t} onOpen=${(id) => { setView('calls'); setSelectedId(id); }} />
      <${AlertStrip} me=${me} topics=${topics} t=${t} onError=${showError} />
      ${toast && html`<div class=${`toast toast-${toast.kind}`} role="status">${toast.text}</div>`}
      ${helpShown && html`<${ShortcutHelp} t=${t} onClose=${() => setHelpShown(false)} />`}
      <div class="workspace">
        <${Queue} calls=${queue} me=${me} selectedId=${selectedId} now=${now} t=${t} onSelect=${setSelectedId}
          onNewContact=${() => setLogForm({ direction: 'inbound', category: 'emergency', outcome: 'answered', newContact: true })} />
        ${view === 'sms'
          ? html`<${SmsPanel} version=${received} t=${t} onError=${showError} />`
          : view === 'elder' && elderId !== null
          ? html`<${ElderPage} key=${elderId} elderId=${elderId} config=${config} t=${t} onError=${showError} onInfo=${showInfo} onOpen=${openFound} onClose=${() => setView('calls')} />`
          : view === 'history'
          ? html`<${HistoryView} t=${t} onError=${showError} onOpenCall=${(id) => openFound({ kind: 'call', id })} onOpenElder=${openElder} />`
          : view === 'phone'
          ? html`<${PhoneView} me=${me} topics=${topics} t=${t} onError=${showError} onInfo=${showInfo} />`
          : view === 'wallboard'
          ? html`<${Wallboard} topics=${topics} t=${t} onError=${showError} />`
          : view === 'settlement'
          ? html`<${SettlementView} t=${t} onError=${showError} onInfo=${showInfo} onOpen=${openFound} />`
          : view === 'admin'
          ? html`<${AdminView} me=${me} t=${t} onError=${showError} onInfo=${showInfo} />`
          : view === 'orders'
          ? html`<${OrdersView} topics=${topics} config=${config} intent=${deskIntent?.kind === 'order' ? deskIntent : null} t=${t} onError=${showError} onInfo=${showInfo} />`
          : view === 'followups'
          ? html`<${FollowUpsView} topics=${topics} t=${t} onError=${showError} onInfo=${showInfo} />`
          : view === 'carecalls'
          ? html`<${CareCallsView} me=${me} topics=${topics} t=${t} onError=${showError} onInfo=${showInfo} />`
          : view === 'complaints'
          ? html`<${ComplaintsView} me=${me} topics=${topics} intent=${deskIntent?.kind === 'complaint' ? deskIntent : null} t=${t} onError=${showError} onInfo=${showInfo} />`
          : view === 'providers'
          ? html`<${ProvidersView} me=${me} t=${t} onError=${showError} />`
          : view === 'assessments'
          ? html`<${AssessmentsView} me=${me} intent=${deskIntent?.kind === 'assessment' ? deskIntent : null} t=${t} onError=${showError} onInfo=${showInfo} />`
          : selectedId === null
          ? html`<section class="detail empty">${t('select_call')}</section>`
          : html`<${CallDetail} key=${selectedId} callId=${selectedId} liveCall=${calls.get(selectedId)} version=${versions[selectedId] || 0}
                   me=${me} config=${config} now=${now} t=${t} onError=${showError}
                   onApplyAssessment=${(prefill) => openRecord({ kind: 'assessment', prefill })} />`}
      </div>
      <${PhonePanel} state=${phonePanel} me=${me} presence=${presence} config=${config} now=${now} t=${t}
        onOpen=${openRecord} onError=${showError} onInfo=${showInfo} />
      ${logForm && html`<${LogCallForm} prefill=${logForm} t=${t} onError=${showError} onClose=${() => setLogForm(null)}
        onSaved=${(saved) => { const prefill = logForm; setLogForm(null); topics.publish('phone', { change: 'logged', phone_call: null }); loggedCall(saved, prefill); }} />`}
    </div>
    </${PhoneContext.Provider}>`;
}

function App() {
  const [lang, setLang] = useState(initialLanguage());
  const [session, setSession] = useState(undefined); // undefined: checking; null: logged out
  const t = useMemo(() => translator(lang), [lang]);

  const load = useCallback(async () => {
    try {
      const me = await api('/api/v1/auth/me');
      // An assessor has a console of their own, without the hotline's configuration.
      setSession({ me, config: me.role === 'assessor' ? null : await api('/api/v1/console/config') });
    } catch {
      setSession(null);
    }
  }, []);
  useEffect(() => {
    saveLanguage(lang);
    document.title = t('title');
  }, [lang]);
  useEffect(() => {
    load();
  }, []);

  const toggleLanguage = () => setLang(lang === 'zh-CN' ? 'en' : 'zh-CN');
  const logout = async () => {
    await api('/api/v1/auth/logout', { method: 'POST' }).catch(() => null);
    setSession(null);
  };
  if (session === undefined) return null;
  if (session === null) return html`<${Login} t=${t} onLanguage=${toggleLanguage} onLoggedIn=${load} />`;
  if (session.me.role === 'assessor') return html`<${AssessorConsole} me=${session.me} t=${t} onLanguage=${toggleLanguage} onLogout=${logout} />`;
  return html`<${Console} me=${session.me} config=${session.config} t=${t} onLanguage=${toggleLanguage} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
