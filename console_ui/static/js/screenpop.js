// The phone panel: the screen-pop the moment a call is offered to this agent (ringing, with the caller's card
// from GET /api/v1/phone-calls/{id}/caller), the call panel while talking (timer, hold, mute, add a party,
// transfer, hang up) and the wrap-up after it (countdown and "ready"). The desk phone answers the call; the
// server then says "answered" and the ringing panel becomes the call panel by itself.

import { html, useEffect, useRef, useState } from '../vendor/htm/preact/standalone.module.js';
import { setPhoneRinging } from './alerts.js';
import { ElderPicker } from './elderpicker.js';
import { api } from './api.js';
import { wrapUpEnds } from './agentstate.js';
import { formatDuration, formatTime } from './i18n.js';
import { useTopic } from './live.js';

const LIVE_STATES = new Set(['ringing', 'talking']);
const SEAT_ON_A_CALL = new Set(['ringing', 'on_call', 'wrap_up']);
const CALLER_SEARCH = ['caller-search', 'caller-search-option']; // the unknown caller's elder search

/** The panel's stage for a phone call as the server describes it. */
export function stageOf(phoneCall) {
  if (phoneCall.state === 'ended') return 'ended';
  if (phoneCall.state === 'talking' || phoneCall.answered_at) return 'talking';
  return phoneCall.direction === 'outbound' ? 'dialling' : 'ringing';
}

/**
 * The panel's state, from the live messages: an "offered" message for this operator pops it; the later
 * changes of the same phone call move it on. `open(phoneCall)` shows a call this console started (a dial).
 */
export function usePhonePanel(me, topics) {
  const [panel, setPanel] = useState(null);
  const open = (phoneCall) => setPanel({ phoneCall, stage: stageOf(phoneCall), held: false, muted: false });
  useTopic(topics, 'phone', (message) => {
    const phoneCall = message.phone_call;
    if (!phoneCall) return;
    if (message.change === 'offered') {
      if (message.for_operator_id === me.id) open(phoneCall);
      else setPanel((p) => (p && p.phoneCall.id === phoneCall.id && p.stage === 'ringing' ? null : p));
      return;
    }
    setPanel((p) => {
      if (!p || p.phoneCall.id !== phoneCall.id) {
        // A call this agent took that the console did not show (reloaded mid-call): show it now.
        return !p && message.change === 'answered' && phoneCall.agent_id === me.id ? { phoneCall, stage: 'talking', held: false, muted: false } : p;
      }
      if (phoneCall.agent_id != null && phoneCall.agent_id !== me.id && p.stage !== 'ended') return null; // taken elsewhere, or transferred
      if (p.stage === 'ringing' && phoneCall.state === 'queued') return null; // not answered in time: offered to the next
      const held = message.held ?? p.held;
      const muted = message.muted ?? p.muted;
      return { ...p, phoneCall, held, muted, stage: stageOf(phoneCall) };
    });
  });
  // The agent's presence says "ready" again: nothing left to show.
  useTopic(topics, 'agent', (message) => {
    if (message.operator_id === me.id && ['ready', 'away', 'offline'].includes(message.state)) {
      setPanel((p) => (p && (p.stage === 'ended' || p.stage === 'ringing') ? null : p));
    }
  });
  useEffect(() => setPhoneRinging(panel?.stage === 'ringing'), [panel?.stage]);
  // After a reload or a reconnect, the seat may be on a call the console has not seen: show it (once).
  const restored = useRef(new Set());
  const restore = (presence) => {
    const id = presence?.phone_call_id;
    if (!id || !SEAT_ON_A_CALL.has(presence.state) || restored.current.has(id)) return;
    restored.current.add(id);
    api(`/api/v1/phone-calls/${id}`).then((phoneCall) => setPanel((p) => p ?? { phoneCall, stage: stageOf(phoneCall), held: false, muted: false }), () => {});
  };
  useEffect(() => () => setPhoneRinging(false), []);
  return { panel, setPanel, open, restore, close: () => setPanel(null) };
}

// ---------------------------------------------------------------- the caller's card

function list(items, t) {
  return items && items.length ? items.join('、') : t('none');
}

function ElderCard({ elder, t }) {
  return html`
    <div class="caller-elder" data-testid="caller-elder" data-elder-id=${elder.id}>
      <h3><span class="elder-name" data-testid="caller-name" translate=${false}>${elder.name}</span>
        <small>${[elder.gender && t(`sex.${elder.gender}`), elder.age != null && `${elder.age}${t('age')}`].filter(Boolean).join(' · ')}</small>
        ${elder.living_alone && html` <span class="tag">${t('living_alone')}</span>`}</h3>
      <dl class="facts">
        <dt>${t('dialect')}</dt><dd data-testid="caller-dialect">${elder.dialect || t('none')}</dd>
        <dt>${t('address')}</dt><dd>${elder.address || '—'}</dd>
        <dt>${t('conditions')}</dt><dd>${list(elder.conditions, t)}</dd>
        <dt>${t('allergies')}</dt><dd class=${elder.allergies?.length ? 'warn' : ''}>${list(elder.allergies, t)}</dd>
      </dl>
    </div>`;
}

function OpenMatters({ card, t }) {
  const calls = card.open_calls || [];
  const orders = card.open_orders || [];
  if (!calls.length && !orders.length) return null;
  return html`
    <div class="open-matters">
      ${calls.length > 0 && html`<div data-testid="caller-open-calls"><strong>${t('open_calls')}</strong>
        <ul>${calls.map((c) => html`<li key=${c.id} class="warn">#${c.id} ${c.priority || ''} ${c.category ? t(`category.${c.category}`) : ''}
          ${c.state ? ` · ${t(`state.${c.state}`)}` : ''}</li>`)}</ul></div>`}
      ${orders.length > 0 && html`<div data-testid="caller-open-orders"><strong>${t('open_orders')}</strong>
        <ul>${orders.map((o) => html`<li key=${o.id}>#${o.id} ${o.service_type ? t(`service.${o.service_type}`) : ''}
          ${o.state ? ` · ${t(`order_state.${o.state}`)}` : ''}${o.window_start ? ` · ${formatTime(o.window_start)}` : ''}</li>`)}</ul></div>`}
    </div>`;
}

// A recent contact's summary is its enum values ("inbound emergency answered", "P1 sos new"): said in words.
const SUMMARY_GROUPS = ['phone_direction', 'phone_category', 'phone_outcome', 'phone_state', 'category', 'state'];

function summaryText(summary, t) {
  return (summary || '').split(' ').filter(Boolean).map((word) => {
    if (/^P[1-4]$/.test(word)) return word;
    for (const group of SUMMARY_GROUPS) {
      const text = t(`${group}.${word}`);
      if (text !== word) return text;
    }
    return word;
  }).join(' · ');
}

function Recent({ recent, t }) {
  return html`
    <div class="recent-contacts" data-testid="caller-recent">
      <strong>${t('recent_contacts')}</strong>
      ${!recent?.length ? html`<p class="muted">${t('none')}</p>` : html`
        <ol>${recent.slice(0, 5).map((r, i) => html`<li key=${i}><time>${formatTime(r.at)}</time>
          <span>${t(`recent_kind.${r.kind}`)}</span> <span class="muted">${summaryText(r.summary, t)}</span></li>`)}</ol>`}
    </div>`;
}

function CallerCard({ card, picked, t, onPick }) {
  if (!card) return html`<p class="muted" data-testid="caller-loading">${t('caller_loading')}</p>`;
  const who = card.contact
    ? html`<p class="caller-who" data-testid="caller-contact">${t('caller_kind.contact')}: <strong>${card.contact.name}</strong>${card.contact.relation ? ` (${card.contact.relation})` : ''}</p>`
    : card.provider
    ? html`<p class="caller-who" data-testid="caller-provider">${t('caller_kind.provider')}: <strong>${card.provider.name}</strong></p>`
    : card.caller_kind === 'device'
    ? html`<p class="caller-who warn" data-testid="caller-device">${t('elder_on_the_line')}</p>`
    : null;
  const elder = card.elder || picked;
  return html`
    <div class="caller-card" data-testid="caller-card" data-caller-kind=${card.caller_kind}>
      ${who}
      ${elder ? html`<${ElderCard} elder=${elder} t=${t} />` : html`
        <p class="caller-unknown" data-testid="caller-unknown"><strong>${t('unknown_number')}</strong></p>
        <${ElderPicker} elder=${null} t=${t} onError=${() => null} onPick=${onPick} testids=${CALLER_SEARCH} />`}
      <${OpenMatters} card=${card} t=${t} />
      <${Recent} recent=${card.recent} t=${t} />
    </div>`;
}

// ---------------------------------------------------------------- the record the call belongs to

/** Open (or create) the record a call of this category belongs to; returns what the console should show. */
export async function recordFor({ phoneCall, card, elder, note, t }) {
  const category = phoneCall.category || 'emergency';
  const elderId = elder?.id ?? phoneCall.elder_id ?? null;
  const number = card?.number || (phoneCall.direction === 'inbound' ? phoneCall.from : phoneCall.to);
  if (category === 'home_service') return { kind: 'order', elder: elder || (elderId ? { id: elderId, name: '' } : null) };
  if (category === 'complaint') {
    const complainant = card?.contact?.name || elder?.name || '';
    return { kind: 'complaint', prefill: { elder_id: elderId, elder_name: elder?.name, call_id: phoneCall.call_id, complainant_name: complainant, complainant_phone: number, source: 'phone' } };
  }
  if (category === 'emergency') {
    const existing = phoneCall.call_id ?? card?.open_calls?.[0]?.id;
    if (existing) return { kind: 'call', callId: existing };
  }
  if (!elderId) return { kind: 'need_elder' };
  const emergency = category === 'emergency';
  const call = await api('/api/v1/calls', {
    method: 'POST',
    body: {
      elder_id: elderId,
      priority: emergency ? 'P1' : 'P4',
      category: emergency ? 'sos' : 'enquiry',
      source: 'inbound_phone',
      reason: (note || t('phone_call_reason', { number })).slice(0, 1000),
    },
  });
  // The agent is already talking to the caller: the call is acknowledged as it opens.
  if (emergency) await api(`/api/v1/calls/${call.id}/acknowledge`, { method: 'POST', body: {} });
  return { kind: 'call', callId: call.id };
}

// ---------------------------------------------------------------- the call panel's controls

function AddParty({ elder, t, act }) {
  const [open, setOpen] = useState(false);
  const [contacts, setContacts] = useState(null);
  const [providers, setProviders] = useState(null);
  const [number, setNumber] = useState('');
  useEffect(() => {
    if (!open) return;
    if (elder?.id && contacts === null) api(`/api/v1/elders/${elder.id}/contacts`).then(setContacts, () => setContacts([]));
    if (providers === null) api('/api/v1/providers?status=active&limit=200').then((p) => setProviders(p.items), () => setProviders([]));
  }, [open]);
  const add = async (body) => {
    if (await act('/add-party', body)) setOpen(false);
  };
  if (!open) return html`<button type="button" data-testid="phone-add-party" onClick=${() => setOpen(true)}>${t('add_party')}</button>`;
  return html`
    <div class="add-party card" data-testid="add-party-menu">
      <strong>${t('add_party')}</strong>
      ${contacts?.length > 0 && html`<ul>${contacts.map((c) => html`<li key=${c.id}>
        <button type="button" data-testid="add-party-contact" data-contact-id=${c.id} onClick=${() => add({ contact_id: c.id })}>
          ${c.name}${c.relation ? ` (${c.relation})` : ''} ${c.phone}</button></li>`)}</ul>`}
      ${providers?.length > 0 && html`<select aria-label=${t('add_party_provider')} data-testid="add-party-provider"
        onChange=${(e) => e.target.value && add({ provider_id: Number(e.target.value) })}>
        <option value="">${t('add_party_provider')}</option>
        ${providers.map((p) => html`<option key=${p.id} value=${String(p.id)}>${p.name}</option>`)}
      </select>`}
      <button type="button" class="danger" data-testid="add-party-120" onClick=${() => add({ emergency_120: true })}>${t('add_party_120')}</button>
      <form class="inline-form" onSubmit=${(e) => { e.preventDefault(); if (number.trim()) add({ to: number.trim() }); }}>
        <input type="tel" data-testid="add-party-number" aria-label=${t('add_party_number')} placeholder=${t('add_party_number')}
          value=${number} onInput=${(e) => setNumber(e.target.value)} maxlength="32" />
        <button type="submit">${t('add_party_go')}</button>
      </form>
      <button type="button" class="link" onClick=${() => setOpen(false)}>${t('back')}</button>
    </div>`;
}

function Transfer({ me, t, act }) {
  const [agents, setAgents] = useState(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (open) api('/api/v1/agents').then((p) => setAgents(p.items.filter((a) => a.operator_id !== me.id)), () => setAgents([]));
  }, [open]);
  if (!open) return html`<button type="button" data-testid="phone-transfer" onClick=${() => setOpen(true)}>${t('transfer')}</button>`;
  return html`
    <div class="transfer card" data-testid="transfer-menu">
      <strong>${t('transfer_to')}</strong>
      ${agents?.length === 0 && html`<p class="muted">${t('no_agents')}</p>`}
      <ul>${(agents || []).map((a) => html`<li key=${a.operator_id}>
        <button type="button" data-testid="transfer-agent" data-operator-id=${a.operator_id}
          onClick=${async () => { if (await act('/transfer', { operator_id: a.operator_id })) setOpen(false); }}>
          ${a.display_name} <span class="muted">${t(`role.${a.role}`)} · ${t(`agent_state.${a.state}`)}</span></button></li>`)}</ul>
      <button type="button" class="link" onClick=${() => setOpen(false)}>${t('back')}</button>
    </div>`;
}

function Controls({ panel, me, elder, t, act }) {
  const { held, muted } = panel;
  return html`
    <div class="phone-controls action-buttons">
      <button type="button" data-testid="phone-hold" aria-pressed=${held} onClick=${() => act('/hold', { on: !held })}>${held ? t('resume') : t('hold')}</button>
      <button type="button" data-testid="phone-mute" aria-pressed=${muted} onClick=${() => act('/mute', { on: !muted })}>${muted ? t('unmute') : t('mute')}</button>
      <${AddParty} elder=${elder} t=${t} act=${act} />
      <${Transfer} me=${me} t=${t} act=${act} />
      <button type="button" class="danger" data-testid="phone-hangup" onClick=${() => act('/hangup')}>${t('hang_up')}</button>
    </div>`;
}

// ---------------------------------------------------------------- the panel

function PanelHead({ panel, card, now, presence, config, t }) {
  const { phoneCall, stage } = panel;
  const number = card?.number || (phoneCall.direction === 'inbound' ? phoneCall.from : phoneCall.to);
  const talking = phoneCall.answered_at ? (now - Date.parse(phoneCall.answered_at)) / 1000 : null;
  const wrapLeft = stage === 'ended' && presence?.state === 'wrap_up' ? (wrapUpEnds(presence, config) - now) / 1000 : null;
  return html`
    <header class="phone-head">
      <span class="phone-stage" data-testid="phone-stage">${t(`phone_stage.${stage}`)}${panel.held ? ` · ${t('on_hold')}` : ''}</span>
      <span class="phone-number-big" data-testid="phone-panel-number">${number}</span>
      ${phoneCall.category && html`<span class="tag" data-testid="phone-category">${t(`phone_category.${phoneCall.category}`)}</span>`}
      ${stage === 'talking' && talking !== null && html`<span class="phone-timer" data-testid="phone-timer">${formatDuration(talking)}</span>`}
      ${wrapLeft !== null && html`<span class="phone-timer" data-testid="phone-wrap-up">${t('wrap_up_left')} ${formatDuration(wrapLeft)}</span>`}
    </header>`;
}

export function PhonePanel({ state, me, presence, config, now, t, onOpen, onError, onInfo }) {
  const { panel, setPanel, close } = state;
  const [card, setCard] = useState(null);
  const [picked, setPicked] = useState(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [collapsed, setCollapsed] = useState(false);
  const id = panel?.phoneCall.id;
  useEffect(() => {
    setCard(null);
    setPicked(null);
    setNote('');
    setCollapsed(false);
    if (id != null) api(`/api/v1/phone-calls/${id}/caller`).then((c) => setCard((cur) => cur ?? c), onError);
  }, [id]);
  if (!panel) return null;
  const { phoneCall, stage } = panel;
  const elder = card?.elder || picked;

  const act = async (path, body = {}) => {
    setBusy(true);
    try {
      const result = await api(`/api/v1/phone-calls/${phoneCall.id}${path}`, { method: 'POST', body });
      if (path === '/wrap-up-done') {
        close();
        return true;
      }
      setPanel((p) => (p && p.phoneCall.id === phoneCall.id ? {
        ...p,
        phoneCall: result || p.phoneCall,
        stage: result ? stageOf(result) : p.stage,
        held: path === '/hold' ? body.on : p.held,
        muted: path === '/mute' ? body.on : p.muted,
      } : p));
      if (path === '/transfer') onInfo(t('transferred'));
      if (path === '/add-party') onInfo(t('party_added'));
      return true;
    } catch (err) {
      onError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const openRecord = async () => {
    setBusy(true);
    try {
      const target = await recordFor({ phoneCall, card, elder, note: note.trim(), t });
      if (target.kind === 'need_elder') onInfo(t('pick_elder_first'));
      else onOpen(target);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  const category = phoneCall.category || 'emergency';
  const needsNote = ['enquiry', 'other', 'follow_up', 'care_call'].includes(category);
  return html`
    <aside class=${`phone-panel stage-${stage} ${collapsed ? 'collapsed' : ''}`} data-testid="phone-panel" data-phone-call-id=${phoneCall.id}
        data-stage=${stage} aria-label=${t('phone_panel')} aria-busy=${busy}>
      <${PanelHead} panel=${panel} card=${card} now=${now} presence=${presence} config=${config} t=${t} />
      <button type="button" class="link collapse" aria-label=${collapsed ? t('expand') : t('collapse')} onClick=${() => setCollapsed(!collapsed)}>${collapsed ? '▴' : '▾'}</button>
      ${!collapsed && html`
        <${CallerCard} card=${card} picked=${picked} t=${t} onPick=${setPicked} />
        ${stage === 'ringing' && html`<p class="muted pick-up">${t('pick_up_hint')}</p>`}
        ${stage !== 'ended' && needsNote && html`<label class="wide">${t('enquiry_note')}
          <textarea data-testid="phone-note" value=${note} onInput=${(e) => setNote(e.target.value)} maxlength="1000"></textarea></label>`}
        <div class="action-buttons">
          ${(stage === 'ringing' || stage === 'talking') && phoneCall.direction === 'inbound' && html`
            <button type="button" class="primary" data-testid="phone-answer" disabled=${busy} onClick=${openRecord}>
              ${stage === 'ringing' ? t('answer') : t('open_record')} · ${t(`answer_opens.${category}`)}</button>`}
        </div>
        ${LIVE_STATES.has(phoneCall.state) && stage !== 'ringing' && html`<${Controls} panel=${panel} me=${me} elder=${elder} t=${t} act=${act} />`}
        ${stage === 'ended' && html`
          <div class="action-buttons wrap-up">
            <span class="muted">${phoneCall.outcome ? t(`phone_outcome.${phoneCall.outcome}`) : ''}${phoneCall.talk_seconds != null ? ` · ${formatDuration(phoneCall.talk_seconds)}` : ''}</span>
            <button type="button" class="primary" data-testid="phone-ready" disabled=${busy} onClick=${() => act('/wrap-up-done')}>${t('ready_again')}</button>
            <button type="button" class="link" onClick=${close}>${t('close_panel')}</button>
          </div>`}`}
    </aside>`;
}
